"""Dropout: every compiled backend draws the reference's mask bit for bit, for the same seed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, nans, ref, same_across_threads

SHAPES = st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple)
SEEDS = st.one_of(st.sampled_from([0, 1, 2**32, 2**63 - 1]), st.integers(0, 2**63 - 1))
RATES = st.sampled_from([0.0, 0.1, 0.5, 0.9])
BIG = (129, 257)  # above GRAIN: the index range split over threads


def forward_backward(backend_name, dtype, shape, rate, seed):
    rng = np.random.default_rng(seed % 2**32)
    x, dout = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    out, mask = check("dropout_forward", backend_name, dtype, nans(shape, dtype), nans(shape, dtype), x, rate, seed)[:2]
    # check() compares within a tolerance; the mask and the product must be exact
    np.testing.assert_array_equal(mask, reference_mask(shape, dtype, rate, seed))
    np.testing.assert_array_equal(out, x * mask)
    dx = check("dropout_backward", backend_name, dtype, nans(shape, dtype), dout, mask)[0]
    np.testing.assert_array_equal(dx, dout * mask)
    return x, mask


def reference_mask(shape, dtype, rate, seed):
    out, mask = nans(shape, dtype), nans(shape, dtype)
    ref("dropout_forward")(out, mask, np.ones(shape, dtype), rate, seed)
    return mask


@BACKEND_DTYPE
@FEW
@given(shape=SHAPES, rate=RATES, seed=SEEDS)
def test_mask_bit_identical(backend_name, dtype, shape, rate, seed):
    forward_backward(backend_name, dtype, shape, rate, seed)


@BACKEND_DTYPE
@pytest.mark.parametrize("seed", [3, 2**63 - 1])
def test_mask_bit_identical_parallel(backend_name, dtype, seed):
    x, mask = forward_backward(backend_name, dtype, BIG, 0.3, seed)
    assert 0.25 < 1 - np.count_nonzero(mask) / mask.size < 0.35  # the rate is honoured
    same_across_threads("dropout_forward", backend_name, nans(BIG, dtype), nans(BIG, dtype), x, 0.3, seed)
    same_across_threads("dropout_backward", backend_name, nans(BIG, dtype), x, mask)


@BACKEND_DTYPE
def test_backward_in_place(backend_name, dtype):
    x, mask = forward_backward(backend_name, dtype, (4, 5), 0.5, 13)
    dout = x.copy()
    dx = check("dropout_backward", backend_name, dtype, dout, dout, mask)[0]
    np.testing.assert_array_equal(dx, x * mask)


@pytest.mark.parametrize("backend_name", COMPILED)
def test_float32_stays_float32(backend_name):
    # the hash is uint64 and u is float64 as in the reference; the data stays float32
    x = np.ones(BIG, np.float32)
    assert_float32_only("dropout_forward", backend_name, nans(BIG, np.float32), nans(BIG, np.float32), x, 0.5, 7)
    assert_float32_only("dropout_backward", backend_name, nans(BIG, np.float32), x, x)
