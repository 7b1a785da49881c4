"""Input, Dense, Activation and Flatten, and the activations a layer can apply after its kernel."""
import math

import numpy as np

from .. import initializers
from ..kernels.activations.reference import CODES
from ..utils import check_int
from .base import KerasTensor, Layer

# Activations a layer can apply; softmax is row-wise, the others element-wise (fused into the kernels).
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def _activation_name(activation, owner):
    if activation is None:
        return "linear"
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return activation
    raise ValueError(f"{owner}(activation=...) expects one of {list(ACTIVATIONS)} or None. "
                     f"Received: activation={activation!r}")


def _check_shape(shape):
    if isinstance(shape, int):
        shape = (shape,)
    if (not isinstance(shape, (tuple, list)) or not shape
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise ValueError(f"Input(shape=...) expects a tuple of positive ints (without the batch axis). "
                         f"Received: shape={shape!r}")
    return tuple(int(s) for s in shape)


class InputLayer(Layer):
    """Declares the per-sample input shape, as keras.Input(shape=...) does in a Sequential model.

    batch_size is kept and shown (the model's input_shape starts with it, as in Keras); fastnn's kernels
    take any batch size, so batches of another size are accepted all the same.
    """

    def __init__(self, shape=None, name=None, batch_size=None, input_shape=None):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input(shape=...) is required. Received: shape=None")
        super().__init__(name=name, input_shape=_check_shape(shape))
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1, "Input")
        self.symbolic = KerasTensor(self.input_shape, self)   # what a functional model's layers are called on

    @property
    def shape(self):
        return (self.batch_size,) + self.input_shape

    def get_config(self):
        return {"name": self.name, "shape": list(self.input_shape), "batch_size": self.batch_size}


def Input(shape=None, name=None, batch_size=None):
    """keras.Input: the first element of a Sequential model, giving the per-sample input shape, or the input of
    a functional model, fastnn.Model(inputs=Input(...), outputs=...)."""
    return InputLayer(shape=shape, name=name, batch_size=batch_size)


class ActivationMixin:
    """Applies an activation after the layer's kernel: fused codes for element-wise ones, a softmax kernel else.

    Whether a final softmax/sigmoid is dropped (the loss computes from logits) is decided at compile time
    (fuse_output_activation) and applied in the contexts whose ctx.logits is set.
    """

    def _set_activation(self, activation):
        self.activation = _activation_name(activation, type(self).__name__)
        self._fused_tail = False

    def _codes(self, logits):
        """(element-wise code fused into the kernel, whether a softmax follows) for this pass."""
        act = self.activation
        if logits and self._fused_tail:
            act = "linear"
        if act == "softmax":
            return CODES["linear"], True
        return CODES[act], False

    def fuse_output_activation(self, kind):
        self._fused_tail = self.activation == kind
        return self._fused_tail

    def output_activation(self):
        return self.activation

    def _resolve_softmax(self):
        self._softmax_forward = self.lookup("softmax_forward")
        self._softmax_backward = self.lookup("softmax_backward")


def _initializer_config(layer):
    return {"kernel_initializer": initializers.name_of(layer.kernel_initializer) or "glorot_uniform",
            "bias_initializer": initializers.name_of(layer.bias_initializer) or "zeros"}


def check_use_bias(use_bias, owner):
    if not isinstance(use_bias, bool):
        raise TypeError(f"{owner}(use_bias=...) expects a bool. Received: use_bias={use_bias!r}")
    return use_bias


class Dense(ActivationMixin, Layer):
    """Dense(units, activation=None, use_bias=True, kernel_initializer="glorot_uniform"): x @ kernel + bias.

    Applies to the last axis of its input (as Keras); kernel (in, units), bias (units,).
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None, input_shape=None, input_dim=None):
        if input_dim is not None and input_shape is None:
            input_shape = (check_int("input_dim", input_dim, 1, "Dense"),)
        super().__init__(name=name, input_shape=input_shape)
        self.units = check_int("units", units, minimum=1, owner="Dense")
        self._set_activation(activation)
        self.use_bias = check_use_bias(use_bias, "Dense")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None
        return tuple(input_shape[:-1]) + (self.units,)

    def resolve(self):
        self._forward = self.lookup("dense_forward")
        self._backward = self.lookup("dense_backward")
        self._resolve_softmax()

    def buffers(self, n):
        out = (self.buffer_shape(n), self.dtype)
        buffers = {"out": out, "dx": (self.buffer_shape(n, self.input_shape), self.dtype)}
        if self.activation == "softmax":
            buffers["z"] = buffers["dz"] = out   # the pre-softmax scores and their gradient
        return buffers

    def forward(self, ctx, x, training):
        code, softmax = self._codes(ctx.logits)
        ctx.x, ctx.code, ctx.softmax = x, code, softmax
        b = self.bias.value if self.bias is not None else None
        z = ctx.z if softmax else ctx.out
        self._forward(z.reshape(-1, self.units), x.reshape(-1, self.input_shape[-1]), self.kernel.value, b, code)
        if softmax:
            self._softmax_forward(ctx.out.reshape(-1, self.units), z.reshape(-1, self.units))
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        k = self.units
        if ctx.softmax:
            self._softmax_backward(ctx.dz.reshape(-1, k), dout.reshape(-1, k), ctx.out.reshape(-1, k))
            dout, out = ctx.dz, ctx.z
        else:
            out = ctx.out
        dx = ctx.dx if need_dx else None
        db = self.bias.grad if self.bias is not None else None
        f = self.input_shape[-1]
        self._backward(None if dx is None else dx.reshape(-1, f), self.kernel.grad, db, dout.reshape(-1, k),
                       ctx.x.reshape(-1, f), self.kernel.value, out.reshape(-1, k), ctx.code)
        return dx

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                **_initializer_config(self)}


class Activation(ActivationMixin, Layer):
    """Activation(name): applies "relu", "sigmoid", "tanh", "softmax" or "linear" element-wise / row-wise."""

    def __init__(self, activation, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if activation is None:
            raise ValueError(f"Activation(activation=...) expects one of {list(ACTIVATIONS)}. Received: None")
        self._set_activation(activation)

    def resolve(self):
        self._forward = self.lookup("activation_forward")
        self._backward = self.lookup("activation_backward")
        self._resolve_softmax()

    def buffers(self, n):
        shape = self.buffer_shape(n)
        return {"out": (shape, self.dtype), "dx": (shape, self.dtype)}

    def forward(self, ctx, x, training):
        code, softmax = self._codes(ctx.logits)
        ctx.code, ctx.softmax = code, softmax
        ctx.identity = code == CODES["linear"] and not softmax
        if ctx.identity:
            return x
        if softmax:
            k = self.output_shape[-1]
            self._softmax_forward(ctx.out.reshape(-1, k), x.reshape(-1, k))
        else:
            self._forward(ctx.out, x, code)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        if ctx.identity:
            return dout
        if ctx.softmax:
            k = self.output_shape[-1]
            self._softmax_backward(ctx.dx.reshape(-1, k), dout.reshape(-1, k), ctx.out.reshape(-1, k))
        else:
            self._backward(ctx.dx, dout, ctx.out, ctx.code)
        return ctx.dx

    def get_config(self):
        return {"name": self.name, "activation": self.activation}


class Flatten(Layer):
    """Flatten(): (N, d1, d2, ...) -> (N, d1*d2*...), a view (no copy)."""

    def build(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, ctx, x, training):
        return x.reshape(x.shape[0], -1)

    def backward(self, ctx, dout, need_dx):
        return dout.reshape((dout.shape[0],) + self.input_shape) if need_dx else None


class Reshape(Layer):
    """Reshape(target_shape): (N, *input_shape) -> (N, *target_shape) in C order, a view (no copy), as
    keras.layers.Reshape; one entry of target_shape may be -1, inferred from the input's size."""

    def __init__(self, target_shape, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        if (not isinstance(target_shape, (tuple, list)) or not target_shape
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and (s > 0 or s == -1)
                           for s in target_shape)
                or sum(s == -1 for s in target_shape) > 1):
            raise ValueError("Reshape(target_shape=...) expects a tuple of positive ints, at most one of them -1. "
                             f"Received: target_shape={target_shape!r}")
        self.target_shape = tuple(int(s) for s in target_shape)

    def build(self, input_shape):
        size, known = math.prod(input_shape), math.prod(s for s in self.target_shape if s != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"Reshape: an input of shape {(None,) + tuple(input_shape)} ({size} values per "
                                 f"sample) cannot take target_shape {self.target_shape}")
            return tuple(size // known if s == -1 else s for s in self.target_shape)
        if known != size:
            raise ValueError(f"Reshape: an input of shape {(None,) + tuple(input_shape)} ({size} values per sample) "
                             f"cannot take target_shape {self.target_shape} ({known} values)")
        return self.target_shape

    def forward(self, ctx, x, training):
        return x.reshape((x.shape[0],) + self.output_shape)

    def backward(self, ctx, dout, need_dx):
        return dout.reshape((dout.shape[0],) + self.input_shape) if need_dx else None

    def get_config(self):
        return {"name": self.name, "target_shape": list(self.target_shape)}


class Rescaling(Layer):
    """Rescaling(scale, offset=0.0): x * scale + offset element-wise, as keras.layers.Rescaling (images in
    0..255 to 0..1 with scale=1/255). NumPy's ufuncs into the layer's buffers: no kernel of its own."""

    def __init__(self, scale, offset=0.0, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        for arg, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise ValueError(f"Rescaling({arg}=...) expects a finite number. Received: {arg}={value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def buffers(self, n):
        shape = self.buffer_shape(n)
        return {"out": (shape, self.dtype), "dx": (shape, self.dtype)}

    def forward(self, ctx, x, training):
        np.multiply(x, self.dtype.type(self.scale), out=ctx.out)
        if self.offset:
            ctx.out += self.dtype.type(self.offset)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        if not need_dx:
            return None
        np.multiply(dout, self.dtype.type(self.scale), out=ctx.dx)
        return ctx.dx

    def get_config(self):
        return {"name": self.name, "scale": self.scale, "offset": self.offset}
