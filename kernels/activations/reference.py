"""Element-wise activations, identified by small integer codes so kernels can fuse them.

Legend: any shape; out, x, dout, dx all the same shape.
The backward uses the activation's *output* (relu' = out > 0, sigmoid' = out (1 - out), tanh' = 1 - out^2),
so a layer keeps only its output, not its input.
"""
import numpy as np

LINEAR, RELU, SIGMOID, TANH = 0, 1, 2, 3
CODES = {"linear": LINEAR, "relu": RELU, "sigmoid": SIGMOID, "tanh": TANH}


def sigmoid(x):
    """Numerically stable logistic function (no overflow for large |x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


# out, x: same shape
def activation_forward(out, x, act):
    if act == LINEAR:
        out[...] = x
    elif act == RELU:
        np.maximum(x, 0, out=out)
    elif act == SIGMOID:
        out[...] = sigmoid(x)
    elif act == TANH:
        np.tanh(x, out=out)
    else:
        raise ValueError(f"unknown activation code {act}")


# dx, dout, out: same shape; dx may be dout (in place)
def activation_backward(dx, dout, out, act):
    if act == LINEAR:
        dx[...] = dout
    elif act == RELU:
        dx[...] = dout * (out > 0)
    elif act == SIGMOID:
        dx[...] = dout * out * (1 - out)
    elif act == TANH:
        dx[...] = dout * (1 - out * out)
    else:
        raise ValueError(f"unknown activation code {act}")
