"""Dropout (rate 0.5) forward and backward at MNIST shapes, float32."""
import numpy as np
import pytest

SHAPES = pytest.mark.parametrize("shape", [(64, 256), (64, 24, 24, 6)], ids=["64x256", "64x24x24x6"])


def label(shape):
    return "x".join(map(str, shape))


@SHAPES
def test_dropout_forward(bench_op, rng, shape):
    x = rng.normal(size=shape).astype(np.float32)
    bench_op("dropout_forward", f"dropout_forward {label(shape)}",
             (np.empty_like(x), np.empty_like(x), x, 0.5, 12345))


@SHAPES
def test_dropout_backward(bench_op, rng, shape):
    dout = rng.normal(size=shape).astype(np.float32)
    mask = (rng.uniform(size=shape) >= 0.5).astype(np.float32) * 2
    bench_op("dropout_backward", f"dropout_backward {label(shape)}", (np.empty_like(dout), dout, mask))
