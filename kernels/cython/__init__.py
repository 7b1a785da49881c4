"""Cython backend: ahead-of-time compiled kernels with the reference names and signatures.

setup.py compiles kernels/cython/*.pyx (pip install, or `python setup.py build_ext --inplace` in a source
checkout), with OpenMP when the compiler has it. Without the compiled modules this package raises
ImportError, and fastnn.backend reports the backend unavailable with that reason.
"""
import importlib

try:
    _openmp = importlib.import_module(f"{__name__}._openmp")
except ModuleNotFoundError as exc:
    if exc.name != f"{__name__}._openmp":
        raise
    raise ImportError(
        "fastnn's Cython kernels were not compiled (no C compiler when fastnn was installed?): reinstall "
        "fastnn where gcc or clang is available, or run `python setup.py build_ext --inplace` in a source "
        "checkout") from None

OPENMP = _openmp.OPENMP


def set_num_threads(n):
    """OpenMP threads for every parallel kernel of this backend."""
    _openmp.set_num_threads(n)


def get_num_threads():
    return _openmp.get_num_threads()
