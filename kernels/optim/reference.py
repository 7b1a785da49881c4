"""In-place optimizer updates over flat buffers (one call per model, not per tensor), Keras 3 rules.

Legend: P parameters; param grad and every state buffer (P,), same dtype. Scalars are Python floats.
"""
import numpy as np


# velocity = momentum v - lr g; param += velocity (or, Nesterov, += momentum v - lr g); momentum 0: param -= lr g
def sgd_step(param, grad, velocity, lr, momentum, nesterov):
    if momentum == 0:
        param -= lr * grad
        return
    velocity *= momentum
    velocity -= lr * grad
    if nesterov:
        param += momentum * velocity - lr * grad
    else:
        param += velocity


# accum += g^2; param -= lr g / sqrt(accum + eps)
def adagrad_step(param, grad, accum, lr, eps):
    accum += grad * grad
    param -= lr * grad / np.sqrt(accum + eps)


# velocity = rho v + (1 - rho) g^2; step = lr g / sqrt(velocity + eps);
# momentum > 0: buf = momentum buf + step, param -= buf; else param -= step
def rmsprop_step(param, grad, velocity, momentum_buf, lr, rho, momentum, eps):
    velocity *= rho
    velocity += (1 - rho) * grad * grad
    step = lr * grad / np.sqrt(velocity + eps)
    if momentum > 0:
        momentum_buf *= momentum
        momentum_buf += step
        param -= momentum_buf
    else:
        param -= step


# m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); param -= alpha m / (sqrt(v) + eps)
# alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t): the bias corrections, computed once per step by the caller
def adam_step(param, grad, m, v, alpha, beta1, beta2, eps):
    m += (grad - m) * (1 - beta1)
    v += (grad * grad - v) * (1 - beta2)
    param -= alpha * m / (np.sqrt(v) + eps)
