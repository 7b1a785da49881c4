"""The Cython backend's shared runtime: the OpenMP thread count every kernel module reads, and the
instruction-set variant of the kernel modules this process loads.

setup.py compiles kernels/<family>/cython.pyx and kernels/_cython/_openmp.pyx (`pip install -e .` builds
them in place, beside their sources), with OpenMP when the compiler has it. On x86-64 each family is also
built as cython_avx2 and cython_avx512 (kernels/isa.py); MODULE names the one every family loads here.
Without the compiled modules this package raises ImportError, and fastnn.backend reports the backend
unavailable with that reason.
"""
import importlib
import importlib.util

from .. import isa as _isa
from ..ops import FAMILIES

try:
    _openmp = importlib.import_module(f"{__name__}._openmp")
except ModuleNotFoundError as exc:
    if exc.name != f"{__name__}._openmp":
        raise
    raise ImportError(
        "fastnn's Cython kernels were not compiled (no C compiler when fastnn was installed?): reinstall fastnn "
        "where gcc or clang is available (`pip install -e .` in a source checkout)") from None

OPENMP = _openmp.OPENMP
_PACKAGE = __name__.rpartition(".")[0]   # fastnn.kernels


def _built(variant):
    """Whether every family that has a Cython module has one for variant."""
    suffix = _isa.SUFFIX[variant]
    return all(importlib.util.find_spec(f"{_PACKAGE}.{family}.cython{suffix}") is not None
               for family in FAMILIES if importlib.util.find_spec(f"{_PACKAGE}.{family}.cython") is not None)


# the variants this CPU runs (by _openmp.CPU_LEVEL) that were built, best first
RUNNABLE = tuple(v for level, v in enumerate(reversed(_isa.ISAS)) if level <= _openmp.CPU_LEVEL and _built(v))[::-1]
ISA = _isa.pick(RUNNABLE)
MODULE = "cython" + _isa.SUFFIX[ISA]   # the module of each family folder that this process loads


def set_num_threads(n):
    """OpenMP threads for every parallel kernel of this backend."""
    _openmp.set_num_threads(n)


def get_num_threads():
    return _openmp.get_num_threads()
