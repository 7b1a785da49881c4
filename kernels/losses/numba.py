"""Losses other than softmax cross-entropy (Numba), each fused with its gradient, rows in parallel.

Legend: N batch, K outputs. pred/logits/probs (N,K), y (N,K) float targets, loss (N,) per-sample loss
(mean over K for mse and binary cross-entropy, sum for categorical), dpred (N,K) the gradient of
sum(loss) * scale. Scalars are cast to the data's type once, as NumPy does with a Python float.
"""
import numpy as np

from .reference import EPSILON

from .._numba.chunks import parallel_above_grain
from .._numba.config import jit, prange
from ..activations.numba import sigmoid


# q clipped to [lo, hi]; a NaN stays NaN (as in np.clip), so it reaches the loss
@jit
def _clip(q, lo, hi):
    return lo if q < lo else (hi if q > hi else q)


# mse row: loss = mean((p - y)^2); d = (p - y) * c, c = 2 scale / K
@jit
def _mse_row(d, p, y, scale):
    c = p.dtype.type(2.0 * scale / p.size)
    acc = p.dtype.type(0)
    for j in range(p.size):
        diff = p[j] - y[j]
        acc += diff * diff
        d[j] = diff * c
    return acc / p.dtype.type(p.size)


# sigmoid_bce row: loss = mean(softplus(a) - y a); d = (sigmoid(a) - y) * c, c = scale / K
@jit
def _sigmoid_bce_row(d, a, y, scale):
    c = a.dtype.type(scale / a.size)
    zero, one = a.dtype.type(0), a.dtype.type(1)
    acc = zero
    for j in range(a.size):
        v = a[j]
        softplus = (zero if v < zero else v) + np.log1p(np.exp(-abs(v)))
        acc += softplus - y[j] * v
        d[j] = (sigmoid(v, one) - y[j]) * c
    return acc / a.dtype.type(a.size)


# binary_ce_probs row: p clipped to [lo, hi]; the gradient is zero where clipping bites
@jit
def _binary_ce_row(d, probs, y, scale):
    c = probs.dtype.type(scale / probs.size)
    lo, hi = probs.dtype.type(EPSILON), probs.dtype.type(1 - EPSILON)
    zero, one = probs.dtype.type(0), probs.dtype.type(1)
    acc = zero
    for j in range(probs.size):
        q = probs[j]
        p = _clip(q, lo, hi)
        acc += y[j] * np.log(p) + (one - y[j]) * np.log(one - p)
        inside = one if (q > lo and q < hi) else zero
        d[j] = ((p - y[j]) / (p * (one - p))) * inside * c
    return -acc / probs.dtype.type(probs.size)


# categorical_ce_probs row: q = probs / sum(probs), p = clip(q); loss = -sum(y log p);
# dq = -(y / p) where not clipped; d = (dq - sum(dq q)) / total * scale
@jit
def _categorical_ce_row(d, probs, y, scale):
    lo, hi = probs.dtype.type(EPSILON), probs.dtype.type(1 - EPSILON)
    s = probs.dtype.type(scale)
    zero, one = probs.dtype.type(0), probs.dtype.type(1)
    total = zero
    for j in range(probs.size):
        total += probs[j]
    acc = zero
    dot = zero
    for j in range(probs.size):
        q = probs[j] / total
        p = _clip(q, lo, hi)
        acc += y[j] * np.log(p)
        dq = -(y[j] / p) * (one if (q > lo and q < hi) else zero)
        d[j] = dq
        dot += dq * q
    for j in range(probs.size):
        d[j] = (d[j] - dot) / total * s
    return -acc


# the row kinds of _loss_rows
MSE, SIGMOID_BCE, BINARY_CE, CATEGORICAL_CE = 0, 1, 2, 3


@jit
def _loss_row(kind, d, a, y, scale):
    if kind == MSE:
        return _mse_row(d, a, y, scale)
    if kind == SIGMOID_BCE:
        return _sigmoid_bce_row(d, a, y, scale)
    if kind == BINARY_CE:
        return _binary_ce_row(d, a, y, scale)
    return _categorical_ce_row(d, a, y, scale)


# loss (N,), d a y (N,K): each row's loss and gradient, rows in parallel
@parallel_above_grain("a")
def _loss_rows(kind, loss, d, a, y, scale):
    for i in prange(a.shape[0]):
        loss[i] = _loss_row(kind, d[i], a[i], y[i], scale)


# loss = mean((pred - y)^2, axis=1); dpred = 2 (pred - y) / K * scale
def mse(loss, dpred, pred, y, scale):
    _loss_rows(MSE, loss, dpred, pred, y, scale)


# Binary cross-entropy on logits: loss = mean(softplus(a) - y a, axis=1); dlogits = (sigmoid(a) - y) / K * scale
def sigmoid_bce(loss, dlogits, logits, y, scale):
    _loss_rows(SIGMOID_BCE, loss, dlogits, logits, y, scale)


# Binary cross-entropy on probabilities, clipped to [EPSILON, 1 - EPSILON] as Keras does
def binary_ce_probs(loss, dprobs, probs, y, scale):
    _loss_rows(BINARY_CE, loss, dprobs, probs, y, scale)


# Categorical cross-entropy on probabilities: rows renormalised to sum 1, then clipped
def categorical_ce_probs(loss, dprobs, probs, y, scale):
    _loss_rows(CATEGORICAL_CE, loss, dprobs, probs, y, scale)
