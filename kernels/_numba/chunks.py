"""How the kernels split their work: when to go parallel, and the fixed row chunks of the column sums.

A parallel column sum (dense's db, batchnorm's statistics) keeps one partial per chunk (no atomics) and
adds the partials in chunk order. The chunks depend only on the shape, never on the thread count, and the
serial path walks the same chunks, so 1 and N threads give bit-identical sums.
"""
import functools
import inspect
import types

from numba import get_num_threads

from ..design import SAMPLE_CHUNKS
from .config import CHUNK, GRAIN, jit, pjit


# work: elements (or multiply-adds) -> run the prange loop? Not below GRAIN, where the fork/join costs
# more than the work. (With one thread a prange loop would buy nothing, but numba.get_num_threads()
# inside a kernel reads a ctypes pointer, and Numba will not cache such a function.)
@jit
def parallel(work):
    return work >= GRAIN


# (M,C) -> rows per chunk, number of chunks: about CHUNK elements each, at least one row
@jit
def row_chunks(m, c):
    rows = max(1, CHUNK // c)
    return rows, (m + rows - 1) // rows


# partial (chunks, C) -> total (C,) = sum of the rows of partial, in order
@jit
def sum_partials(total, partial):
    total[:] = partial[0]
    for k in range(1, partial.shape[0]):
        total += partial[k]


# samples per chunk, chunks for n samples and `work` multiply-adds (or elements): one chunk (serial) unless
# parallel(work), else at most SAMPLE_CHUNKS. The shape alone decides, never the thread count (conv2d, pooling).
@jit
def sample_chunks(n, work):
    if not parallel(work) or n == 1:
        return n, 1
    per = (n + min(n, SAMPLE_CHUNKS) - 1) // min(n, SAMPLE_CHUNKS)
    return per, (n + per - 1) // per


# worker threads of a call: Numba's thread count, never more than the chunks
def worker_threads():
    return min(get_num_threads(), SAMPLE_CHUNKS)


# A call's scratch buffer (kernels/_scratch.py) is cut into parts in order. Each part starts on a cache line
# (16 elements: 64 bytes of float32), as a fresh array would; parts packed unaligned measured 5-15% slower.
@jit
def aligned(n):
    return (n + 15) // 16 * 16


# (buf[at:at+n], where the next part starts): the next part of a scratch buffer
@jit
def take(buf, at, n):
    return buf[at:at + n], at + aligned(n)


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
                (threaded if args[index].size >= grain else serial)(*args)   # parallel(), without a dispatcher call
        else:
            @functools.wraps(fn)
            def kernel(*args):
                (threaded if work(*args) >= grain else serial)(*args)

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
