"""Comparing kernel results, shared by the test suite and the benchmarks (as numpy.testing is).

One tolerance table: a compiled kernel may sum in another order than the NumPy reference, or call another
BLAS kernel, which moves the last bits; relative to the magnitude of the reference result.
"""
import numpy as np

TOL = {np.float32: {"rtol": 1e-4, "atol": 1e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def assert_close(actual, expected, dtype):
    """Compare with the table's tolerance for dtype, scaled by the size of the expected values; integer
    results (labels, pooling winners) must be equal."""
    expected = np.asarray(expected)
    if np.dtype(dtype).kind != "f":
        np.testing.assert_array_equal(actual, expected)
        return
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


def copy_args(args):
    """Copies of the array arguments (an array passed twice stays one array); other arguments as they are."""
    memo = {}
    return [memo.setdefault(id(a), a.copy()) if isinstance(a, np.ndarray) else a for a in args]
