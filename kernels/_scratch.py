"""Scratch memory kept between calls, so a training step allocates nothing in the kernels that need more
memory than their arguments (conv2d: the canvas, output blocks, dP tiles, weight-gradient partials; pooling:
the row winners; dense and batchnorm: the chunks' partial sums). Both compiled backends use it: every Numba
kernel that needs scratch, and the Cython conv2d and max pooling.

Each kernel's entry point (plain Python) asks for its scratch by a key made of everything its layout
depends on (op, shapes, geometry, dtype). The first call with a key allocates zeroed buffers; later calls
get the same ones, in which the kernels rely on what they never write staying zero (canvas borders, the
padding columns of a tile). A layer calls its kernels with the same shapes every step, so after the first
batch of each size nothing is allocated. Buffers belong to the calling Python thread (two Python threads
training two models never share one), which keeps its LIMIT most recently used keys; inside a call, each
worker thread of the parallel loop gets its own part (conv2d/numba.py says why per thread, not per chunk).
For the Numba kernels (NUMBA_NRT_STATS=1, LeNet-5, batch 64) a training step makes 74 NRT allocations, all
Numba's own (a box per array argument of a call from Python, a schedule per parallel loop); allocating each
chunk's tiles and tables afresh instead would make 888.
"""
import threading

import numpy as np

LIMIT = 32
ALIGN = 64
_local = threading.local()


def scratch(key, sizes, *args):
    """(float buffer, int buffer) for key, zeroed when first allocated, the same arrays on later calls.

    sizes(*args) -> (float elements, int elements, int dtype) is called only for a new key; the float
    buffer takes the dtype of args[0].
    """
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    hit = cache.pop(key, None)   # re-inserted below: the dict's order is least recently used first
    if hit is None:
        nf, ni, idtype = sizes(*args)
        hit = (_aligned_zeros(nf, args[0].dtype), _aligned_zeros(ni, idtype))
        while len(cache) >= LIMIT:
            del cache[next(iter(cache))]
    cache[key] = hit
    return hit


def part_sizes(lay, threads):
    """(float elements, int elements) of a call laid out as lay, a plan's Layout: the floats are a shared
    part of lay.shared, lay.chunks parts of lay.chunk and one part of lay.thread per thread; the ints a
    shared part of lay.ints and one of lay.ithread per thread."""
    return lay.shared + lay.chunks * lay.chunk + threads * lay.thread, lay.ints + threads * lay.ithread


def split(fbuf, ibuf, lay, threads):
    """The parts of a call's scratch laid out as lay (part_sizes): the shared floats, the chunks' parts
    (chunks, chunk), the threads' (threads, thread), the shared ints and the threads' ints (threads, ithread).
    Slicing only, so Numba compiles it as it is (kernels/_numba/chunks.py)."""
    at = lay.shared + lay.chunks * lay.chunk
    iat = lay.ints + threads * lay.ithread
    return (fbuf[:lay.shared], fbuf[lay.shared:at].reshape(lay.chunks, lay.chunk),
            fbuf[at:at + threads * lay.thread].reshape(threads, lay.thread), ibuf[:lay.ints],
            ibuf[lay.ints:iat].reshape(threads, lay.ithread))


def _aligned_zeros(n, dtype):
    """n zeros starting on a 64-byte boundary (a cache line; the kernels' parts keep that alignment)."""
    size = np.dtype(dtype).itemsize
    raw = np.zeros(n + ALIGN // size, dtype)
    skip = (-raw.ctypes.data % ALIGN) // size
    return raw[skip:skip + n]


def clear():
    """Drop this thread's buffers (they are allocated again on the next call)."""
    getattr(_local, "cache", {}).clear()
