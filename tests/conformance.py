"""Shared pieces of the conformance suite: every compiled backend against the NumPy reference.

One tolerance table for every op. Test modules parametrize with BACKEND_DTYPE and call ref()/impl().
"""
import numpy as np
import pytest

from fastnn import backend

COMPILED = [name for name in backend.available_backends() if name != "numpy"]
DTYPES = [np.float32, np.float64]
BACKEND_DTYPE = pytest.mark.parametrize(
    "backend_name,dtype",
    [pytest.param(b, d, id=f"{b}-{np.dtype(d).name}") for b in COMPILED for d in DTYPES],
)

# Relative to the magnitude of the reference result: float32 kernels may sum in another order.
TOL = {np.float32: {"rtol": 1e-4, "atol": 1e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def ref(op):
    return backend.kernel(op, "numpy")


def impl(op, backend_name):
    return backend.kernel(op, backend_name)


def assert_close(actual, expected, dtype):
    """Compare with the table's tolerance, scaled by the size of the expected values."""
    expected = np.asarray(expected)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)
