"""Activations: every compiled backend against the NumPy reference, forward and backward."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, impl, nans, same_across_threads
from fastnn.kernels.activations.reference import CODES, SIGMOID, TANH

ACTS = pytest.mark.parametrize("act", sorted(CODES.values()), ids=sorted(CODES, key=CODES.get))
SHAPES = st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple)
BIG = (129, 257)  # above GRAIN: the parallel path


def data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * 4).astype(dtype)
    x.flat[::7] = 0  # relu's kink: the derivative there is 0
    return x, rng.normal(size=shape).astype(dtype)


def forward_backward(backend_name, dtype, act, x, dout):
    out = check("activation_forward", backend_name, dtype, nans(x.shape, dtype), x, act)[0]
    check("activation_backward", backend_name, dtype, nans(x.shape, dtype), dout, out, act)
    return out


@BACKEND_DTYPE
@ACTS
@FEW
@given(shape=SHAPES, seed=st.integers(0, 2**32 - 1))
def test_matches_reference(backend_name, dtype, act, shape, seed):
    forward_backward(backend_name, dtype, act, *data(shape, dtype, seed))


@BACKEND_DTYPE
@ACTS
def test_matches_reference_parallel(backend_name, dtype, act):
    x, dout = data(BIG, dtype, 1)
    out = forward_backward(backend_name, dtype, act, x, dout)
    same_across_threads("activation_forward", backend_name, nans(BIG, dtype), x, act)
    same_across_threads("activation_backward", backend_name, nans(BIG, dtype), dout, out, act)


@BACKEND_DTYPE
@ACTS
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), BIG])
def test_in_place(backend_name, dtype, act, shape):
    # out may be x, and dx may be dout: a layer reuses its buffers
    x, dout = data(shape, dtype, 2)
    out = check("activation_forward", backend_name, dtype, x, x, act)[0]
    dx = check("activation_backward", backend_name, dtype, dout, dout, out, act)[0]
    assert out.dtype == dx.dtype == dtype


@BACKEND_DTYPE
def test_sigmoid_does_not_overflow(backend_name, dtype):
    x = np.array([[-1e4, -100, -30, 0, 30, 100, 1e4]], dtype)
    out = check("activation_forward", backend_name, dtype, nans(x.shape, dtype), x, SIGMOID)[0]
    assert np.all(np.isfinite(out)) and out[0, 0] == 0 and out[0, -1] == 1


@pytest.mark.parametrize("backend_name", COMPILED)
@ACTS
def test_float32_stays_float32(backend_name, act):
    x, dout = data(BIG, np.float32, 0)
    assert_float32_only("activation_forward", backend_name, nans(BIG, np.float32), x, act)
    assert_float32_only("activation_backward", backend_name, nans(BIG, np.float32), dout, x, act)


@pytest.mark.parametrize("backend_name", COMPILED)
@pytest.mark.parametrize("act", [SIGMOID, TANH], ids=["sigmoid", "tanh"])
def test_float32_accuracy(backend_name, act):
    # a compiled float32 sigmoid or tanh may use its own exp: it must stay within a few ulp of the truth,
    # relative to the value near 0 (tanh(x) ~ x) and absolute near 1; below e^-87 (~1.6e-38) it may flush to 0
    x = np.concatenate([np.linspace(-100, 100, 40_001), np.geomspace(1e-30, 10, 4_001)]).astype(np.float32)
    x = np.concatenate([x, -x])
    out = nans(x.shape, np.float32)
    impl("activation_forward", backend_name)(out, x, act)
    x64 = x.astype(np.float64)
    truth = 1 / (1 + np.exp(-x64)) if act == SIGMOID else np.tanh(x64)
    err = np.abs(out - truth)
    assert np.all(err <= 8 * np.spacing(np.abs(truth).astype(np.float32)) + 2e-38)
