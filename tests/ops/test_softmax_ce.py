"""Softmax and the fused softmax + cross-entropy: every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, impl, nans, same_across_threads

BIG = (300, 130)  # above GRAIN: rows in parallel
INF = float("inf")
EPS = 1e-7   # Keras's clipping of probabilities
ROWS = st.integers(1, 9)
CLASSES = st.integers(1, 17)
SEEDS = st.integers(0, 2**32 - 1)


def bounds(dtype, eps=EPS):
    """(lo, hi): the losses -log(1 - eps) and -log(eps), in dtype, outside which a row's loss is clipped."""
    eps = dtype(eps)
    return float(-np.log(dtype(1) - eps)), float(-np.log(eps))


def problem(n, k, dtype, seed, spread=3.0):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(n, k)) * spread).astype(dtype)
    labels = rng.integers(0, k, size=n).astype(np.int64)
    soft = rng.dirichlet(np.ones(k), size=n).astype(dtype)  # soft targets: rows sum to 1
    return logits, labels, soft


def run_all(backend_name, dtype, n, k, seed, spread=3.0, scale=None):
    logits, labels, soft = problem(n, k, dtype, seed, spread)
    scale = 1.0 / n if scale is None else scale
    onehot = np.eye(k, dtype=dtype)[labels]
    for y in (onehot, soft):
        check("softmax_ce", backend_name, dtype, nans(n, dtype), nans((n, k), dtype), logits, y, scale)
    for lo, hi in ((-INF, INF), bounds(dtype)):
        check("sparse_softmax_ce", backend_name, dtype, nans(n, dtype), nans((n, k), dtype), logits, labels, scale,
              lo, hi)
    probs = check("softmax_forward", backend_name, dtype, nans((n, k), dtype), logits)[0]
    check("softmax_backward", backend_name, dtype, nans((n, k), dtype), soft, probs)
    return logits, labels, soft, probs


@BACKEND_DTYPE
@FEW
@given(n=ROWS, k=CLASSES, seed=SEEDS)
def test_matches_reference(backend_name, dtype, n, k, seed):
    run_all(backend_name, dtype, n, k, seed)


@BACKEND_DTYPE
def test_matches_reference_parallel(backend_name, dtype):
    n, k = BIG
    logits, labels, soft, probs = run_all(backend_name, dtype, n, k, 5)
    loss, grad = nans(n, dtype), nans((n, k), dtype)
    same_across_threads("softmax_ce", backend_name, loss, grad, logits, soft, 0.5)
    same_across_threads("sparse_softmax_ce", backend_name, loss, grad, logits, labels, 0.5, *bounds(dtype))
    same_across_threads("softmax_forward", backend_name, grad, logits)
    same_across_threads("softmax_backward", backend_name, grad, soft, probs)


@BACKEND_DTYPE
@pytest.mark.parametrize("spread", [100.0, 1e4])
def test_large_logits_stay_finite(backend_name, dtype, spread):
    # max subtraction and log-sum-exp: exp never sees a large positive number
    run_all(backend_name, dtype, 4, 10, 6, spread=spread, scale=1.0)


@BACKEND_DTYPE
@pytest.mark.parametrize("bad", [-1, 4])
def test_label_out_of_range_raises(backend_name, dtype, bad):
    # an unchecked label would write outside dlogits
    logits, labels, _ = problem(3, 4, dtype, 8)
    labels[1] = bad
    with pytest.raises((IndexError, ValueError)):
        impl("sparse_softmax_ce", backend_name)(nans(3, dtype), nans((3, 4), dtype), logits, labels, 1.0, -INF, INF)


@pytest.mark.parametrize("backend_name", COMPILED)
def test_float32_stays_float32(backend_name):
    n, k = BIG
    dtype = np.float32
    logits, labels, soft = problem(n, k, dtype, 9)
    loss, grad = nans(n, dtype), nans((n, k), dtype)
    assert_float32_only("softmax_ce", backend_name, loss, grad, logits, soft, 0.5)
    assert_float32_only("sparse_softmax_ce", backend_name, loss, grad, logits, labels, 0.5, *bounds(dtype))
    assert_float32_only("softmax_forward", backend_name, grad, logits)
    assert_float32_only("softmax_backward", backend_name, grad, soft, logits)


@BACKEND_DTYPE
def test_sparse_clipping_and_count(backend_name, dtype):
    # rows a confident model gets right (loss under -log(1 - eps)), a row it is sure is wrong (over -log(eps)),
    # ordinary rows, ties and a NaN: the clipped rows get the bound and no gradient, the count is np.argmax's
    logits = np.array([[40, 0, 0], [0, 0, 40], [1, 2, 0.5], [0, 3, 0], [2, 2, 1], [0, 1, 1], [0, np.nan, 5],
                       [-40, 0, 0]], dtype)
    labels = np.array([0, 0, 1, 0, 1, 2, 2, 0], np.int64)
    lo, hi = bounds(dtype)
    loss, grad = check("sparse_softmax_ce", backend_name, dtype, nans(8, dtype), nans((8, 3), dtype), logits,
                       labels, 0.125, lo, hi)[:2]
    assert impl("sparse_softmax_ce", backend_name)(loss, grad, logits, labels, 0.125, lo, hi) == 2   # rows 0, 2
    assert loss[0] == dtype(lo) and loss[1] == dtype(hi) and loss[7] == dtype(hi)
    assert not grad[[0, 1, 7]].any()
    assert lo < loss[2] < hi and grad[2].any() and np.isnan(loss[6])


@pytest.mark.parametrize("backend_name", COMPILED)
def test_sparse_count_matches_argmax_on_tied_rows(backend_name):
    # integer logits: many rows with tied maxima, which count only when the first of them is the label
    rng = np.random.default_rng(3)
    logits = rng.integers(-2, 3, size=(500, 4)).astype(np.float32)
    labels = rng.integers(0, 4, size=500)
    loss, grad = np.empty(500, np.float32), np.empty((500, 4), np.float32)
    count = impl("sparse_softmax_ce", backend_name)(loss, grad, logits, labels, 1.0, -INF, INF)
    assert count == np.count_nonzero(logits.argmax(axis=1) == labels)
