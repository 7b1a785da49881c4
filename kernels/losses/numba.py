"""Losses other than softmax cross-entropy (Numba), each fused with its gradient, rows in parallel.

Legend: N batch, K outputs. pred/logits/probs (N,K), y (N,K) float targets, loss (N,) per-sample loss
(mean over K for mse and binary cross-entropy, sum for categorical), dpred (N,K) the gradient of
sum(loss) * scale. Scalars are cast to the data's type once, as NumPy does with a Python float.
"""
import numpy as np

from .reference import EPSILON

from .._numba.chunks import parallel
from .._numba.config import jit, pjit, prange
from ..activations.numba import sigmoid


# q clipped to [lo, hi]; a NaN stays NaN (as in np.clip), so it reaches the loss
@jit
def _clip(q, lo, hi):
    return lo if q < lo else (hi if q > hi else q)


# mse row: loss = mean((p - y)^2); d = (p - y) * c, c = 2 scale / K
@jit
def _mse_row(d, p, y, c):
    acc = p.dtype.type(0)
    for j in range(p.size):
        diff = p[j] - y[j]
        acc += diff * diff
        d[j] = diff * c
    return acc / p.dtype.type(p.size)


# sigmoid_bce row: loss = mean(softplus(a) - y a); d = (sigmoid(a) - y) * c, c = scale / K
@jit
def _sigmoid_bce_row(d, a, y, c):
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
def _binary_ce_row(d, probs, y, c, lo, hi):
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
def _categorical_ce_row(d, probs, y, scale, lo, hi):
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
        d[j] = (d[j] - dot) / total * scale
    return -acc


# loss = mean((pred - y)^2, axis=1); dpred = 2 (pred - y) / K * scale
@pjit
def mse(loss, dpred, pred, y, scale):
    n, k = pred.shape
    c = pred.dtype.type(2.0 * scale / k)
    if not parallel(n * k):
        for i in range(n):
            loss[i] = _mse_row(dpred[i], pred[i], y[i], c)
    else:
        for i in prange(n):
            loss[i] = _mse_row(dpred[i], pred[i], y[i], c)


# Binary cross-entropy on logits: loss = mean(softplus(a) - y a, axis=1); dlogits = (sigmoid(a) - y) / K * scale
@pjit
def sigmoid_bce(loss, dlogits, logits, y, scale):
    n, k = logits.shape
    c = logits.dtype.type(scale / k)
    if not parallel(n * k):
        for i in range(n):
            loss[i] = _sigmoid_bce_row(dlogits[i], logits[i], y[i], c)
    else:
        for i in prange(n):
            loss[i] = _sigmoid_bce_row(dlogits[i], logits[i], y[i], c)


# Binary cross-entropy on probabilities, clipped to [EPSILON, 1 - EPSILON] as Keras does
@pjit
def binary_ce_probs(loss, dprobs, probs, y, scale):
    n, k = probs.shape
    c = probs.dtype.type(scale / k)
    lo, hi = probs.dtype.type(EPSILON), probs.dtype.type(1 - EPSILON)
    if not parallel(n * k):
        for i in range(n):
            loss[i] = _binary_ce_row(dprobs[i], probs[i], y[i], c, lo, hi)
    else:
        for i in prange(n):
            loss[i] = _binary_ce_row(dprobs[i], probs[i], y[i], c, lo, hi)


# Categorical cross-entropy on probabilities: rows renormalised to sum 1, then clipped
@pjit
def categorical_ce_probs(loss, dprobs, probs, y, scale):
    n, k = probs.shape
    s = probs.dtype.type(scale)
    lo, hi = probs.dtype.type(EPSILON), probs.dtype.type(1 - EPSILON)
    if not parallel(n * k):
        for i in range(n):
            loss[i] = _categorical_ce_row(dprobs[i], probs[i], y[i], s, lo, hi)
    else:
        for i in prange(n):
            loss[i] = _categorical_ce_row(dprobs[i], probs[i], y[i], s, lo, hi)
