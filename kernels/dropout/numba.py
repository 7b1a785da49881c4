"""Inverted dropout (Numba) with the reference's counter-based stream: bit-identical masks.

The keep/drop decision for element i (in C order) is a pure function of (seed, i): the splitmix64 hash of
seed + (i + 1) * golden, whose top 24 bits give u in [0, 1); the element is kept when u >= rate. No state
is shared between elements, so any split of the index range over threads gives the same mask.
Every operand of the hash is uint64 (constants and shift counts included): Numba, like NumPy, wraps
uint64 arithmetic modulo 2**64, but an int64 operand would turn the expression into int64 or float64.
Legend: any shape; mask has x's shape and dtype and holds 0 or 1 / (1 - rate).
"""
import numpy as np

from .reference import GOLDEN, MIX1, MIX2

from .._numba.chunks import parallel_above_grain
from .._numba.config import CHUNK, jit, prange

S27, S30, S31, S40 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(40)
ULP24 = 2.0 ** -24


# seed uint64, i the flat index -> u_i in [0, 1), exactly the reference's uniform24(seed, n)[i]
@jit
def uniform24(seed, i):
    z = seed + np.uint64(i + 1) * GOLDEN
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    z = z ^ (z >> S31)
    return np.float64(z >> S40) * ULP24


# out mask x (P,) flat slices starting at element `first`: mask = (u >= rate) * keep_scale, out = x * mask
@jit
def _forward_flat(out, mask, x, rate, seed, keep_scale, first):
    zero = x.dtype.type(0)
    for i in range(x.size):
        mask[i] = keep_scale if uniform24(seed, first + i) >= rate else zero
        out[i] = x[i] * mask[i]


# x -> out = x * mask, mask = (u >= rate) / (1 - rate); seed an int in [0, 2**64)
@parallel_above_grain("x")
def dropout_forward(out, mask, x, rate, seed):
    o, mk, xf = out.reshape(out.size), mask.reshape(mask.size), x.reshape(x.size)
    n = xf.size
    s = np.uint64(seed)
    keep_scale = x.dtype.type(1 / (1 - rate))  # rounded once from float64, as NumPy casts keep * (1 / (1 - rate))
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        _forward_flat(o[lo:hi], mk[lo:hi], xf[lo:hi], rate, s, keep_scale, lo)


@jit
def _multiply_flat(out, a, b):
    for i in range(out.size):
        out[i] = a[i] * b[i]


# dx = dout * mask; dx may be dout
@parallel_above_grain("mask")
def dropout_backward(dx, dout, mask):
    d, g, mk = dx.reshape(dx.size), dout.reshape(dout.size), mask.reshape(mask.size)
    n = mk.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        _multiply_flat(d[lo:hi], g[lo:hi], mk[lo:hi])
