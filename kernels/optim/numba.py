"""In-place optimizer updates (Numba): one pass over the flat buffers, Keras 3 rules as in the reference.

Legend: P parameters; param grad and every state buffer (P,), same dtype. Scalars are Python floats,
cast once to the buffers' type (as NumPy casts a Python float), so float32 buffers see float32 math only.
Each kernel runs its element loop serially, or over CHUNK-sized slices in parallel when chunks.parallel says so.
"""
import numpy as np

from .._numba.chunks import parallel
from .._numba.config import CHUNK, jit, pjit, prange


# (P,) slices; velocity None: plain SGD
@jit
def _sgd_flat(param, grad, velocity, lr, momentum, nesterov):
    if velocity is None:
        for i in range(param.size):
            param[i] -= lr * grad[i]
    elif nesterov:
        for i in range(param.size):
            v = velocity[i] * momentum - lr * grad[i]
            velocity[i] = v
            param[i] += momentum * v - lr * grad[i]
    else:
        for i in range(param.size):
            v = velocity[i] * momentum - lr * grad[i]
            velocity[i] = v
            param[i] += v


@pjit
def _sgd(param, grad, velocity, lr, momentum, nesterov):
    t = param.dtype.type
    lr, momentum = t(lr), t(momentum)
    n = param.size
    if not parallel(n):
        _sgd_flat(param, grad, velocity, lr, momentum, nesterov)
    else:
        for c in prange((n + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
            v = None if velocity is None else velocity[lo:hi]
            _sgd_flat(param[lo:hi], grad[lo:hi], v, lr, momentum, nesterov)


# velocity = momentum v - lr g; param += velocity (or, Nesterov, += momentum v - lr g); momentum 0: param -= lr g
# (velocity untouched, and it may be None)
@jit
def sgd_step(param, grad, velocity, lr, momentum, nesterov):
    if momentum == 0:
        _sgd(param, grad, None, lr, momentum, nesterov)
    else:
        _sgd(param, grad, velocity, lr, momentum, nesterov)


@jit
def _adagrad_flat(param, grad, accum, lr, eps):
    for i in range(param.size):
        g = grad[i]
        a = accum[i] + g * g
        accum[i] = a
        param[i] -= lr * g / np.sqrt(a + eps)


# accum += g^2; param -= lr g / sqrt(accum + eps)
@pjit
def adagrad_step(param, grad, accum, lr, eps):
    t = param.dtype.type
    lr, eps = t(lr), t(eps)
    n = param.size
    if not parallel(n):
        _adagrad_flat(param, grad, accum, lr, eps)
    else:
        for c in prange((n + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
            _adagrad_flat(param[lo:hi], grad[lo:hi], accum[lo:hi], lr, eps)


# (P,) slices; momentum_buf None: no momentum
@jit
def _rmsprop_flat(param, grad, velocity, momentum_buf, lr, rho, one_minus_rho, momentum, eps):
    for i in range(param.size):
        g = grad[i]
        v = velocity[i] * rho + one_minus_rho * g * g
        velocity[i] = v
        step = lr * g / np.sqrt(v + eps)
        if momentum_buf is None:
            param[i] -= step
        else:
            b = momentum_buf[i] * momentum + step
            momentum_buf[i] = b
            param[i] -= b


@pjit
def _rmsprop(param, grad, velocity, momentum_buf, lr, rho, momentum, eps):
    t = param.dtype.type
    lr, rho, one_minus_rho, momentum, eps = t(lr), t(rho), t(1 - rho), t(momentum), t(eps)
    n = param.size
    if not parallel(n):
        _rmsprop_flat(param, grad, velocity, momentum_buf, lr, rho, one_minus_rho, momentum, eps)
    else:
        for c in prange((n + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
            b = None if momentum_buf is None else momentum_buf[lo:hi]
            _rmsprop_flat(param[lo:hi], grad[lo:hi], velocity[lo:hi], b, lr, rho, one_minus_rho, momentum, eps)


# velocity = rho v + (1 - rho) g^2; step = lr g / sqrt(velocity + eps);
# momentum > 0: buf = momentum buf + step, param -= buf; else param -= step (buf untouched, and it may be None)
@jit
def rmsprop_step(param, grad, velocity, momentum_buf, lr, rho, momentum, eps):
    if momentum > 0:
        _rmsprop(param, grad, velocity, momentum_buf, lr, rho, momentum, eps)
    else:
        _rmsprop(param, grad, velocity, None, lr, rho, momentum, eps)


@jit
def _adam_flat(param, grad, m, v, alpha, one_minus_beta1, one_minus_beta2, eps):
    for i in range(param.size):
        g = grad[i]
        mi = m[i] + (g - m[i]) * one_minus_beta1
        vi = v[i] + (g * g - v[i]) * one_minus_beta2
        m[i] = mi
        v[i] = vi
        param[i] -= alpha * mi / (np.sqrt(vi) + eps)


# m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); param -= alpha m / (sqrt(v) + eps)
# alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t): the bias corrections, computed once per step by the caller
@pjit
def adam_step(param, grad, m, v, alpha, beta1, beta2, eps):
    t = param.dtype.type
    alpha, one_minus_beta1, one_minus_beta2, eps = t(alpha), t(1 - beta1), t(1 - beta2), t(eps)
    n = param.size
    if not parallel(n):
        _adam_flat(param, grad, m, v, alpha, one_minus_beta1, one_minus_beta2, eps)
    else:
        for c in prange((n + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
            _adam_flat(param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi], alpha, one_minus_beta1, one_minus_beta2, eps)
