"""Softmax and the fused softmax + cross-entropy (kernels/softmax_ce/reference.py), one row per task.

Legend: N batch, K classes. logits (N,K), probs (N,K), y (N,K) float targets (one-hot or soft),
labels (N,) int64 class indices, loss (N,) per-sample loss, scale a float (1/N for a batch mean).
Each row is shifted by its maximum before exp, so no logit overflows. out may be x and dlogits may be logits:
each element is read before it is written (dx of softmax_backward may be dout).
"""
from libc.stdint cimport int64_t

from cython.parallel cimport prange

from _shared cimport bind_threads, fastnn_threads, fexp_neg, floating, flog, GRAIN

bind_threads()


# out (N,K) = softmax(x) row-wise
def softmax_forward(floating[:, ::1] out, const floating[:, ::1] x):
    cdef Py_ssize_t i, k, n = x.shape[0], m = x.shape[1]
    cdef floating mx, total
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        mx = x[i, _row_argmax(x, i)]
        total = 0
        for k in range(m):
            out[i, k] = fexp_neg(x[i, k] - mx)
            total = total + out[i, k]
        for k in range(m):
            out[i, k] = out[i, k] / total


# dx (N,K) = out * (dout - sum(dout * out, axis=1)); dx may be dout
def softmax_backward(floating[:, ::1] dx, const floating[:, ::1] dout, const floating[:, ::1] out):
    cdef Py_ssize_t i, k, n = out.shape[0], m = out.shape[1]
    cdef floating dot
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        dot = 0
        for k in range(m):
            dot = dot + dout[i, k] * out[i, k]
        for k in range(m):
            dx[i, k] = out[i, k] * (dout[i, k] - dot)


# loss (N,) = -sum(y * log_softmax(logits)); dlogits (N,K) = (softmax(logits) - y) * scale
# With e = exp(logits - max) and lse = log(sum(e)): log_softmax = logits - max - lse, so
# loss = lse * sum(y) - sum(y * (logits - max)), and dlogits = (e / sum(e) - y) * scale: one exp per element.
def softmax_ce(floating[::1] loss, floating[:, ::1] dlogits, const floating[:, ::1] logits,
               const floating[:, ::1] y, double scale):
    cdef Py_ssize_t i, k, n = logits.shape[0], m = logits.shape[1]
    cdef floating sc = scale, mx, total, y_sum, y_dot
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        mx = logits[i, _row_argmax(logits, i)]
        total = 0
        y_sum = 0
        y_dot = 0
        for k in range(m):
            y_sum = y_sum + y[i, k]
            y_dot = y_dot + y[i, k] * (logits[i, k] - mx)
            dlogits[i, k] = fexp_neg(logits[i, k] - mx)  # read before written, so dlogits may be logits
            total = total + dlogits[i, k]
        loss[i] = flog(total) * y_sum - y_dot
        for k in range(m):
            dlogits[i, k] = (dlogits[i, k] / total - y[i, k]) * sc


# labels (N,) ints in [0, K); same as softmax_ce with y = onehot(labels); a row whose loss is outside [lo, hi]
# gets the nearer bound and a zero gradient. Returns how many rows have their largest logit at the label (the
# reference says which logit counts as largest).
def sparse_softmax_ce(floating[::1] loss, floating[:, ::1] dlogits, const floating[:, ::1] logits,
                      const int64_t[::1] labels, double scale, double lo, double hi):
    cdef Py_ssize_t i, n = logits.shape[0], m = logits.shape[1], correct = 0
    cdef floating sc = scale, clip_lo = lo, clip_hi = hi
    for i in range(n):  # a bad label would index outside the row: refuse it before any write
        if labels[i] < 0 or labels[i] >= m:
            raise IndexError(f"sparse_softmax_ce: label {labels[i]} at row {i} is outside [0, {m})")
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        correct += _sparse_ce_row(loss, dlogits, logits, labels, i, sc, clip_lo, clip_hi)
    return correct


# row i of sparse_softmax_ce; 1 when its largest logit is the label's
cdef inline int _sparse_ce_row(floating[::1] loss, floating[:, ::1] dlogits, const floating[:, ::1] logits,
                               const int64_t[::1] labels, Py_ssize_t i, floating sc, floating lo,
                               floating hi) noexcept nogil:
    cdef Py_ssize_t k, m = logits.shape[1], label = labels[i], best = _row_argmax(logits, i)
    cdef floating mx = logits[i, best], total = 0, picked = logits[i, label] - mx, v
    for k in range(m):
        dlogits[i, k] = fexp_neg(logits[i, k] - mx)  # read before written, so dlogits may be logits
        total = total + dlogits[i, k]
    v = flog(total) - picked
    if v >= hi or v <= lo:   # clipped: the bound, and no gradient
        loss[i] = hi if v >= hi else lo
        for k in range(m):
            dlogits[i, k] = 0
    else:
        loss[i] = v
        for k in range(m):
            dlogits[i, k] = dlogits[i, k] / total * sc
        dlogits[i, label] -= sc
    return best == label


# The index of row i's largest element: the first of equal ones, or the first NaN (as np.argmax). A row with
# a NaN then shifts by NaN and comes out NaN throughout, as it would with any maximum.
cdef inline Py_ssize_t _row_argmax(const floating[:, ::1] x, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t k, best = 0
    cdef floating mx = x[i, 0]
    if mx != mx:
        return 0
    for k in range(1, x.shape[1]):
        if x[i, k] != x[i, k]:
            return k
        if x[i, k] > mx:
            mx, best = x[i, k], k
    return best
