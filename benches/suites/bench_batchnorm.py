"""Batch normalisation (training forward, backward) at MNIST shapes, float32.

(64,256): after the MLP's first dense layer; (50176,8): after a 28x28 'same' convolution with 8 filters,
batch 64, as the layer hands it over (N*H*W rows, channels-last).
"""
import numpy as np
import pytest

SHAPES = pytest.mark.parametrize("shape", [(64, 256), (64 * 28 * 28, 8)], ids=["64x256", "50176x8"])


def label(shape):
    return f"{shape[0]}x{shape[1]}"


def stats(c):
    # gamma beta moving_mean moving_var
    return np.ones(c, np.float32), np.zeros(c, np.float32), np.zeros(c, np.float32), np.ones(c, np.float32)


@SHAPES
def test_batchnorm_forward(bench_op, rng, shape):
    # training mode; the moving statistics move a little on each call, so the check runs on a fresh call
    c = shape[1]
    x = (rng.normal(size=shape) * 2 + 1).astype(np.float32)
    out, mean, invstd = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
    bench_op("batchnorm_forward", f"batchnorm_forward train {label(shape)}",
             (out, mean, invstd, x, *stats(c), 0.99, 1e-3, True), repeatable=False)


@SHAPES
def test_batchnorm_backward(bench_op, rng, shape):
    c = shape[1]
    x = (rng.normal(size=shape) * 2 + 1).astype(np.float32)
    mean = x.mean(axis=0)
    invstd = (1 / np.sqrt(x.var(axis=0) + 1e-3)).astype(np.float32)
    dout = rng.normal(size=shape).astype(np.float32)
    dx, dgamma, dbeta = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
    bench_op("batchnorm_backward", f"batchnorm_backward {label(shape)}",
             (dx, dgamma, dbeta, dout, x, mean, invstd, stats(c)[0]))
