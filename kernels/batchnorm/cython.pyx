"""Batch normalisation over the last axis (channels-last), Keras semantics (kernels/batchnorm/reference.py).

Legend: M rows (N, or N*H*W for images: the layer passes a 2-D view), C channels.
Training: batch statistics (biased variance), moving = moving * momentum + batch * (1 - momentum).
Inference: the moving statistics. mean (C,) and invstd (C,) are saved for the backward.

Statistics in float64 over blocks of BLOCK rows: a block's mean, then its squared deviations while it is
still in cache (the two-pass variance, as np.var, at the memory traffic of one pass), merged into the
running mean and M2 of its chunk (Chan et al.), the chunks then merged in order. Chunks are fixed by the
sizes (kernels/design.py's chunk_count), so the statistics are the same for every thread count. The backward's two sums
share one pass.
"""
import numpy as np

from ..design import chunk_count

from cython.parallel cimport prange

from _shared cimport GRAIN, bind_threads, fastnn_threads, floating, fsqrt

bind_threads()

cdef enum:
    BLOCK = 256  # rows per block: 32 KiB of float32 at C = 32


# x (M,C) gamma beta moving_mean moving_var (C,) -> out (M,C); mean invstd (C,) written when training
def batchnorm_forward(floating[:, ::1] out, floating[::1] mean, floating[::1] invstd, const floating[:, ::1] x,
                      const floating[::1] gamma, const floating[::1] beta, floating[::1] moving_mean,
                      floating[::1] moving_var, double momentum, double eps, bint training):
    cdef Py_ssize_t c, nc = x.shape[1]
    cdef floating mom = momentum, one_mom = 1 - momentum, eps_ = eps, var
    cdef double[:, ::1] stats
    # out = (x - shift) * mult + beta, per channel
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] shift = np.empty(nc, dtype), mult = np.empty(nc, dtype)
    if training:
        stats = _mean_m2(x)
        for c in range(nc):
            mean[c] = stats[0, c]
            var = stats[1, c] / x.shape[0] if x.shape[0] else 0
            invstd[c] = 1 / fsqrt(var + eps_)
            moving_mean[c] = moving_mean[c] * mom + one_mom * mean[c]
            moving_var[c] = moving_var[c] * mom + one_mom * var
            shift[c] = mean[c]
            mult[c] = invstd[c] * gamma[c]
    else:
        for c in range(nc):
            shift[c] = moving_mean[c]
            mult[c] = gamma[c] / fsqrt(moving_var[c] + eps_)
    cdef Py_ssize_t i, m = x.shape[0]
    for i in prange(m, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=m * nc >= GRAIN):
        for c in range(nc):
            out[i, c] = (x[i, c] - shift[c]) * mult[c] + beta[c]


# dout (M,C) -> dx (M,C), dgamma dbeta (C,)
def batchnorm_backward(floating[:, ::1] dx, floating[::1] dgamma, floating[::1] dbeta, const floating[:, ::1] dout,
                       const floating[:, ::1] x, const floating[::1] mean, const floating[::1] invstd,
                       const floating[::1] gamma):
    cdef Py_ssize_t i, c, ch, r0, r1, m = x.shape[0], nc = x.shape[1]
    cdef Py_ssize_t nch = chunk_count(m, m * nc, 2 * nc)
    cdef floating fm = m, xhat
    # part[ch, 0] = sum of dout, part[ch, 1] = sum of dout * xhat, over the chunk's rows
    cdef double[:, :, ::1] part = np.zeros((nch, 2, nc))
    for ch in prange(nch, nogil=True, num_threads=fastnn_threads(),
                     schedule="static", use_threads_if=nch > 1):
        r0 = ch * m // nch
        r1 = (ch + 1) * m // nch
        for i in range(r0, r1):
            for c in range(nc):
                part[ch, 0, c] += dout[i, c]
                part[ch, 1, c] += dout[i, c] * ((x[i, c] - mean[c]) * invstd[c])
    for c in range(nc):
        dbeta[c] = _chunk_total(part, 0, c)
        dgamma[c] = _chunk_total(part, 1, c)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] coef = np.empty(nc, dtype)
    for c in range(nc):
        coef[c] = gamma[c] * invstd[c] / fm
    for i in prange(m, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=m * nc >= GRAIN):
        for c in range(nc):
            xhat = (x[i, c] - mean[c]) * invstd[c]
            dx[i, c] = coef[c] * (fm * dout[i, c] - dbeta[c] - xhat * dgamma[c])


cdef double _chunk_total(const double[:, :, ::1] part, Py_ssize_t which, Py_ssize_t c) noexcept:
    cdef double total = 0
    cdef Py_ssize_t ch
    for ch in range(part.shape[0]):
        total += part[ch, which, c]
    return total


# The float64 column means and M2 (sum of squared deviations) of x (M,C): stats (2, C)
cdef double[:, ::1] _mean_m2(const floating[:, ::1] x):
    cdef Py_ssize_t m = x.shape[0], nc = x.shape[1], nch = chunk_count(m, m * nc, 4 * nc)
    cdef Py_ssize_t ch, blk, i, c, r0, r1, b0, b1, seen
    # per chunk: [0] running mean, [1] running M2, [2] block mean, [3] block M2
    cdef double[:, :, ::1] part = np.zeros((nch, 4, nc))
    cdef double[:, ::1] stats = np.zeros((2, nc))
    cdef double d
    for ch in prange(nch, nogil=True, num_threads=fastnn_threads(),
                     schedule="static", use_threads_if=nch > 1):
        r0 = ch * m // nch
        r1 = (ch + 1) * m // nch
        for blk in range((r1 - r0 + BLOCK - 1) // BLOCK):
            b0 = r0 + blk * BLOCK
            b1 = min(r1, b0 + BLOCK)
            for c in range(nc):
                part[ch, 2, c] = 0
                part[ch, 3, c] = 0
            for i in range(b0, b1):
                for c in range(nc):
                    part[ch, 2, c] += x[i, c]
            for c in range(nc):
                part[ch, 2, c] /= b1 - b0
            for i in range(b0, b1):
                for c in range(nc):
                    d = x[i, c] - part[ch, 2, c]
                    part[ch, 3, c] += d * d
            _merge(part[ch, 0], part[ch, 1], b0 - r0, part[ch, 2], part[ch, 3], b1 - b0)
    seen = 0
    for ch in range(nch):
        r0 = ch * m // nch
        r1 = (ch + 1) * m // nch
        _merge(stats[0], stats[1], seen, part[ch, 0], part[ch, 1], r1 - r0)
        seen += r1 - r0
    return stats


# (mean, m2) of na rows += (mean_b, m2_b) of nb more rows, per channel (Chan, Golub and LeVeque)
cdef void _merge(double[::1] mean, double[::1] m2, Py_ssize_t na, const double[::1] mean_b, const double[::1] m2_b,
                 Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t c
    cdef double delta, n = na + nb
    if nb == 0:
        return
    for c in range(mean.shape[0]):
        delta = mean_b[c] - mean[c]
        mean[c] += delta * nb / n
        m2[c] += m2_b[c] + delta * delta * na * nb / n
