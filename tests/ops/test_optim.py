"""Optimizer steps over flat buffers: every compiled backend against the NumPy reference, step after step."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import (BACKEND_DTYPE, COMPILED, FEW, assert_close, assert_float32_only, copy_args, impl, ref,
                         same_across_threads)

STEPS = 4
BIG = 40_000  # above GRAIN: the buffers split over threads
SIZES = st.integers(1, 300)
SEEDS = st.integers(0, 2**32 - 1)
# (op, number of state buffers, hyperparameters, state buffers that are None)
CASES = {
    "sgd": ("sgd_step", 1, dict(lr=0.1, momentum=0.0, nesterov=False), (0,)),
    "sgd_momentum": ("sgd_step", 1, dict(lr=0.1, momentum=0.9, nesterov=False), ()),
    "sgd_nesterov": ("sgd_step", 1, dict(lr=0.1, momentum=0.9, nesterov=True), ()),
    "adagrad": ("adagrad_step", 1, dict(lr=0.01, eps=1e-7), ()),
    "rmsprop": ("rmsprop_step", 2, dict(lr=0.001, rho=0.9, momentum=0.0, eps=1e-7), (1,)),
    "rmsprop_momentum": ("rmsprop_step", 2, dict(lr=0.001, rho=0.9, momentum=0.5, eps=1e-7), ()),
    "adam": ("adam_step", 2, dict(beta1=0.9, beta2=0.999, eps=1e-7), ()),
}
OPTIMIZERS = pytest.mark.parametrize("name", list(CASES))


def hyper(name, step):
    """The scalars for step t (1-based); Adam's alpha carries the bias corrections, as the caller computes it."""
    h = dict(CASES[name][2])
    if name == "adam":
        lr = 0.001
        h = {"alpha": lr * np.sqrt(1 - h["beta2"] ** step) / (1 - h["beta1"] ** step), **h}
    return list(h.values())


def buffers(name, p, dtype, seed):
    rng = np.random.default_rng(seed)
    n_state, none_at = CASES[name][1], CASES[name][3]
    param = rng.normal(size=p).astype(dtype)
    state = [None if i in none_at else np.zeros(p, dtype) for i in range(n_state)]
    if name == "adagrad":
        state[0] += dtype(0.1)  # Keras's initial accumulator
    return param, state, rng


def run_steps(name, backend_name, dtype, p, seed):
    """STEPS steps of the reference and of the backend, each on its own buffers, fed the same gradients;
    the buffers must agree after every step. Returns the backend's param and state."""
    op = CASES[name][0]
    param, state, rng = buffers(name, p, dtype, seed)
    expected, actual = copy_args([param, *state]), copy_args([param, *state])
    for t in range(1, STEPS + 1):
        grad = rng.normal(size=p).astype(dtype)
        ref(op)(expected[0], grad, *expected[1:], *hyper(name, t))
        impl(op, backend_name)(actual[0], grad, *actual[1:], *hyper(name, t))
        for a, e in zip(actual, expected):
            if e is not None:
                assert a.dtype == dtype
                assert_close(a, e, dtype)
    return op, actual[0], actual[1:]


@BACKEND_DTYPE
@OPTIMIZERS
@FEW
@given(p=SIZES, seed=SEEDS)
def test_matches_reference(backend_name, dtype, name, p, seed):
    run_steps(name, backend_name, dtype, p, seed)


@BACKEND_DTYPE
@OPTIMIZERS
def test_matches_reference_parallel(backend_name, dtype, name):
    op, param, state = run_steps(name, backend_name, dtype, BIG, 14)
    grad = np.random.default_rng(15).normal(size=BIG).astype(dtype)
    same_across_threads(op, backend_name, param, grad, *state, *hyper(name, STEPS + 1))


@pytest.mark.parametrize("backend_name", COMPILED)
@OPTIMIZERS
def test_float32_stays_float32(backend_name, name):
    param, state, rng = buffers(name, BIG, np.float32, 18)
    grad = rng.normal(size=BIG).astype(np.float32)
    assert_float32_only(CASES[name][0], backend_name, param, grad, *state, *hyper(name, 1))
