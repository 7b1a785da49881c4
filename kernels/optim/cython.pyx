"""In-place optimizer updates over flat buffers (kernels/optim/reference.py), Keras 3 rules.

Legend: P parameters; param grad and every state buffer (P,), same dtype. Scalars are Python floats, cast
to the buffers' precision first (as NumPy does) and each update is the reference's expression, element-wise.
"""
from cython.parallel cimport prange

from _shared cimport bind_threads, fastnn_threads, floating, fsqrt, GRAIN

bind_threads()


# velocity = momentum v - lr g; param += velocity (or, Nesterov, += momentum v - lr g); momentum 0: param -= lr g
# velocity may be None when momentum is 0
def sgd_step(floating[::1] param, const floating[::1] grad, floating[::1] velocity, double lr, double momentum,
             bint nesterov):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating lr_ = lr, mom = momentum, v
    if momentum == 0:
        for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                        schedule="static", use_threads_if=n >= GRAIN):
            param[i] -= lr_ * grad[i]
        return
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        v = velocity[i] * mom - lr_ * grad[i]
        velocity[i] = v
        if nesterov:
            param[i] += mom * v - lr_ * grad[i]
        else:
            param[i] += v


# accum += g^2; param -= lr g / sqrt(accum + eps)
def adagrad_step(floating[::1] param, const floating[::1] grad, floating[::1] accum, double lr, double eps):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating lr_ = lr, eps_ = eps, a
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        a = accum[i] + grad[i] * grad[i]
        accum[i] = a
        param[i] -= lr_ * grad[i] / fsqrt(a + eps_)


# velocity = rho v + (1 - rho) g^2; step = lr g / sqrt(velocity + eps);
# momentum > 0: buf = momentum buf + step, param -= buf; else param -= step (momentum_buf may be None)
def rmsprop_step(floating[::1] param, const floating[::1] grad, floating[::1] velocity, floating[::1] momentum_buf,
                 double lr, double rho, double momentum, double eps):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating lr_ = lr, rho_ = rho, one_rho = 1 - rho, mom = momentum, eps_ = eps, v, step
    cdef bint use_momentum = momentum > 0
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        v = velocity[i] * rho_ + one_rho * grad[i] * grad[i]
        velocity[i] = v
        step = lr_ * grad[i] / fsqrt(v + eps_)
        if use_momentum:
            step = momentum_buf[i] * mom + step
            momentum_buf[i] = step
        param[i] -= step


# m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); param -= alpha m / (sqrt(v) + eps)
# alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t): the bias corrections, computed once per step by the caller
def adam_step(floating[::1] param, const floating[::1] grad, floating[::1] m, floating[::1] v, double alpha,
              double beta1, double beta2, double eps):
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating alpha_ = alpha, one_b1 = 1 - beta1, one_b2 = 1 - beta2, eps_ = eps, g, mi, vi
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n >= GRAIN):
        g = grad[i]
        mi = m[i] + (g - m[i]) * one_b1
        vi = v[i] + (g * g - v[i]) * one_b2
        m[i] = mi
        v[i] = vi
        param[i] -= alpha_ * mi / (fsqrt(vi) + eps_)
