"""Losses other than softmax cross-entropy, each fused with its gradient.

Legend: N batch, K outputs. pred/logits (N,K), y (N,K) float targets, loss (N,) per-sample loss
(Keras reduces over the last axis with a mean for mse and binary cross-entropy, with a sum for
categorical cross-entropy), dpred (N,K) the gradient of sum(loss) * scale.
"""
import numpy as np

# Keras clips probabilities to [EPSILON, 1 - EPSILON] before taking logs.
EPSILON = 1e-7


# The bounds that clipping a probability to [EPSILON, 1 - EPSILON] in dtype puts on its -log: (-log(1 - eps),
# -log(eps)), the lo and hi of sparse_softmax_ce for a model that outputs probabilities
def clip_bounds(dtype):
    eps = np.dtype(dtype).type(EPSILON)
    return float(-np.log(1 - eps)), float(-np.log(eps))


# loss = mean((pred - y)^2, axis=1); dpred = 2 (pred - y) / K * scale
def mse(loss, dpred, pred, y, scale):
    diff = pred - y
    loss[...] = (diff * diff).mean(axis=1)
    dpred[...] = diff * (2.0 * scale / pred.shape[1])


# Binary cross-entropy on logits: loss = mean(softplus(a) - y a, axis=1); dlogits = (sigmoid(a) - y) / K * scale
def sigmoid_bce(loss, dlogits, logits, y, scale):
    a = logits
    softplus = np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))
    loss[...] = (softplus - y * a).mean(axis=1)
    sig = np.exp(-np.logaddexp(0, -a))
    dlogits[...] = (sig - y) * (scale / a.shape[1])


# Binary cross-entropy on probabilities, clipped as Keras does; the gradient is zero where clipping bites.
def binary_ce_probs(loss, dprobs, probs, y, scale):
    p = np.clip(probs, EPSILON, 1 - EPSILON)
    loss[...] = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    inside = (probs > EPSILON) & (probs < 1 - EPSILON)
    dprobs[...] = ((p - y) / (p * (1 - p))) * inside * (scale / probs.shape[1])


# Categorical cross-entropy on probabilities: Keras renormalises rows to sum 1, then clips.
def categorical_ce_probs(loss, dprobs, probs, y, scale):
    total = probs.sum(axis=1, keepdims=True)
    q = probs / total
    p = np.clip(q, EPSILON, 1 - EPSILON)
    loss[...] = -(y * np.log(p)).sum(axis=1)
    inside = (q > EPSILON) & (q < 1 - EPSILON)
    # d/dq of -sum y log q, then through q = probs / total
    dq = -(y / p) * inside
    dprobs[...] = (dq - (dq * q).sum(axis=1, keepdims=True)) / total * scale
