"""Dense (GEMM + bias + activation, fused): every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, FEW, check, impl, nans, same_across_threads
from fastnn.kernels.activations.reference import CODES

ACTS = pytest.mark.parametrize("act", sorted(CODES.values()), ids=sorted(CODES, key=CODES.get))
BIG = (130, 33, 257)  # N*F*K above GEMM_GRAIN: the products' tasks on every thread, and a tail (257 % 16)


def layer(n, f, k, dtype, seed, bias):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)).astype(dtype)
    w = (rng.normal(size=(f, k)) / np.sqrt(f)).astype(dtype)
    b = rng.normal(size=k).astype(dtype) if bias else None
    return x, w, b, rng.normal(size=(n, k)).astype(dtype)


def backward_args(x, w, b, dout, out, act, dtype, with_dx=True):
    n, f = x.shape
    k = w.shape[1]
    dx = nans((n, f), dtype) if with_dx else None
    db = nans(k, dtype) if b is not None else None
    return (dx, nans((f, k), dtype), db, dout, x, w, out, act)


def forward_backward(backend_name, dtype, act, x, w, b, dout, with_dx=True):
    n, k = x.shape[0], w.shape[1]
    out = check("dense_forward", backend_name, dtype, nans((n, k), dtype), x, w, b, act)[0]
    grads = check("dense_backward", backend_name, dtype, *backward_args(x, w, b, dout, out, act, dtype, with_dx))
    return out, grads


@BACKEND_DTYPE
@ACTS
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@FEW
@given(n=st.integers(1, 9), f=st.integers(1, 17), k=st.integers(1, 17), seed=st.integers(0, 2**32 - 1),
       with_dx=st.booleans())
def test_matches_reference(backend_name, dtype, act, bias, n, f, k, seed, with_dx):
    forward_backward(backend_name, dtype, act, *layer(n, f, k, dtype, seed, bias), with_dx=with_dx)


@BACKEND_DTYPE
@ACTS
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_matches_reference_parallel(backend_name, dtype, act, bias):
    x, w, b, dout = layer(*BIG, dtype, 3, bias)
    out, _ = forward_backward(backend_name, dtype, act, x, w, b, dout.copy())
    # every task of the products computes its whole reduction in one order: the same bits at any thread count
    same_across_threads("dense_forward", backend_name, nans(out.shape, dtype), x, w, b, act)
    same_across_threads("dense_backward", backend_name, *backward_args(x, w, b, dout, out, act, dtype))


@BACKEND_DTYPE
def test_first_layer_and_batch_of_one(backend_name, dtype):
    # dx=None skips the input gradient; dout is overwritten with dz = dout * act'(out) in place
    x, w, b, dout = layer(1, 5, 3, dtype, 4, True)
    out, (dx, dw, db, dz, *_) = forward_backward(backend_name, dtype, CODES["relu"], x, w, b, dout, with_dx=False)
    assert dx is None and np.array_equal(db, dz[0])



@BACKEND_DTYPE
@pytest.mark.parametrize("n,f,k", [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)], ids=["no_rows", "no_inputs",
                                                                                   "no_units", "empty"])
def test_empty_dimensions(backend_name, dtype, n, f, k):
    # an empty batch, layer input or layer: the same outputs as the reference (F = 0: the bias and activation
    # alone; K = 0: a zero input gradient), nothing read or written outside the arrays
    x, w, b, dout = layer(n, f, k, dtype, 0, True)
    forward_backward(backend_name, dtype, CODES["relu"], x, w, b, dout)


def _wrong_shapes(dtype):
    """(op, arguments) of dense calls each with one buffer of the wrong shape."""
    x, w, b = np.ones((64, 30), dtype), np.ones((30, 20), dtype), np.ones(20, dtype)
    out, dout, dw, dx, db = (np.ones(s, dtype) for s in ((64, 20), (64, 20), (30, 20), (64, 30), 20))
    short = lambda shape: np.ones(shape, dtype)   # noqa: E731
    relu = CODES["relu"]
    return [("dense_forward", (short((10, 20)), x, w, b, relu)), ("dense_forward", (out, x, short((10, 20)), b, relu)),
            ("dense_forward", (out, x, w, short(5), relu)),
            ("dense_backward", (dx, short((10, 20)), db, dout, x, w, out, relu)),
            ("dense_backward", (short((64, 3)), dw, db, dout, x, w, out, relu)),
            ("dense_backward", (dx, dw, db, short((10, 20)), x, w, out, relu)),
            ("dense_backward", (dx, dw, db, dout, x, short((10, 20)), out, relu)),
            ("dense_backward", (dx, dw, short(5), dout, x, w, out, relu))]


@BACKEND_DTYPE
def test_a_buffer_of_the_wrong_shape_is_refused(backend_name, dtype):
    # the compiled kernels index through pointers: a short buffer must raise, not be written past
    for op, args in _wrong_shapes(dtype):
        with pytest.raises(ValueError):
            impl(op, backend_name)(*args)
