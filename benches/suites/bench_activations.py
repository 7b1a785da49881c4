"""Activations forward and backward at MNIST shapes, float32: a dense layer's output and a conv layer's."""
import numpy as np
import pytest

from fastnn.kernels.activations.reference import CODES, activation_forward

# (64,256): the MLP's first hidden layer; (64,24,24,6): LeNet's first convolution, channels-last
SHAPES = pytest.mark.parametrize("shape", [(64, 256), (64, 24, 24, 6)], ids=["64x256", "64x24x24x6"])
ACTS = pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])


def label(shape):
    return "x".join(map(str, shape))


@ACTS
@SHAPES
def test_activation_forward(bench_op, rng, name, shape):
    x = (rng.normal(size=shape) * 3).astype(np.float32)
    bench_op("activation_forward", f"activation_forward {name} {label(shape)}",
             (np.empty_like(x), x, CODES[name]))


@ACTS
@SHAPES
def test_activation_backward(bench_op, rng, name, shape):
    out = np.empty(shape, np.float32)
    activation_forward(out, (rng.normal(size=shape) * 3).astype(np.float32), CODES[name])
    dout = rng.normal(size=shape).astype(np.float32)
    bench_op("activation_backward", f"activation_backward {name} {label(shape)}",
             (np.empty_like(out), dout, out, CODES[name]))
