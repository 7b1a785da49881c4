"""How the Numba kernels split their work: when to go parallel, and the chunks of kernels/design.py's
chunk_count, compiled.

A parallel column sum (batch norm's statistics, conv2d's dw) keeps one partial per chunk (no atomics) and
adds the partials in chunk order. The chunks depend only on the shape, never on the thread count, and the
serial path walks the same chunks, so 1 and N threads give bit-identical sums.
"""
import functools
import inspect
import types

from numba import get_num_threads

from .. import _scratch, design
from .config import GRAIN, jit, pjit


# work: elements (or multiply-adds) -> run the prange loop? Not below GRAIN, where the fork/join costs
# more than the work. (With one thread a prange loop would buy nothing, but numba.get_num_threads()
# inside a kernel reads a ctypes pointer, and Numba will not cache such a function.)
@jit
def parallel(work):
    return work >= GRAIN


# partial (chunks, C) -> total (C,) = sum of the rows of partial, in order
@jit
def sum_partials(total, partial):
    total[:] = partial[0]
    for k in range(1, partial.shape[0]):
        total += partial[k]


# kernels/design.py's rule, compiled: the chunks of `rows` rows holding `work` in all, `part` partials each
chunk_count = jit(design.chunk_count)


# the rows [lo, hi) of chunk ch of `chunks` over `rows` rows
@jit
def chunk_rows(ch, chunks, rows):
    return ch * rows // chunks, (ch + 1) * rows // chunks


# kernels/_scratch.py's split, compiled: the shared, chunk and thread parts of a call's scratch
split = jit(_scratch.split)


# worker threads of a call: Numba's thread count, never more than the chunks
def worker_threads():
    return min(get_num_threads(), design.MAX_CHUNKS)


def parallel_above_grain(over, work=None, grain=GRAIN):
    """Decorator for an entry point whose loops are prange loops: compiles it twice, a serial build (where
    prange runs as range) and a parallel one, and runs the parallel build only when the array argument named
    `over` has at least `grain` elements (or, given work, when work(that array, *args) is at least grain),
    below which a fork/join costs more than the work. Both builds run the same loop over the same slices,
    so their results are the same bits. The builds are .builds, for the tests that read their machine code
    and for _numba.compiled."""
    def decorate(fn):
        index = list(inspect.signature(fn).parameters).index(over)
        serial, threaded = jit(_renamed(fn, "_serial")), pjit(fn)

        if work is None:
            @functools.wraps(fn)
            def kernel(*args):
                return (threaded if args[index].size >= grain else serial)(*args)   # parallel(), without a dispatcher call
        else:
            @functools.wraps(fn)
            def kernel(*args):
                return (threaded if work(*args) >= grain else serial)(*args)

        kernel.builds = (serial, threaded)
        return kernel
    return decorate


def _renamed(fn, suffix):
    """A copy of fn under another name: Numba keys its on-disk cache by the function's qualified name, so the
    serial and the parallel build of one function get a cache file each."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__module__ = fn.__module__
    return copy
