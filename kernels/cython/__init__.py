"""Cython backend: ahead-of-time compiled kernels with the reference names and signatures.

setup.py compiles kernels/cython/*.pyx (pip install, or `python setup.py build_ext --inplace` in a source
checkout), with OpenMP when the compiler has it. Without the compiled modules this package raises
ImportError, and fastnn.backend reports the backend unavailable with that reason.
"""
import importlib
import importlib.machinery
import sys
from pathlib import Path

# In a source checkout whose kernels/cython was never compiled in place, `python -m fastnn ...` run from the
# checkout imports the checkout's fastnn, not the installed one: the compiled modules of an installed fastnn
# (which `pip install .` builds from this same checkout) serve then, and backend_report() names their folder.
BORROWED_FROM = None


def _installed_build():
    """The folder of another fastnn's compiled Cython kernels on sys.path (the installed one), else None.
    Searched along sys.path rather than through importlib.metadata, which finds the checkout's own
    fastnn.egg-info first when run from the checkout."""
    here = Path(__file__).resolve().parent
    for entry in sys.path:
        folder = (Path(entry or ".") / "fastnn" / "_kernels" / "cython").resolve()
        if folder == here or not folder.is_dir():
            continue
        if any((folder / f"_openmp{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES):
            return str(folder)
    return None


try:
    _openmp = importlib.import_module(f"{__name__}._openmp")
except ModuleNotFoundError as exc:
    if exc.name != f"{__name__}._openmp":
        raise
    BORROWED_FROM = _installed_build()
    if BORROWED_FROM is None:
        raise ImportError(
            "fastnn's Cython kernels were not compiled (no C compiler when fastnn was installed?): reinstall "
            "fastnn where gcc or clang is available, or run `python setup.py build_ext --inplace` in a source "
            "checkout") from None
    __path__.append(BORROWED_FROM)
    _openmp = importlib.import_module(f"{__name__}._openmp")

OPENMP = _openmp.OPENMP


def set_num_threads(n):
    """OpenMP threads for every parallel kernel of this backend."""
    _openmp.set_num_threads(n)


def get_num_threads():
    return _openmp.get_num_threads()
