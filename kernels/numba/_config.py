"""The one place that holds the Numba options for every kernel in this backend.

fastmath: reassociation and contraction let LLVM vectorise reductions; "nnan"/"ninf" stay off so a NaN
or inf in the data propagates to the loss, where fit() sees it and stops.
cache: compiled machine code is written beside the sources, so a second process starts without compiling.
GRAIN: below this many elements (or multiply-adds) a kernel runs its serial loop; a prange fork/join
costs more than tiny work.
"""
import numba

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
OPTIONS = {"cache": True, "nogil": True, "fastmath": FASTMATH, "error_model": "numpy"}

jit = numba.njit(**OPTIONS)
pjit = numba.njit(parallel=True, **OPTIONS)
prange = numba.prange

GRAIN = 1 << 15
