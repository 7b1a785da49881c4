"""Softmax and the fused softmax + cross-entropy.

Legend: N batch, K classes. logits (N,K), probs (N,K), y (N,K) float targets (one-hot or soft),
labels (N,) int class indices, loss (N,) per-sample loss, scale a float (1/N for a batch mean).
The fused ops compute the loss and its gradient in one go: dlogits = (softmax(logits) - y) * scale.
sparse_softmax_ce also clips each row's loss to [lo, hi] and counts the rows it classifies right, so a
training step scores its batch in one call.
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


# labels (N,) ints in [0, K); same as softmax_ce with y = onehot(labels), then a row whose loss is outside
# [lo, hi] gets the nearer bound as its loss and a zero gradient (Keras's cross-entropy on probabilities clips
# the label's probability to [eps, 1 - eps]: lo = -log(1 - eps), hi = -log(eps); -inf and inf clip nothing).
# Returns how many rows have their largest logit at the label (the first of equal ones, a NaN before any, as
# np.argmax): the batch's correct predictions.
def sparse_softmax_ce(loss, dlogits, logits, labels, scale, lo, hi):
    correct = int(np.count_nonzero(np.argmax(logits, axis=1) == labels))   # before dlogits may overwrite logits
    logp = _log_softmax(logits)
    rows = np.arange(logits.shape[0])
    loss[...] = -logp[rows, labels]
    dlogits[...] = np.exp(logp) * scale
    dlogits[rows, labels] -= scale
    clipped = (loss >= hi) | (loss <= lo)
    if clipped.any():
        dlogits[clipped] = 0
        np.clip(loss, lo, hi, out=loss)
    return correct
