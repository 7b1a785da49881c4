"""Shared pieces of the conformance suite: every compiled backend against the NumPy reference.

One tolerance table for every op (fastnn.testing, shared with the benchmarks). Test modules parametrize with BACKEND_DTYPE and call ref()/impl().
"""
import contextlib
import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import settings

from fastnn import backend
from fastnn.testing import TOL, assert_close, copy_args  # noqa: F401  (the suites import them from here)

COMPILED = [name for name in backend.available_backends() if name != "numpy"]
DTYPES = [np.float32, np.float64]
BACKEND_DTYPE = pytest.mark.parametrize(
    "backend_name,dtype",
    [pytest.param(b, d, id=f"{b}-{np.dtype(d).name}") for b in COMPILED for d in DTYPES],
)

def ref(op):
    return backend.kernel(op, "numpy")


def impl(op, backend_name):
    return backend.kernel(op, backend_name)


# Hypothesis-drawn shapes: few examples, the same on every run, and no deadline (the first call compiles);
# the suite also runs with the JIT off (test_numba_python_semantics.py), one Python step per element.
FEW = settings(max_examples=8, deadline=None, derandomize=True)


def nans(shape, dtype):
    """An output buffer filled with NaN, so an element the kernel fails to write shows up."""
    return np.full(shape, np.nan, dtype)


def check(op, backend_name, dtype, *args):
    """Run op in the reference and in backend_name on copies of args; every array argument (outputs and
    buffers updated in place alike) must end close to the reference's, with its dtype kept, and what the op
    returns (None, or a count) must equal the reference's. Returns the backend's arguments after the call."""
    expected, actual = copy_args(args), copy_args(args)
    returned = ref(op)(*expected)
    assert impl(op, backend_name)(*actual) == returned, f"{op} returned another value than the reference"
    for i, (a, e) in enumerate(zip(actual, expected)):
        if isinstance(e, np.ndarray):
            assert a.dtype == e.dtype, f"{op} argument {i}: dtype {a.dtype}, expected {e.dtype}"
            try:
                assert_close(a, e, dtype)
            except AssertionError as exc:
                raise AssertionError(f"{op} argument {i} differs from the reference") from exc
    return actual


@contextlib.contextmanager
def threads(n):
    """Run the block with n threads for every backend (and BLAS), then restore the previous count."""
    before = backend.get_num_threads()
    backend.set_num_threads(n)
    try:
        yield
    finally:
        backend.set_num_threads(before)


def same_across_threads(op, backend_name, *args, counts=(1, 2), dtype=None):
    """op on copies of args with 1 and with 2 threads: every array argument must end bit-identical, or,
    given dtype, close within TOL (for ops that call BLAS, whose GEMM rounds by thread count)."""
    runs, returned = [], []
    for n in counts:
        run = copy_args(args)
        with threads(n):
            returned.append(impl(op, backend_name)(*run))
        runs.append(run)
    assert all(r == returned[0] for r in returned), f"{op} returned {returned} by thread count"
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            for other in runs[1:]:
                if dtype is None:
                    np.testing.assert_array_equal(other[i], runs[0][i], err_msg=f"{op} argument {i}")
                else:
                    assert_close(other[i], runs[0][i], dtype)


def _float32_only(sig):
    """Whether every floating-point array in a Numba signature is float32."""
    import numba

    dtypes = [t.dtype for t in sig if isinstance(t, numba.types.Array)]
    return any(d == numba.float32 for d in dtypes) and not any(d == numba.float64 for d in dtypes)


def assert_float32_only(op, backend_name, *args):
    """Numba: the machine code of op for these (float32) arguments never widens a float32 to float64,
    i.e. its LLVM IR, callees and parallel regions included, holds no `fpext float`; a stray float64
    literal in a float32 kernel shows up here. Code loaded from Numba's cache has no IR to inspect: then
    skipped (test_numba_python_semantics.py runs these checks again with an empty cache). Other backends
    have no IR to inspect either: skipped. A plain Python entry point (one that takes scratch or calls BLAS)
    has every float32-only compilation of its module's jitted functions checked instead."""
    kernel = impl(op, backend_name)
    if backend_name != "numba" or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip(f"no LLVM IR to inspect for {backend_name} (or the JIT is off)")
    import numba

    kernel(*copy_args(args))
    builds = [b for b in getattr(kernel, "builds", ()) if b.signatures]   # a serial and a parallel build
    if hasattr(kernel, "inspect_llvm") or builds:
        compiled = [(f, tuple(numba.typeof(a) for a in args)) for f in builds or [kernel]]
    else:
        # a plain Python entry point (it takes scratch, or calls BLAS): every jitted function of its module
        # compiled for float32 arrays only
        # (or one that calls a kernel compiled as a serial and a parallel build: those builds)
        module = sys.modules[kernel.__module__]
        called = [kernel.__globals__.get(name) for name in kernel.__code__.co_names]
        jitted = [b for f in called for b in getattr(f, "builds", ())] or list(vars(module).values())
        compiled = [(f, sig) for f in jitted
                    if isinstance(f, numba.core.registry.CPUDispatcher) and f.__module__ == module.__name__
                    for sig in f.signatures if _float32_only(sig)]
        assert compiled, f"{op}: no compiled float32 function found in {module.__name__}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = "".join(f.inspect_llvm(sig) for f, sig in compiled)
    if any("cached code" in str(w.message) for w in caught):
        pytest.skip(f"{op} was loaded from Numba's cache: no IR to inspect")
    assert "fpext float" not in ir, f"{op}: float32 math widened to float64"
