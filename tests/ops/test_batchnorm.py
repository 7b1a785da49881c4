"""Batch normalisation (training, inference, backward): every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, nans, ref, same_across_threads

BIG = pytest.mark.parametrize("shape", [(5462, 6), (129, 257)], ids=["few_channels", "many_channels"])
MOMENTUM, EPS = 0.99, 1e-3


def problem(m, c, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(m, c)) * 2 + 5).astype(dtype)  # off-centre: a one-pass variance would lose digits
    params = [rng.normal(size=c).astype(dtype) for _ in range(2)]  # gamma, beta
    moving = [rng.normal(size=c).astype(dtype), rng.uniform(0.5, 2, size=c).astype(dtype)]
    return x, params, moving, rng.normal(size=(m, c)).astype(dtype)


def forward_args(x, params, moving, training, dtype):
    c = x.shape[1]
    return (nans(x.shape, dtype), nans(c, dtype), nans(c, dtype), x, *params,
            *[a.copy() for a in moving], MOMENTUM, EPS, training)


def backward_args(x, params, moving, dout, dtype):
    # the saved statistics come from the reference's training forward
    fwd = forward_args(x, params, moving, True, dtype)
    ref("batchnorm_forward")(*fwd)
    _, mean, invstd = fwd[:3]
    c = x.shape[1]
    return (nans(x.shape, dtype), nans(c, dtype), nans(c, dtype), dout, x, mean, invstd, params[0])


def run_all(backend_name, dtype, x, params, moving, dout):
    for training in (True, False):
        # training writes mean and invstd and updates the moving statistics in place; check compares them all
        check("batchnorm_forward", backend_name, dtype, *forward_args(x, params, moving, training, dtype))
    check("batchnorm_backward", backend_name, dtype, *backward_args(x, params, moving, dout, dtype))


@BACKEND_DTYPE
@FEW
@given(m=st.integers(1, 40), c=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_matches_reference(backend_name, dtype, m, c, seed):
    run_all(backend_name, dtype, *problem(m, c, dtype, seed))


@BACKEND_DTYPE
@BIG
def test_matches_reference_parallel(backend_name, dtype, shape):
    x, params, moving, dout = problem(*shape, dtype, 11)
    run_all(backend_name, dtype, x, params, moving, dout)
    same_across_threads("batchnorm_forward", backend_name, *forward_args(x, params, moving, True, dtype))
    same_across_threads("batchnorm_backward", backend_name, *backward_args(x, params, moving, dout, dtype))


@BACKEND_DTYPE
def test_backward_in_place(backend_name, dtype):
    # dx may be dout: the layer hands its incoming gradient buffer back
    x, params, moving, dout = problem(7, 3, dtype, 12)
    args = list(backward_args(x, params, moving, dout, dtype))
    args[0] = args[3]
    dx = check("batchnorm_backward", backend_name, dtype, *args)[0]
    assert np.all(np.isfinite(dx))


@pytest.mark.parametrize("backend_name", COMPILED)
@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32(backend_name, training):
    x, params, moving, dout = problem(129, 257, np.float32, 17)
    assert_float32_only("batchnorm_forward", backend_name, *forward_args(x, params, moving, training, np.float32))
    assert_float32_only("batchnorm_backward", backend_name, *backward_args(x, params, moving, dout, np.float32))
