"""Softmax and the fused softmax + cross-entropy (Numba), one row at a time, rows in parallel.

Legend: N batch, K classes. logits (N,K), probs (N,K), y (N,K) float targets (one-hot or soft),
labels (N,) int64 class indices, loss (N,) per-sample loss, scale a float (1/N for a batch mean).
Each row: its max, then exp(x - max) and their sum (log-sum-exp), then loss and gradient in one pass.
"""
import numpy as np

from .._numba.chunks import parallel_above_grain
from .._numba.config import jit, prange


# x (K,) -> e (K,) = exp(x - max(x)); returns (max, sum of e). e may be x.
@jit
def _shifted_exp(e, x):
    m = x[0]
    for j in range(1, x.size):
        if x[j] > m:
            m = x[j]
    s = x.dtype.type(0)
    for j in range(x.size):
        v = np.exp(x[j] - m)
        e[j] = v
        s += v
    return m, s


# one row of softmax_ce: loss of the row, dl (K,) = (softmax(x) - y) * scale
@jit
def _ce_row(dl, x, y, scale):
    m, s = _shifted_exp(dl, x)
    logs = np.log(s)
    inv = x.dtype.type(1) / s
    loss = x.dtype.type(0)
    for j in range(x.size):
        loss -= y[j] * ((x[j] - m) - logs)
        dl[j] = (dl[j] * inv - y[j]) * scale
    return loss


# one row of sparse_softmax_ce: label an index in [0, K); its loss, clipped to [lo, hi] (where it is, dl = 0),
# and 1 when its largest logit (the first of equal ones, a NaN before any, as np.argmax) is the label's
@jit
def _sparse_ce_row(dl, x, label, scale, lo, hi):
    best, top = 0, x[0]
    if top == top:
        for j in range(1, x.size):
            if x[j] > top or x[j] != x[j]:
                best, top = j, x[j]
                if top != top:
                    break
    picked = x[label]
    m, s = _shifted_exp(dl, x)
    loss = np.log(s) - (picked - m)
    if loss >= hi or loss <= lo:
        dl[:] = 0
        loss = hi if loss >= hi else lo
    else:
        inv_scaled = scale / s
        for j in range(x.size):
            dl[j] *= inv_scaled
        dl[label] -= scale
    return loss, 1 if best == label else 0


@jit
def _softmax_row(p, x):
    _, s = _shifted_exp(p, x)
    inv = x.dtype.type(1) / s
    for j in range(x.size):
        p[j] *= inv


@jit
def _softmax_backward_row(dx, dout, out):
    dot = out.dtype.type(0)
    for j in range(out.size):
        dot += dout[j] * out[j]
    for j in range(out.size):
        dx[j] = out[j] * (dout[j] - dot)


# out (N,K) = softmax(x) row-wise
@parallel_above_grain("x")
def softmax_forward(out, x):
    n, k = x.shape
    for i in prange(n):
        _softmax_row(out[i], x[i])


# dx (N,K) = out * (dout - sum(dout * out, axis=1))
@parallel_above_grain("out")
def softmax_backward(dx, dout, out):
    n, k = out.shape
    for i in prange(n):
        _softmax_backward_row(dx[i], dout[i], out[i])


# loss (N,) = -sum(y * log_softmax(logits)); dlogits (N,K) = (softmax(logits) - y) * scale
@parallel_above_grain("logits")
def softmax_ce(loss, dlogits, logits, y, scale):
    n, k = logits.shape
    scale = logits.dtype.type(scale)
    for i in prange(n):
        loss[i] = _ce_row(dlogits[i], logits[i], y[i], scale)


# labels (N,) int64 in [0, K); same as softmax_ce with y = onehot(labels); a row whose loss is outside [lo, hi]
# gets the nearer bound and a zero gradient; returns the rows whose largest logit is the label's
@parallel_above_grain("logits")
def sparse_softmax_ce(loss, dlogits, logits, labels, scale, lo, hi):
    n, k = logits.shape
    for i in range(n):
        # unchecked, a bad label would write outside dlogits; the reference's indexing raises for
        # labels >= K, and a negative label is refused here rather than wrapped around
        if labels[i] < 0 or labels[i] >= k:
            raise IndexError("sparse_softmax_ce: a label is outside [0, K)")
    t = logits.dtype.type
    scale, lo, hi = t(scale), t(lo), t(hi)
    correct = 0
    for i in prange(n):
        row_loss, hit = _sparse_ce_row(dlogits[i], logits[i], labels[i], scale, lo, hi)
        loss[i] = row_loss
        correct += hit
    return correct
