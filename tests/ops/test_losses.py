"""Losses fused with their gradients: every compiled backend against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conformance import BACKEND_DTYPE, COMPILED, FEW, assert_float32_only, check, nans, same_across_threads
from fastnn.kernels.losses.reference import EPSILON

LOSSES = ("mse", "sigmoid_bce", "binary_ce_probs", "categorical_ce_probs")
OPS = pytest.mark.parametrize("op", LOSSES)
BIG = (300, 130)  # above GRAIN: rows in parallel


def problem(op, n, k, dtype, seed):
    """(pred, y) in the loss's domain, with the clipping edges of the probability losses included."""
    rng = np.random.default_rng(seed)
    if op == "mse":
        return rng.normal(size=(n, k)).astype(dtype), rng.normal(size=(n, k)).astype(dtype)
    if op == "sigmoid_bce":
        logits = rng.normal(size=(n, k)) * 4
        logits.flat[::5] = 60  # exp(60) overflows float32: the loss must not
        logits.flat[1::5] = -60
        return logits.astype(dtype), rng.uniform(size=(n, k)).round(1).astype(dtype)
    if op == "binary_ce_probs":
        probs = rng.uniform(size=(n, k)).astype(dtype)
        edges = np.array([0, 1, EPSILON, 1 - EPSILON, 1e-9, 1 - 1e-9], dtype)
        probs.flat[::3] = edges[rng.integers(0, edges.size, size=probs.flat[::3].size)]
        return probs, rng.integers(0, 2, size=(n, k)).astype(dtype)
    probs = rng.uniform(size=(n, k)).astype(dtype) * 2  # rows renormalised by the loss
    probs.flat[::4] = 1e-12  # clipped below after renormalising
    return probs, rng.dirichlet(np.ones(k), size=n).astype(dtype)


def args(op, n, k, dtype, seed, scale):
    pred, y = problem(op, n, k, dtype, seed)
    return (nans(n, dtype), nans((n, k), dtype), pred, y, scale)


@BACKEND_DTYPE
@OPS
@FEW
@given(n=st.integers(1, 9), k=st.integers(1, 17), seed=st.integers(0, 2**32 - 1))
def test_matches_reference(backend_name, dtype, op, n, k, seed):
    check(op, backend_name, dtype, *args(op, n, k, dtype, seed, 1.0 / n))


@BACKEND_DTYPE
@OPS
def test_matches_reference_parallel(backend_name, dtype, op):
    a = args(op, *BIG, dtype, 9, 0.25)
    check(op, backend_name, dtype, *a)
    same_across_threads(op, backend_name, *a)


@pytest.mark.parametrize("backend_name", COMPILED)
@OPS
def test_float32_stays_float32(backend_name, op):
    assert_float32_only(op, backend_name, *args(op, *BIG, np.float32, 16, 0.25))
