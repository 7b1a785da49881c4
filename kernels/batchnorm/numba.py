"""Batch normalisation over the last axis (Numba), Keras semantics as in the reference.

Legend: M rows (N, or N*H*W for images: the layer passes a 2-D view), C channels.
Column sums run over the row chunks of kernels/design.py's chunk_count, in parallel when there are several.
Each chunk's mean and squared deviations are taken in two passes while the chunk is in cache, and the
chunks are merged with Chan's formula: a variance as accurate as the reference's two passes over x, for
one pass from memory.
"""
import numpy as np

from .._numba.chunks import chunk_count, chunk_rows, sum_partials
from .._numba.config import jit, pjit, prange
from .._scratch import scratch


# x (rows,C) -> cmean (C,) its column means, cm2 (C,) its column sums of squared deviations from them
@jit
def _chunk_moments(x, cmean, cm2):
    cmean[:] = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            cmean[j] += x[i, j]
    cmean /= x.dtype.type(x.shape[0])
    cm2[:] = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            d = x[i, j] - cmean[j]
            cm2[j] += d * d


# cmean cm2 (chunks, C) of the chunks of m rows -> mean, var (C,)
# Chan, Golub, LeVeque: merge (count, mean, M2) of the chunks seen so far with the next chunk's
@jit
def _merge_moments(mean, var, cmean, cm2, m):
    t = mean.dtype.type
    chunks = cmean.shape[0]
    mean[:] = cmean[0]
    var[:] = cm2[0]  # the running M2 until the end
    seen = chunk_rows(0, chunks, m)[1]
    for k in range(1, chunks):
        lo, hi = chunk_rows(k, chunks, m)
        count = hi - lo
        total = seen + count
        wb, wab = t(count / total), t(seen * count / total)
        for j in range(mean.size):
            delta = cmean[k, j] - mean[j]
            mean[j] += delta * wb
            var[j] += cm2[k, j] + delta * delta * wab
        seen = total
    var /= t(m)


# x (M,C) -> mean (C,), var (C,) biased; cmean cm2 (chunks, C): the chunks' partial moments (scratch)
@pjit
def _moments(mean, var, x, cmean, cm2):
    m, chunks = x.shape[0], cmean.shape[0]
    if chunks == 1:
        _chunk_moments(x, cmean[0], cm2[0])
    else:
        for k in prange(chunks):
            lo, hi = chunk_rows(k, chunks, m)
            _chunk_moments(x[lo:hi], cmean[k], cm2[k])
    _merge_moments(mean, var, cmean, cm2, m)


# out x (rows,C): out = (x - center) * a + beta
@jit
def _affine_rows(out, x, center, a, beta):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = (x[i, j] - center[j]) * a[j] + beta[j]


@pjit
def _affine(out, x, center, a, beta, chunks):
    if chunks == 1:
        _affine_rows(out, x, center, a, beta)
    else:
        for k in prange(chunks):
            lo, hi = chunk_rows(k, chunks, x.shape[0])
            _affine_rows(out[lo:hi], x[lo:hi], center, a, beta)


# the chunks of x (M,C): two partial sums of C each
@jit
def _chunks(m, c):
    return chunk_count(m, m * c, 2 * c)


# the scratch of a call, x (M,C): the chunks' two partial sums (chunks, C) each, then two (C,) vectors
def _work_sizes(x):
    m, c = x.shape
    return 2 * _chunks(m, c) * c + 2 * c, 0, np.int64


# (chunks, C) twice, (C,) twice: the parts of a call's scratch
@jit
def _work_parts(work, m, c):
    chunks = _chunks(m, c)
    a = work[:chunks * c].reshape(chunks, c)
    b = work[chunks * c:2 * chunks * c].reshape(chunks, c)
    return a, b, work[2 * chunks * c:2 * chunks * c + c], work[2 * chunks * c + c:2 * chunks * c + 2 * c]


@jit
def _forward(out, mean, invstd, x, gamma, beta, moving_mean, moving_var, momentum, eps, training, work):
    t = x.dtype.type
    cmean, cm2, var, scale = _work_parts(work, x.shape[0], x.shape[1])
    if training:
        _moments(mean, var, x, cmean, cm2)
        for j in range(mean.size):
            invstd[j] = t(1) / np.sqrt(var[j] + t(eps))
            # moving * momentum + (1 - momentum) * batch, the constants rounded to x's type as NumPy does
            moving_mean[j] = moving_mean[j] * t(momentum) + t(1 - momentum) * mean[j]
            moving_var[j] = moving_var[j] * t(momentum) + t(1 - momentum) * var[j]
            scale[j] = invstd[j] * gamma[j]
        _affine(out, x, mean, scale, beta, cmean.shape[0])
    else:
        for j in range(mean.size):
            scale[j] = gamma[j] / np.sqrt(moving_var[j] + t(eps))
        _affine(out, x, moving_mean, scale, beta, cmean.shape[0])


# x (M,C) gamma beta moving_mean moving_var (C,) -> out (M,C); mean invstd (C,) written when training
def batchnorm_forward(out, mean, invstd, x, gamma, beta, moving_mean, moving_var, momentum, eps, training):
    work, _ = scratch(("batchnorm", x.shape, x.dtype.char), _work_sizes, x)
    _forward(out, mean, invstd, x, gamma, beta, moving_mean, moving_var, momentum, eps, training, work)


# dout x (rows,C) -> sb (C,) column sums of dout, sg (C,) column sums of dout * (x - mean)
@jit
def _chunk_grad_sums(dout, x, mean, sb, sg):
    sb[:] = 0
    sg[:] = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            g = dout[i, j]
            sb[j] += g
            sg[j] += g * (x[i, j] - mean[j])


# dgamma <- dgamma * invstd (it held sum dout (x - mean)); scale (C,) <- gamma invstd / m, the factor of dx
@jit
def _dx_scales(scale, dgamma, gamma, invstd, mf):
    for j in range(scale.size):
        dgamma[j] *= invstd[j]
        scale[j] = gamma[j] * invstd[j] / mf


# dx dout x (rows,C): dx = k * (m dout - dbeta - xhat dgamma), xhat = (x - mean) invstd
@jit
def _dx_rows(dx, dout, x, mean, invstd, k, mf, dbeta, dgamma):
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            xhat = (x[i, j] - mean[j]) * invstd[j]
            dx[i, j] = k[j] * (mf * dout[i, j] - dbeta[j] - xhat * dgamma[j])


@pjit
def _backward(dx, dgamma, dbeta, dout, x, mean, invstd, gamma, work):
    m, c = x.shape
    sb, sg, scale, _ = _work_parts(work, m, c)
    chunks = sb.shape[0]
    if chunks == 1:
        _chunk_grad_sums(dout, x, mean, sb[0], sg[0])
    else:
        for k in prange(chunks):
            lo, hi = chunk_rows(k, chunks, m)
            _chunk_grad_sums(dout[lo:hi], x[lo:hi], mean, sb[k], sg[k])
    sum_partials(dbeta, sb)
    sum_partials(dgamma, sg)
    mf = x.dtype.type(m)
    _dx_scales(scale, dgamma, gamma, invstd, mf)
    if chunks == 1:
        _dx_rows(dx, dout, x, mean, invstd, scale, mf, dbeta, dgamma)
    else:
        for k in prange(chunks):
            lo, hi = chunk_rows(k, chunks, m)
            _dx_rows(dx[lo:hi], dout[lo:hi], x[lo:hi], mean, invstd, scale, mf, dbeta, dgamma)


# dout (M,C) -> dx (M,C) (may be dout), dgamma dbeta (C,)
def batchnorm_backward(dx, dgamma, dbeta, dout, x, mean, invstd, gamma):
    work, _ = scratch(("batchnorm", x.shape, x.dtype.char), _work_sizes, x)
    _backward(dx, dgamma, dbeta, dout, x, mean, invstd, gamma, work)
