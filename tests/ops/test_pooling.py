"""MaxPooling2D forward (values and argmax) and backward: every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, nans, ref, same_across_threads
from fastnn.layers import conv_output_size


def images(n, h, w, c, dtype, seed, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, c))
    if ties:  # few distinct values: many windows hold their maximum twice, which goes to the first one
        x = np.round(x)
    return x.astype(dtype), rng


def forward_args(x, oh, ow, geometry, dtype):
    n, _, _, c = x.shape
    return (nans((n, oh, ow, c), dtype), np.full((n, oh, ow, c), -1, np.int32), x, *geometry)


def backward_args(x, dout, argmax, geometry, dtype):
    return (nans(x.shape, dtype), dout, argmax, *geometry)


def forward_backward(backend_name, dtype, x, rng, oh, ow, geometry):
    out, argmax = check("maxpool2d_forward", backend_name, dtype, *forward_args(x, oh, ow, geometry, dtype))[:2]
    dout = rng.normal(size=out.shape).astype(dtype)
    check("maxpool2d_backward", backend_name, dtype, *backward_args(x, dout, argmax, geometry, dtype))
    return out, argmax, dout


@st.composite
def geometries(draw):
    """Pool sizes 1-3 (non-square too), strides 1-3 (overlapping windows, and gaps), paddings below the pool
    size drawn separately on each side, odd and non-square images."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pb = draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1))
    pw, pr = draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1))
    h = draw(st.integers(max(1, kh - ph - pb), 9))
    w = draw(st.integers(max(1, kw - pw - pr), 9))
    oh, ow = (h + ph + pb - kh) // sh + 1, (w + pw + pr - kw) // sw + 1
    return h, w, oh, ow, (kh, kw, sh, sw, ph, pw)


@BACKEND_DTYPE
@FEW
@given(n=st.integers(1, 3), c=st.integers(1, 9), geometry=geometries(), ties=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_matches_reference(backend_name, dtype, n, c, geometry, ties, seed):
    h, w, oh, ow, geom = geometry
    x, rng = images(n, h, w, c, dtype, seed, ties)
    forward_backward(backend_name, dtype, x, rng, oh, ow, geom)


def keras_geometry(h, w, k, s, padding):
    oh, ph = conv_output_size(h, k, s, padding)
    ow, pw = conv_output_size(w, k, s, padding)
    return oh, ow, (k, k, s, s, ph, pw)


@BACKEND_DTYPE
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_nan_wins(backend_name, dtype, padding):
    # as np.argmax: the first NaN of a window wins, so a NaN reaches the loss instead of vanishing here
    x, rng = images(2, 7, 6, 3, dtype, 8, ties=True)
    x[0, 0, 0, :] = np.nan
    x[1, 2, 3, 1] = x[1, 3, 2, 1] = np.nan
    oh, ow, geom = keras_geometry(7, 6, 3, 2, padding)
    out, _, _ = forward_backward(backend_name, dtype, x, rng, oh, ow, geom)
    assert np.isnan(out[0, 0, 0]).all() and np.isnan(out[1, :, :, 1]).any()


# Above GRAIN: the sample chunks run in parallel. LeNet's pools after conv1 (6 channels, the scatter
# backward) and conv2 (16, windows tiling the image), and a 3x3/2 "same" pool (overlapping windows).
PARALLEL = [(4, 28, 28, 6, 2, 2, "valid"), (24, 10, 10, 16, 2, 2, "valid"), (5, 15, 13, 8, 3, 2, "same")]


@BACKEND_DTYPE
@pytest.mark.parametrize("shape", PARALLEL, ids=["2x2", "2x2_tiled", "3x3_same"])
def test_matches_reference_parallel(backend_name, dtype, shape):
    n, h, w, c, k, s, padding = shape
    x, rng = images(n, h, w, c, dtype, 9, ties=True)
    oh, ow, geom = keras_geometry(h, w, k, s, padding)
    out, argmax, dout = forward_backward(backend_name, dtype, x, rng, oh, ow, geom)
    same_across_threads("maxpool2d_forward", backend_name, *forward_args(x, oh, ow, geom, dtype))
    same_across_threads("maxpool2d_backward", backend_name, *backward_args(x, dout, argmax, geom, dtype))


@BACKEND_DTYPE
@pytest.mark.filterwarnings("ignore:One of rtol or atol is not valid")  # check() scales atol by max|out| = inf
def test_padding_wider_than_the_pool(backend_name, dtype):
    # windows over padding only: -inf and argmax 0 as in the reference, and no gradient anywhere from them
    x, rng = images(2, 3, 4, 2, dtype, 11)
    geom = (2, 2, 2, 2, 2, 3)
    out, argmax, _ = forward_backward(backend_name, dtype, x, rng, 4, 4, geom)
    expected = forward_args(x, 4, 4, geom, dtype)
    ref("maxpool2d_forward")(*expected)
    assert np.isneginf(out).any()
    np.testing.assert_array_equal(out, expected[0])
    np.testing.assert_array_equal(argmax, expected[1])


@BACKEND_DTYPE
def test_backward_takes_the_forwards_argmax(backend_name, dtype):
    # the backward routes by argmax alone (it never sees x): a hand-made argmax picks the cells
    geom = (2, 2, 2, 2, 0, 0)
    dout = np.arange(1, 5, dtype=dtype).reshape(1, 2, 2, 1)
    argmax = np.array([0, 1, 2, 3], np.int32).reshape(1, 2, 2, 1)
    dx = check("maxpool2d_backward", backend_name, dtype, nans((1, 4, 4, 1), dtype), dout, argmax, *geom)[0]
    expected = np.zeros((4, 4), dtype)
    expected[0, 0], expected[0, 3], expected[3, 0], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx[0, :, :, 0], expected)


@pytest.mark.parametrize("backend_name", COMPILED)
def test_float32_stays_float32(backend_name):
    n, h, w, c, k, s, padding = PARALLEL[2]
    x, rng = images(n, h, w, c, np.float32, 10)
    oh, ow, geom = keras_geometry(h, w, k, s, padding)
    args = forward_args(x, oh, ow, geom, np.float32)
    assert_float32_only("maxpool2d_forward", backend_name, *args)
    ref("maxpool2d_forward")(*args)
    dout = rng.normal(size=args[0].shape).astype(np.float32)
    assert_float32_only("maxpool2d_backward", backend_name, *backward_args(x, dout, args[1], geom, np.float32))
