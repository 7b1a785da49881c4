"""Softmax and the fused softmax + cross-entropy.

Legend: N batch, K classes. logits (N,K), probs (N,K), y (N,K) float targets (one-hot or soft),
labels (N,) int class indices, loss (N,) per-sample loss, scale a float (1/N for a batch mean).
The fused ops compute the loss and its gradient in one go: dlogits = (softmax(logits) - y) * scale.
"""
import numpy as np


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# out (N,K) = softmax(x) row-wise
def softmax_forward(out, x):
    shifted = x - x.max(axis=1, keepdims=True)
    np.exp(shifted, out=out)
    out /= out.sum(axis=1, keepdims=True)


# dx (N,K) = out * (dout - sum(dout * out, axis=1))
def softmax_backward(dx, dout, out):
    dx[...] = out * (dout - (dout * out).sum(axis=1, keepdims=True))


# loss (N,) = -sum(y * log_softmax(logits)); dlogits (N,K) = (softmax(logits) - y) * scale
def softmax_ce(loss, dlogits, logits, y, scale):
    logp = _log_softmax(logits)
    loss[...] = -(y * logp).sum(axis=1)
    dlogits[...] = (np.exp(logp) - y) * scale


# labels (N,) ints in [0, K); same as softmax_ce with y = onehot(labels)
def sparse_softmax_ce(loss, dlogits, logits, labels, scale):
    logp = _log_softmax(logits)
    rows = np.arange(logits.shape[0])
    loss[...] = -logp[rows, labels]
    dlogits[...] = np.exp(logp) * scale
    dlogits[rows, labels] -= scale
