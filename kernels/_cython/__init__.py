"""The Cython backend's shared runtime: the OpenMP thread count every kernel module reads.

setup.py compiles kernels/<family>/cython.pyx and kernels/_cython/_openmp.pyx (`pip install -e .` builds
them in place, beside their sources), with OpenMP when the compiler has it. Without the compiled modules
this package raises ImportError, and fastnn.backend reports the backend unavailable with that reason.
"""
import importlib

try:
    _openmp = importlib.import_module(f"{__name__}._openmp")
except ModuleNotFoundError as exc:
    if exc.name != f"{__name__}._openmp":
        raise
    raise ImportError(
        "fastnn's Cython kernels were not compiled (no C compiler when fastnn was installed?): reinstall fastnn "
        "where gcc or clang is available (`pip install -e .` in a source checkout)") from None

OPENMP = _openmp.OPENMP


def set_num_threads(n):
    """OpenMP threads for every parallel kernel of this backend."""
    _openmp.set_num_threads(n)


def get_num_threads():
    return _openmp.get_num_threads()
