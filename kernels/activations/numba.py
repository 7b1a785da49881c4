"""Element-wise activations (Numba), with the reference's integer codes so dense can fuse them.

Legend: any shape; out, x, dout, dx all the same shape, C-contiguous. Kernels work on flat views.
Constants are made with x.dtype.type(...): a bare literal would promote float32 math to float64.
float32 sigmoid and tanh use exp32 below, plain arithmetic that LLVM vectorises (this llvmlite has no
vector math library, so np.exp and np.tanh are one libm call per element); float64 keeps libm.
"""
import numpy as np

from .reference import LINEAR, RELU, SIGMOID, TANH

from .._numba.chunks import parallel_above_grain
from .._numba.config import CHUNK, jit, jit_ordered, prange


F32 = np.float32
# exp32: e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in two, the first
# part exact in n * LN2_HI), e^r by its Taylor series to r^7 (remainder < 6e-9), 2^n built from its bits.
LOG2E, LN2_HI, LN2_LO = F32(1.4426950408889634), F32(0.693145751953125), F32(1.4286068203094172e-06)
EXP_MIN = F32(-87.0)  # e^-87 is still a normal float32; below it the result is 0
E7, E6, E5, E4, E3 = F32(1 / 5040), F32(1 / 720), F32(1 / 120), F32(1 / 24), F32(1 / 6)
# tanh(x) = x (1 + c1 x^2 + c2 x^4 + ...) for |x| < 0.5 (the next term is below 5e-9 there), where
# (1 - e^-2|x|) / (1 + e^-2|x|) would lose digits to cancellation
T15, T13, T11, T9 = F32(-929569 / 638512875), F32(21844 / 6081075), F32(-1382 / 155925), F32(62 / 2835)
T7, T5, T3 = F32(-17 / 315), F32(2 / 15), F32(-1 / 3)
TANH_SMALL = F32(0.5)


# float32 x <= 0 (or NaN, which propagates) -> e^x within 5 ulp (4.5 measured); 0 below EXP_MIN. Compiled
# without reassociation, which would merge the two parts of n ln 2 (30 ulp off near x = -73 on a CPU without
# FMA)
@jit_ordered
def exp32(x):
    xc = EXP_MIN if x < EXP_MIN else x  # keeps 2^n a normal number
    n = np.floor(xc * LOG2E + F32(0.5))
    r = (xc - n * LN2_HI) - n * LN2_LO
    p = ((((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + F32(0.5)) * r + F32(1)) * r + F32(1)
    two_n = np.int32((np.int32(n) + np.int32(127)) << np.int32(23)).view(np.float32)
    return F32(0) if x < EXP_MIN else p * two_n


@jit
def sigmoid32(v):
    e = exp32(-abs(v))
    return F32(1) / (F32(1) + e) if v >= F32(0) else e / (F32(1) + e)


@jit
def tanh32(v):
    a = abs(v)
    s = v * v
    p = ((((((T15 * s + T13) * s + T11) * s + T9) * s + T7) * s + T5) * s + T3) * s + F32(1)
    e = exp32(F32(-2) * a)
    t = (F32(1) - e) / (F32(1) + e)
    big = t if v >= F32(0) else -t
    return v * p if a < TANH_SMALL else big


@jit
def sigmoid(v, one):
    # exp of a non-positive number only, so large |v| cannot overflow; one is 1 in v's type
    e = np.exp(-abs(v))
    return one / (one + e) if v >= 0 else e / (one + e)


# o, x (P,) flat, may be the same array: o = act(x)
@jit
def forward_flat(o, x, act):
    zero, one = x.dtype.type(0), x.dtype.type(1)
    if act == LINEAR:
        for i in range(x.size):
            o[i] = x[i]
    elif act == RELU:
        for i in range(x.size):
            v = x[i]
            o[i] = zero if v < zero else v  # a NaN falls through, as in np.maximum
    elif act == SIGMOID and x.itemsize == 4:
        for i in range(x.size):
            o[i] = sigmoid32(x[i])
    elif act == SIGMOID:
        for i in range(x.size):
            o[i] = sigmoid(x[i], one)
    elif act == TANH and x.itemsize == 4:
        for i in range(x.size):
            o[i] = tanh32(x[i])
    elif act == TANH:
        for i in range(x.size):
            o[i] = np.tanh(x[i])


# dout * act'(out) for one element, act' taken from the output; zero and one are 0 and 1 in its type. (One
# loop over this is as fast as a loop per activation: LLVM hoists the test of act out of the loop.)
@jit
def derivative(d, o, act, zero, one):
    if act == RELU:
        return d * (one if o > zero else zero)  # a product, not a select: a NaN in d propagates, as in the reference
    if act == SIGMOID:
        return d * o * (one - o)
    if act == TANH:
        return d * (one - o * o)
    return d


# dx, dout, out (P,) flat, dx may be dout: dx = dout * act'(out)
@jit
def backward_flat(dx, dout, out, act):
    zero, one = out.dtype.type(0), out.dtype.type(1)
    for i in range(out.size):
        dx[i] = derivative(dout[i], out[i], act, zero, one)


@jit
def check_code(act):
    if act < LINEAR or act > TANH:
        raise ValueError("unknown activation code")


# out, x: same shape (out may be x)
@parallel_above_grain("x")
def activation_forward(out, x, act):
    check_code(act)
    o, xf = out.reshape(out.size), x.reshape(x.size)
    n = xf.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        forward_flat(o[lo:hi], xf[lo:hi], act)


# dx, dout, out: same shape; dx may be dout (in place)
@parallel_above_grain("out")
def activation_backward(dx, dout, out, act):
    check_code(act)
    d, g, o = dx.reshape(dx.size), dout.reshape(dout.size), out.reshape(out.size)
    n = o.size
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        backward_flat(d[lo:hi], g[lo:hi], o[lo:hi], act)
