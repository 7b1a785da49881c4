"""Inverted dropout with the reference's counter-based random stream (kernels/dropout/reference.py).

The keep/drop decision for element i (in C order) is a pure function of (seed, i): the splitmix64 hash of
seed + (i + 1) * golden in wrapping uint64 arithmetic, whose top 24 bits give u in [0, 1); the element is
kept when u >= rate. So the mask is bit-identical to the reference's for any thread count.
Legend: any shape, walked flat; mask has x's shape and dtype and holds 0 or 1 / (1 - rate).
"""
from libc.math cimport ceil
from libc.stdint cimport int64_t, uint64_t

from cython.parallel cimport prange

from _shared cimport bind_threads, fastnn_threads, floating, GRAIN

bind_threads()

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef uint64_t MIX1 = 0xBF58476D1CE4E5B9ULL
cdef uint64_t MIX2 = 0x94D049BB133111EBULL


# x -> out = x * mask, mask = (u >= rate) / (1 - rate); seed a uint64
def dropout_forward(out, mask, x, rate, seed):
    keep_scale = 1 / (1 - rate)  # Python arithmetic: rate 1 raises ZeroDivisionError, as the reference does
    _forward(out.reshape(-1), mask.reshape(-1), x.reshape(-1), rate, keep_scale, seed)


# dx = dout * mask
def dropout_backward(dx, dout, mask):
    _backward(dx.reshape(-1), dout.reshape(-1), mask.reshape(-1))


def _forward(floating[::1] out, floating[::1] mask, const floating[::1] x, double rate, double keep_scale,
             uint64_t seed):
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating kept = keep_scale, mi
    # u = m 2^-24 >= rate for the 24-bit integer m  <=>  m >= ceil(rate 2^24): compare integers, exactly
    cdef double bound = ceil(rate * 16777216.0)
    cdef int64_t least = 0 if bound <= 0 else (<int64_t>bound if bound <= 16777216.0 else 16777217)
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        mi = kept if <int64_t>_bits24(seed, i) >= least else 0
        mask[i] = mi
        out[i] = x[i] * mi


def _backward(floating[::1] dx, const floating[::1] dout, const floating[::1] mask):
    cdef Py_ssize_t i, n = mask.shape[0]
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        dx[i] = dout[i] * mask[i]


# the top 24 bits of splitmix64(seed + (i + 1) golden): u_i = bits 2^-24
cdef inline uint64_t _bits24(uint64_t seed, Py_ssize_t i) noexcept nogil:
    cdef uint64_t z = seed + (<uint64_t>i + 1) * GOLDEN
    z = (z ^ (z >> 30)) * MIX1
    z = (z ^ (z >> 27)) * MIX2
    z = z ^ (z >> 31)
    return z >> 40
