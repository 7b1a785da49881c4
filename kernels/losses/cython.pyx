"""Losses other than softmax cross-entropy, each fused with its gradient (kernels/losses/reference.py).

Legend: N batch, K outputs. pred/logits (N,K), y (N,K) float targets, loss (N,) per-sample loss
(Keras reduces over the last axis with a mean for mse and binary cross-entropy, with a sum for
categorical cross-entropy), dpred (N,K) the gradient of sum(loss) * scale. One row per task.
Scalars are cast to the array's precision first, as NumPy does with a Python float and a float32 array.
"""
from cython.parallel cimport prange

from _shared cimport bind_threads, fabsv, fastnn_threads, fexp_neg, floating, flog, flog1p, GRAIN, sigmoid

bind_threads()

# Keras clips probabilities to [EPSILON, 1 - EPSILON] before taking logs (reference.losses.EPSILON).
cdef double EPSILON = 1e-7


# loss = mean((pred - y)^2, axis=1); dpred = 2 (pred - y) / K * scale
def mse(floating[::1] loss, floating[:, ::1] dpred, const floating[:, ::1] pred, const floating[:, ::1] y,
        double scale):
    cdef Py_ssize_t i, k, n = pred.shape[0], m = pred.shape[1]
    cdef floating g = 2.0 * scale / m, diff, total
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        total = 0
        for k in range(m):
            diff = pred[i, k] - y[i, k]
            total = total + diff * diff
            dpred[i, k] = diff * g
        loss[i] = total / m


# Binary cross-entropy on logits: loss = mean(softplus(a) - y a, axis=1); dlogits = (sigmoid(a) - y) / K * scale
def sigmoid_bce(floating[::1] loss, floating[:, ::1] dlogits, const floating[:, ::1] logits,
                const floating[:, ::1] y, double scale):
    cdef Py_ssize_t i, k, n = logits.shape[0], m = logits.shape[1]
    cdef floating g = scale / m, a, softplus, total
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        total = 0
        for k in range(m):
            a = logits[i, k]
            softplus = (a if a > 0 else 0) + flog1p(fexp_neg(-fabsv(a)))
            total = total + (softplus - y[i, k] * a)
            dlogits[i, k] = (sigmoid(a) - y[i, k]) * g
        loss[i] = total / m


# Binary cross-entropy on probabilities, clipped as Keras does; the gradient is zero where clipping bites.
def binary_ce_probs(floating[::1] loss, floating[:, ::1] dprobs, const floating[:, ::1] probs,
                    const floating[:, ::1] y, double scale):
    cdef Py_ssize_t i, k, n = probs.shape[0], m = probs.shape[1]
    cdef floating lo = EPSILON, hi = 1 - EPSILON, g = scale / m, q, p, total
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        total = 0
        for k in range(m):
            q = probs[i, k]
            p = _clip(q, lo, hi)
            total = total + (y[i, k] * flog(p) + (1 - y[i, k]) * flog(1 - p))
            dprobs[i, k] = ((p - y[i, k]) / (p * (1 - p))) * (q > lo and q < hi) * g
        loss[i] = -(total / m)


# Categorical cross-entropy on probabilities: Keras renormalises rows to sum 1, then clips.
def categorical_ce_probs(floating[::1] loss, floating[:, ::1] dprobs, const floating[:, ::1] probs,
                         const floating[:, ::1] y, double scale):
    cdef Py_ssize_t i, k, n = probs.shape[0], m = probs.shape[1]
    cdef floating lo = EPSILON, hi = 1 - EPSILON, sc = scale, q, p, dq, row_total, total, dq_dot_q
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        row_total = 0
        for k in range(m):
            row_total = row_total + probs[i, k]
        total = 0
        dq_dot_q = 0
        for k in range(m):
            q = probs[i, k] / row_total
            p = _clip(q, lo, hi)
            total = total + y[i, k] * flog(p)
            # d/dq of -sum y log q, kept in dprobs until the row's dq . q is known
            dq = -(y[i, k] / p) * (q > lo and q < hi)
            dq_dot_q = dq_dot_q + dq * q
            dprobs[i, k] = dq
        loss[i] = -total
        for k in range(m):
            # through q = probs / total
            dprobs[i, k] = (dprobs[i, k] - dq_dot_q) / row_total * sc


# NaN passes through, as in np.clip
cdef inline floating _clip(floating x, floating lo, floating hi) noexcept nogil:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
