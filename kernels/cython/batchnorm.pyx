"""Batch normalisation over the last axis (channels-last), Keras semantics (fastnn.reference.batchnorm).

Legend: M rows (N, or N*H*W for images: the layer passes a 2-D view), C channels.
Training: batch statistics (biased variance), moving = moving * momentum + batch * (1 - momentum).
Inference: the moving statistics. mean (C,) and invstd (C,) are saved for the backward.
Column sums run over fixed chunks of rows (see _shared.n_chunks) in float64, then add the chunks in order:
accurate for large M and the same for every thread count.
"""
import numpy as np

from cython.parallel cimport prange

from _shared cimport bind_threads, fastnn_threads, floating, fsqrt, GRAIN, n_chunks

bind_threads()


# x (M,C) gamma beta moving_mean moving_var (C,) -> out (M,C); mean invstd (C,) written when training
def batchnorm_forward(floating[:, ::1] out, floating[::1] mean, floating[::1] invstd, const floating[:, ::1] x,
                      const floating[::1] gamma, const floating[::1] beta, floating[::1] moving_mean,
                      floating[::1] moving_var, double momentum, double eps, bint training):
    cdef Py_ssize_t c, nc = x.shape[1]
    cdef floating mom = momentum, one_mom = 1 - momentum, eps_ = eps, var
    cdef double[::1] sums, centre
    # out = (x - shift) * mult + beta, per channel
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] shift = np.empty(nc, dtype), mult = np.empty(nc, dtype)
    if training:
        centre = _column_sums(x, x, NO_CENTRE, mean, invstd, SUM)
        for c in range(nc):
            centre[c] /= x.shape[0]
            mean[c] = centre[c]
        sums = _column_sums(x, x, centre, mean, invstd, SQUARED_DEVIATION)  # around the float64 mean
        for c in range(nc):
            var = sums[c] / x.shape[0]
            invstd[c] = 1 / fsqrt(var + eps_)
            moving_mean[c] = moving_mean[c] * mom + one_mom * mean[c]
            moving_var[c] = moving_var[c] * mom + one_mom * var
            shift[c] = mean[c]
            mult[c] = invstd[c] * gamma[c]
    else:
        for c in range(nc):
            shift[c] = moving_mean[c]
            mult[c] = gamma[c] / fsqrt(moving_var[c] + eps_)
    _normalize(out, x, shift, mult, beta)


# dout (M,C) -> dx (M,C), dgamma dbeta (C,)
def batchnorm_backward(floating[:, ::1] dx, floating[::1] dgamma, floating[::1] dbeta, const floating[:, ::1] dout,
                       const floating[:, ::1] x, const floating[::1] mean, const floating[::1] invstd,
                       const floating[::1] gamma):
    cdef Py_ssize_t i, c, m = x.shape[0], nc = x.shape[1]
    cdef floating fm = m, xhat
    cdef double[::1] sums = _column_sums(dout, x, NO_CENTRE, mean, invstd, SUM)
    for c in range(nc):
        dbeta[c] = sums[c]
    sums = _column_sums(dout, x, NO_CENTRE, mean, invstd, TIMES_XHAT)
    for c in range(nc):
        dgamma[c] = sums[c]
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] coef = np.empty(nc, dtype)
    for c in range(nc):
        coef[c] = gamma[c] * invstd[c] / fm
    for i in prange(m, nogil=True, num_threads=fastnn_threads(), schedule="static", use_threads_if=m * nc >= GRAIN):
        for c in range(nc):
            xhat = (x[i, c] - mean[c]) * invstd[c]
            dx[i, c] = coef[c] * (fm * dout[i, c] - dbeta[c] - xhat * dgamma[c])


# out (M,C) = (x - shift) * mult + beta
cdef void _normalize(floating[:, ::1] out, const floating[:, ::1] x, const floating[::1] shift,
                     const floating[::1] mult, const floating[::1] beta) noexcept:
    cdef Py_ssize_t i, c, m = x.shape[0], nc = x.shape[1]
    for i in prange(m, nogil=True, num_threads=fastnn_threads(), schedule="static", use_threads_if=m * nc >= GRAIN):
        for c in range(nc):
            out[i, c] = (x[i, c] - shift[c]) * mult[c] + beta[c]


cdef double[::1] NO_CENTRE = None  # centre for the modes that take none

cdef enum:
    SUM = 0                # a
    SQUARED_DEVIATION = 1  # (a - centre)^2, centre float64 (C,)
    TIMES_XHAT = 2         # a * (b - mean) * invstd: dout * xhat in the backward


# The float64 column sums (C,) of a (M,C), or of a function of a and b (M,C) chosen by mode.
cdef double[::1] _column_sums(const floating[:, ::1] a, const floating[:, ::1] b, double[::1] centre,
                              const floating[::1] mean, const floating[::1] invstd, int mode):
    cdef Py_ssize_t m = a.shape[0], nc = a.shape[1], ch, i, c, r0, r1
    cdef Py_ssize_t nch = n_chunks(m, nc, nc)
    cdef double[:, ::1] part = np.zeros((nch, nc))
    cdef double[::1] total = np.zeros(nc)
    cdef double d
    for ch in prange(nch, nogil=True, num_threads=fastnn_threads(), schedule="static", use_threads_if=nch > 1):
        r0 = ch * m // nch
        r1 = (ch + 1) * m // nch
        for i in range(r0, r1):
            if mode == SUM:
                for c in range(nc):
                    part[ch, c] += a[i, c]
            elif mode == SQUARED_DEVIATION:
                for c in range(nc):
                    d = a[i, c] - centre[c]
                    part[ch, c] += d * d
            else:
                for c in range(nc):
                    part[ch, c] += a[i, c] * ((b[i, c] - mean[c]) * invstd[c])
    for ch in range(nch):
        for c in range(nc):
            total[c] += part[ch, c]
    return total
