"""Dense forward and backward (relu fused) at the MLP 784-256-128-10 layer shapes, batch 64, float32."""
import numpy as np
import pytest

from fastnn.kernels.activations.reference import LINEAR, RELU

# (N, F, K, activation): the three layers of the MLP; the last one feeds softmax cross-entropy
LAYERS = [(64, 784, 256, RELU), (64, 256, 128, RELU), (64, 128, 10, LINEAR)]
SHAPES = pytest.mark.parametrize("shape", LAYERS, ids=[f"{n}x{f}->{k}" for n, f, k, _ in LAYERS])


def layer(rng, n, f, k):
    x = rng.normal(size=(n, f)).astype(np.float32)
    w = (rng.normal(size=(f, k)) / np.sqrt(f)).astype(np.float32)
    return x, w, np.full(k, 0.1, np.float32)


@SHAPES
def test_dense_forward(bench_op, rng, shape):
    n, f, k, act = shape
    x, w, b = layer(rng, n, f, k)
    bench_op("dense_forward", f"dense_forward {n}x{f}->{k}", (np.empty((n, k), np.float32), x, w, b, act))


@SHAPES
def test_dense_backward(bench_op, rng, shape):
    # dout is overwritten with dz = dout * relu'(out) on every call, which gives the same dz each time
    n, f, k, act = shape
    x, w, b = layer(rng, n, f, k)
    out = np.maximum(rng.normal(size=(n, k)), 0).astype(np.float32)
    dout = rng.normal(size=(n, k)).astype(np.float32)
    dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    bench_op("dense_backward", f"dense_backward {n}x{f}->{k}", (dx, dw, db, dout, x, w, out, act))
