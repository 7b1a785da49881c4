"""Inverted dropout with a counter-based random stream.

The keep/drop decision for element i (in C order) is a pure function of (seed, i): the splitmix64
hash of seed + (i + 1) * golden, whose top 24 bits give u in [0, 1); the element is kept when u >= rate.
Every backend computes the same mask for the same seed, whatever the thread count.
Legend: any shape; mask has x's shape and dtype and holds 0 or 1 / (1 - rate).
"""
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def uniform24(seed, n):
    """u_i for i in [0, n): float64 in [0, 1) with 24 random bits each."""
    z = np.uint64(seed) + (np.arange(1, n + 1, dtype=np.uint64) * GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24


# x -> out = x * mask, mask = (u >= rate) / (1 - rate); seed a uint64
def dropout_forward(out, mask, x, rate, seed):
    keep = uniform24(seed, x.size).reshape(x.shape) >= rate
    mask[...] = keep * (1 / (1 - rate))
    np.multiply(x, mask, out=out)


# dx = dout * mask
def dropout_backward(dx, dout, mask):
    np.multiply(dout, mask, out=dx)
