"""Idle threads that sleep: the thread-pool settings fastnn makes before NumPy or OpenMP load.

A training step alternates three thread pools: BLAS's (OpenBLAS, for the dense layers' GEMMs), OpenMP's
(Numba's "omp" threading layer and the Cython kernels share one libgomp pool) and the Python thread. By
default an idle OpenMP thread spins for a while after its region ends, and an idle OpenBLAS thread spins
(calling sched_yield) for about 2**28 cycles, a tenth of a second, after its GEMM. On a machine with few
cores a spinning thread holds the core that the next region's worker is waiting for: on a 2-core machine,
a LeNet-5 epoch at 2 threads runs 2x slower than at 1 thread unless both pools sleep at once
(docs/performance.md, "Thread pools").

Both runtimes read these variables once, when their library loads, so they are set when fastnn is
imported and only where the user has not set them; a program that imports NumPy before fastnn keeps
OpenBLAS's default spin (backend_report() says so; export the variable, or import fastnn first).
"""
import os
import sys

SETTINGS = {
    "OMP_WAIT_POLICY": "PASSIVE",        # libgomp (and LLVM's libomp): sleep as soon as a region ends
    "OPENBLAS_THREAD_TIMEOUT": "4",      # OpenBLAS workers spin 2**4 cycles, not 2**28, before sleeping
}
_LIBRARIES = {"OMP_WAIT_POLICY": ("numba.np.ufunc.omppool",), "OPENBLAS_THREAD_TIMEOUT": ("numpy", "scipy")}
_state = {}   # variable -> one line for backend_report()


def quiet_thread_pools():
    """Set SETTINGS in os.environ unless already set; note any library loaded too early to see them."""
    for name, value in SETTINGS.items():
        if name in os.environ and os.environ[name] != value and name not in _state:
            _state[name] = f"{name}={os.environ[name]} (set by the user)"
            continue
        early = [lib for lib in _LIBRARIES[name] if lib in sys.modules]
        if name not in os.environ and early:
            _state[name] = (f"{name} unset: {early[0]} was imported before fastnn, so its threads keep their "
                            f"default spin (export {name}={value}, or import fastnn first)")
        else:
            _state.setdefault(name, f"{name}={value}")
        os.environ.setdefault(name, value)


def report():
    """One line per setting: in effect, set by the user, or too late."""
    return [_state[name] for name in SETTINGS]
