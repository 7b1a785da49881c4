"""The one place that holds the Numba options for every kernel in this backend.

fastmath: reassociation and contraction let LLVM vectorise reductions; "nnan"/"ninf" stay off so a NaN
or inf in the data propagates to the loss, where fit() sees it and stops.
cache: compiled machine code is written beside the sources, so a second process starts without compiling.
Numba checks only the timestamp of a function's own file, and a kernel inlines the helpers it calls from
other modules (dense uses activations, for one): after editing a module that others import from, delete
the __pycache__ folders under kernels/ so that nothing keeps the old helper.
GRAIN and CHUNK (kernels/design.py, shared with the Cython backend): the serial/parallel threshold
(chunks.parallel decides) and the elements per parallel task (chunks.py).
Loops index with range(size) of a slice, never range(lo, hi): such an index might be negative for all
Numba knows, and the wraparound check on every access stops LLVM from vectorising the loop (5-7x slower).
pjit kernels hold only explicit prange loops: the small (C,)-sized array expressions they need live in
@jit helpers, because parallel=True would turn each one into a fork/join of its own.
"""
import numba

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
OPTIONS = {"cache": True, "nogil": True, "fastmath": FASTMATH, "error_model": "numpy"}

jit = numba.njit(**OPTIONS)
pjit = numba.njit(parallel=True, **OPTIONS)
# for arithmetic whose order is its accuracy (exp32's split of x ln 2 in two parts): no reassociation. The
# flags are per instruction, so they hold where such a function is inlined into a fastmath kernel.
jit_ordered = numba.njit(**{**OPTIONS, "fastmath": FASTMATH - {"reassoc"}})
prange = numba.prange

from ..design import CHUNK, GRAIN  # noqa: F401  (the kernels import them from here)
