"""Conv2D forward and backward (bias and activation fused): every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, nans, same_across_threads
from fastnn.layers import conv_output_size
from fastnn.kernels.activations.reference import CODES, RELU

ACTS = pytest.mark.parametrize("act", sorted(CODES.values()), ids=sorted(CODES, key=CODES.get))


def problem(n, h, w, c, kh, kw, k, dtype, seed, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, c)).astype(dtype)
    wt = (rng.normal(size=(kh, kw, c, k)) / np.sqrt(kh * kw * c)).astype(dtype)
    b = rng.normal(size=k).astype(dtype) if bias else None
    return x, wt, b, rng


def keras_geometry(h, w, kh, kw, sh, sw, padding):
    """(OH, OW, (sh, sw, ph, pw)) as the Conv2D layer computes them."""
    oh, ph = conv_output_size(h, kh, sh, padding)
    ow, pw = conv_output_size(w, kw, sw, padding)
    return oh, ow, (sh, sw, ph, pw)


def forward_backward(backend_name, dtype, act, x, w, b, rng, oh, ow, geometry, with_dx=True):
    """Forward, then backward on the forward's output, both checked against the reference."""
    n, k = x.shape[0], w.shape[3]
    out = check("conv2d_forward", backend_name, dtype, nans((n, oh, ow, k), dtype), x, w, b, *geometry, act)[0]
    dout = rng.normal(size=out.shape).astype(dtype)
    grads = check("conv2d_backward", backend_name, dtype, *backward_args(x, w, b, dout, out, geometry, act, dtype,
                                                                        with_dx))
    return out, grads


def backward_args(x, w, b, dout, out, geometry, act, dtype, with_dx=True):
    dx = nans(x.shape, dtype) if with_dx else None
    db = nans(w.shape[3], dtype) if b is not None else None
    return (dx, nans(w.shape, dtype), db, dout, x, w, out, *geometry, act)


@st.composite
def geometries(draw):
    """Small shapes (the suite also runs with the JIT off), odd and non-square, strides 1-2, and top/left and
    bottom/right paddings drawn separately (anything below the kernel size, "valid" and "same" included)."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pb = draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1))
    pw, pr = draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1))
    h = draw(st.integers(max(1, kh - ph - pb), 8))
    w = draw(st.integers(max(1, kw - pw - pr), 8))
    oh, ow = (h + ph + pb - kh) // sh + 1, (w + pw + pr - kw) // sw + 1
    return h, w, kh, kw, oh, ow, (sh, sw, ph, pw)


@BACKEND_DTYPE
@ACTS
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@FEW
@given(n=st.integers(1, 3), c=st.sampled_from([1, 1, 2, 3]), k=st.integers(1, 5), geometry=geometries(),
       seed=st.integers(0, 2**32 - 1), with_dx=st.booleans())
def test_matches_reference(backend_name, dtype, act, bias, n, c, k, geometry, seed, with_dx):
    h, w, kh, kw, oh, ow, geom = geometry
    x, wt, b, rng = problem(n, h, w, c, kh, kw, k, dtype, seed, bias)
    forward_backward(backend_name, dtype, act, x, wt, b, rng, oh, ow, geom, with_dx)


# Above GRAIN multiply-adds, so the sample chunks run in parallel; the first case takes the direct (C == 1)
# path, the others im2row, one of them at stride 2 on a non-square image with a non-square kernel.
PARALLEL = [(3, 9, 9, 1, 5, 5, 6, 1, 1, "same"), (3, 8, 8, 3, 3, 3, 8, 1, 1, "same"),
            (5, 11, 9, 2, 3, 2, 16, 2, 2, "valid")]


@BACKEND_DTYPE
@pytest.mark.parametrize("shape", PARALLEL, ids=["direct", "im2row", "im2row_stride2"])
def test_matches_reference_parallel(backend_name, dtype, shape):
    n, h, w, c, kh, kw, k, sh, sw, padding = shape
    x, wt, b, rng = problem(n, h, w, c, kh, kw, k, dtype, 5)
    oh, ow, geom = keras_geometry(h, w, kh, kw, sh, sw, padding)
    out, grads = forward_backward(backend_name, dtype, RELU, x, wt, b, rng, oh, ow, geom)
    # per-sample work and per-chunk partial sums, added in chunk order: identical for any thread count
    same_across_threads("conv2d_forward", backend_name, nans(out.shape, dtype), x, wt, b, *geom, RELU)
    dout = rng.normal(size=out.shape).astype(dtype)
    same_across_threads("conv2d_backward", backend_name, *backward_args(x, wt, b, dout, out, geom, RELU, dtype))


@BACKEND_DTYPE
@pytest.mark.parametrize("c", [1, 3], ids=["direct", "im2row"])
def test_first_layer_without_bias_batch_of_one(backend_name, dtype, c):
    # dx=None skips the input gradient, b=None has no bias (nor db); dout becomes dz in place
    x, wt, b, rng = problem(1, 7, 6, c, 3, 3, 4, dtype, 6, bias=False)
    oh, ow, geom = keras_geometry(7, 6, 3, 3, 1, 1, "same")
    _, (dx, dw, db, dz, *_) = forward_backward(backend_name, dtype, RELU, x, wt, b, rng, oh, ow, geom,
                                               with_dx=False)
    assert dx is None and db is None and np.all(np.isfinite(dw)) and np.all(np.isfinite(dz))


@BACKEND_DTYPE
@pytest.mark.parametrize("c", [1, 2], ids=["direct", "im2row"])
def test_padding_wider_than_the_kernel(backend_name, dtype, c):
    # top/left pads past the kernel: whole output rows and columns see padding only (bias, activation)
    x, wt, b, rng = problem(2, 5, 4, c, 3, 2, 3, dtype, 8)
    forward_backward(backend_name, dtype, RELU, x, wt, b, rng, 6, 5, (1, 1, 4, 3))


@pytest.mark.parametrize("backend_name", COMPILED)
@pytest.mark.parametrize("shape", PARALLEL[:2], ids=["direct", "im2row"])
def test_float32_stays_float32(backend_name, shape):
    n, h, w, c, kh, kw, k, sh, sw, padding = shape
    x, wt, b, rng = problem(n, h, w, c, kh, kw, k, np.float32, 7)
    oh, ow, geom = keras_geometry(h, w, kh, kw, sh, sw, padding)
    out = np.maximum(rng.normal(size=(n, oh, ow, k)), 0).astype(np.float32)
    for act in sorted(CODES.values()):
        assert_float32_only("conv2d_forward", backend_name, nans(out.shape, np.float32), x, wt, b, *geom, act)
        dout = rng.normal(size=out.shape).astype(np.float32)
        assert_float32_only("conv2d_backward", backend_name,
                            *backward_args(x, wt, b, dout, out, geom, act, np.float32))
