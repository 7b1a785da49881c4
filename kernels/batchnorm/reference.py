"""Batch normalisation over the last axis (channels-last), Keras semantics.

Legend: M rows (N, or N*H*W for images: the layer passes a 2-D view), C channels.
Training: batch statistics (biased variance), moving = moving * momentum + batch * (1 - momentum).
Inference: the moving statistics. mean (C,) and invstd (C,) are saved for the backward.
"""
import numpy as np


# x (M,C) gamma beta moving_mean moving_var (C,) -> out (M,C); mean invstd (C,) written when training
def batchnorm_forward(out, mean, invstd, x, gamma, beta, moving_mean, moving_var, momentum, eps, training):
    if training:
        mean[...] = x.mean(axis=0)
        var = x.var(axis=0)
        invstd[...] = 1 / np.sqrt(var + eps)
        moving_mean *= momentum
        moving_mean += (1 - momentum) * mean
        moving_var *= momentum
        moving_var += (1 - momentum) * var
        out[...] = (x - mean) * (invstd * gamma) + beta
    else:
        out[...] = (x - moving_mean) * (gamma / np.sqrt(moving_var + eps)) + beta


# dout (M,C) -> dx (M,C), dgamma dbeta (C,)
def batchnorm_backward(dx, dgamma, dbeta, dout, x, mean, invstd, gamma):
    m = x.shape[0]
    xhat = (x - mean) * invstd
    np.sum(dout, axis=0, out=dbeta)
    np.sum(dout * xhat, axis=0, out=dgamma)
    dx[...] = (gamma * invstd / m) * (m * dout - dbeta - xhat * dgamma)
