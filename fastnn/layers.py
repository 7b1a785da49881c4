"""Keras-style layers (channels-last) over the backend registry.

A layer declares its weights in build(); the model places trainable weights and their gradients in
two flat buffers (so an optimizer updates the whole model in one kernel call) and hands each layer
views into them. Kernels are looked up once, in resolve(). Workspaces (outputs, input gradients,
saved statistics) are allocated per batch size on first use and reused by every later step.

Legend: N batch; shapes given without N are per-sample, as Keras's input_shape.
"""
import numpy as np

from . import backend, initializers
from .kernels.activations.reference import CODES
from .utils import check_float, check_int, pair

# Activations a layer can apply; softmax is row-wise, the others element-wise (fused into the kernels).
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def conv_output_size(size, k, stride, padding):
    """(output size, padding before) along one axis, as Keras/TensorFlow compute them."""
    if padding == "valid":
        return (size - k) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2


def _activation_name(activation, owner):
    if activation is None:
        return "linear"
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return activation
    raise ValueError(f"{owner}(activation=...) expects one of {list(ACTIVATIONS)} or None. "
                     f"Received: activation={activation!r}")


def _padding(padding, owner):
    if padding not in ("valid", "same"):
        raise ValueError(f"{owner}(padding=...) expects 'valid' or 'same'. Received: padding={padding!r}")
    return padding


class Weight:
    """One weight of a layer: its Keras name, shape, initializer and whether the optimizer updates it."""

    def __init__(self, name, shape, initializer, trainable):
        self.name, self.shape, self.initializer, self.trainable = name, tuple(shape), initializer, trainable
        self.value = None   # an array (a view into the model's flat buffer when trainable)
        self.grad = None    # a view into the model's flat gradient buffer (trainable only)


class Layer:
    """Base class. Subclasses implement build(), and forward()/backward() on per-batch-size workspaces."""

    def __init__(self, name=None, input_shape=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}(name=...) expects a string. Received: name={name!r}")
        self.name = name
        self.weights_spec = []
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.output_shape = None
        self.built = False
        self.dtype = None
        self._ws = {}

    # -- construction -------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer, trainable=True):
        weight = Weight(name, shape, initializer, trainable)
        self.weights_spec.append(weight)
        return weight

    def build(self, input_shape):
        """Declare weights for this per-sample input shape and return the per-sample output shape."""
        return tuple(input_shape)

    def resolve(self):
        """Look the layer's kernels up in the registry (once per model build or backend change)."""

    def get_config(self):
        return {"name": self.name}

    # -- weights ------------------------------------------------------------------------------
    @property
    def weights(self):
        return [w.value for w in self.weights_spec]

    def get_weights(self):
        return [np.array(w.value) for w in self.weights_spec]

    def set_weights(self, values):
        values = list(values)
        if len(values) != len(self.weights_spec):
            raise ValueError(f"Layer {self.name!r} expects {len(self.weights_spec)} weight arrays. "
                             f"Received: {len(values)}")
        for spec, value in zip(self.weights_spec, values):
            value = np.asarray(value)
            if value.shape != spec.shape:
                raise ValueError(f"Layer {self.name!r} weight {spec.name!r} expects shape {spec.shape}. "
                                 f"Received: shape {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"Layer {self.name!r} weight {spec.name!r} contains NaN or inf")
            spec.value[...] = value

    def count_params(self):
        return int(sum(np.prod(w.shape, dtype=np.int64) for w in self.weights_spec))

    # -- workspaces ---------------------------------------------------------------------------
    def workspace(self, n):
        """The arrays this layer writes for a batch of n, allocated once per batch size."""
        ws = self._ws.get(n)
        if ws is None:
            if len(self._ws) >= 4:   # fit, its last short batch, predict and evaluate: keep a few
                self._ws.clear()
            ws = self._ws[n] = self.allocate(n)
        return ws

    def allocate(self, n):
        return {}

    def forward(self, x, training, logits=False):
        """x (N, *input_shape) -> (N, *output_shape). logits: skip a final softmax/sigmoid (fused into the loss)."""
        raise NotImplementedError

    def backward(self, dout, need_dx):
        """dout (N, *output_shape), which the layer may overwrite -> dx, or None when need_dx is False."""
        raise NotImplementedError

    def fuse_output_activation(self, kind):
        """Drop a final `kind` ("softmax"/"sigmoid") when computing logits; True if this layer applies it."""
        return False

    def output_activation(self):
        return None

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class InputLayer(Layer):
    """Declares the per-sample input shape, as keras.Input(shape=...) does in a Sequential model."""

    def __init__(self, shape=None, name=None, batch_size=None, input_shape=None):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input(shape=...) is required. Received: shape=None")
        if isinstance(shape, int):
            shape = (shape,)
        if (not isinstance(shape, (tuple, list)) or not shape
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise ValueError(f"Input(shape=...) expects a tuple of positive ints (without the batch axis). "
                             f"Received: shape={shape!r}")
        super().__init__(name=name, input_shape=tuple(int(s) for s in shape))

    def get_config(self):
        return {"name": self.name, "shape": list(self.input_shape)}


def Input(shape=None, name=None, batch_size=None):
    """keras.Input: the first element of a Sequential model, giving the per-sample input shape."""
    return InputLayer(shape=shape, name=name, batch_size=batch_size)


class _ActivationMixin:
    """Applies an activation after the layer's kernel: fused codes for element-wise ones, a softmax kernel else."""

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
        self._softmax_forward = backend.kernel("softmax_forward")
        self._softmax_backward = backend.kernel("softmax_backward")


class Dense(_ActivationMixin, Layer):
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
        if not isinstance(use_bias, bool):
            raise TypeError(f"Dense(use_bias=...) expects a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None
        return tuple(input_shape[:-1]) + (self.units,)

    def resolve(self):
        self._forward = backend.kernel("dense_forward")
        self._backward = backend.kernel("dense_backward")
        self._resolve_softmax()

    def allocate(self, n):
        shape = (n,) + self.output_shape
        ws = {"out": np.empty(shape, self.dtype), "dx": np.empty((n,) + self.input_shape, self.dtype)}
        if self.activation == "softmax":
            ws["z"] = np.empty(shape, self.dtype)
            ws["dz"] = np.empty(shape, self.dtype)
        return ws

    def forward(self, x, training, logits=False):
        ws = self.workspace(x.shape[0])
        code, softmax = self._codes(logits)
        self._x, self._softmax = x, softmax
        b = self.bias.value if self.bias is not None else None
        z = ws["z"] if softmax else ws["out"]
        self._forward(z.reshape(-1, self.units), x.reshape(-1, self.input_shape[-1]), self.kernel.value, b, code)
        self._code = code
        if softmax:
            self._softmax_forward(ws["out"].reshape(-1, self.units), z.reshape(-1, self.units))
        return ws["out"]

    def backward(self, dout, need_dx):
        ws = self.workspace(dout.shape[0])
        k = self.units
        if self._softmax:
            self._softmax_backward(ws["dz"].reshape(-1, k), dout.reshape(-1, k), ws["out"].reshape(-1, k))
            dout, out = ws["dz"], ws["z"]
        else:
            out = ws["out"]
        dx = ws["dx"] if need_dx else None
        db = self.bias.grad if self.bias is not None else None
        f = self.input_shape[-1]
        self._backward(None if dx is None else dx.reshape(-1, f), self.kernel.grad, db, dout.reshape(-1, k),
                       self._x.reshape(-1, f), self.kernel.value, out.reshape(-1, k), self._code)
        return dx

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer) or "glorot_uniform",
                "bias_initializer": initializers.name_of(self.bias_initializer) or "zeros"}


class Activation(_ActivationMixin, Layer):
    """Activation(name): applies "relu", "sigmoid", "tanh", "softmax" or "linear" element-wise / row-wise."""

    def __init__(self, activation, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if activation is None:
            raise ValueError(f"Activation(activation=...) expects one of {list(ACTIVATIONS)}. Received: None")
        self._set_activation(activation)

    def resolve(self):
        self._forward = backend.kernel("activation_forward")
        self._backward = backend.kernel("activation_backward")
        self._resolve_softmax()

    def allocate(self, n):
        shape = (n,) + self.output_shape
        return {"out": np.empty(shape, self.dtype), "dx": np.empty(shape, self.dtype)}

    def forward(self, x, training, logits=False):
        code, softmax = self._codes(logits)
        self._code, self._softmax = code, softmax
        if code == CODES["linear"] and not softmax:
            self._identity = True
            return x
        self._identity = False
        ws = self.workspace(x.shape[0])
        if softmax:
            k = self.output_shape[-1]
            self._softmax_forward(ws["out"].reshape(-1, k), x.reshape(-1, k))
        else:
            self._forward(ws["out"], x, code)
        return ws["out"]

    def backward(self, dout, need_dx):
        if self._identity:
            return dout
        ws = self.workspace(dout.shape[0])
        if self._softmax:
            k = self.output_shape[-1]
            self._softmax_backward(ws["dx"].reshape(-1, k), dout.reshape(-1, k), ws["out"].reshape(-1, k))
        else:
            self._backward(ws["dx"], dout, ws["out"], self._code)
        return ws["dx"]

    def get_config(self):
        return {"name": self.name, "activation": self.activation}


class Conv2D(_ActivationMixin, Layer):
    """Conv2D(filters, kernel_size, strides=1, padding="valid"|"same", activation=None), channels-last.

    Input (H, W, C); kernel (kh, kw, C, filters); bias (filters,). "same" pads as Keras/TensorFlow do.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.filters = check_int("filters", filters, minimum=1, owner="Conv2D")
        self.kernel_size = pair("kernel_size", kernel_size, "Conv2D")
        self.strides = pair("strides", strides, "Conv2D")
        self.padding = _padding(padding, "Conv2D")
        self._set_activation(activation)
        if self.activation == "softmax":
            raise ValueError("Conv2D(activation=...) does not support 'softmax' (it is row-wise over classes); "
                             "add Flatten/Dense(..., activation='softmax') instead. Received: activation='softmax'")
        if not isinstance(use_bias, bool):
            raise TypeError(f"Conv2D(use_bias=...) expects a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D expects inputs of shape (height, width, channels) per sample. "
                             f"Received: input_shape={tuple(input_shape)}")
        h, w, c = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        oh, self._ph = conv_output_size(h, kh, sh, self.padding)
        ow, self._pw = conv_output_size(w, kw, sw, self.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"Conv2D kernel_size={self.kernel_size} does not fit the input of size {(h, w)} "
                             f"with padding={self.padding!r}")
        self.kernel = self.add_weight("kernel", (kh, kw, c, self.filters), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) if self.use_bias else None
        return (oh, ow, self.filters)

    def resolve(self):
        self._forward = backend.kernel("conv2d_forward")
        self._backward = backend.kernel("conv2d_backward")

    def allocate(self, n):
        return {"out": np.empty((n,) + self.output_shape, self.dtype),
                "dx": np.empty((n,) + self.input_shape, self.dtype)}

    def forward(self, x, training, logits=False):
        ws = self.workspace(x.shape[0])
        self._code, _ = self._codes(logits)
        self._x = x
        b = self.bias.value if self.bias is not None else None
        self._forward(ws["out"], x, self.kernel.value, b, *self.strides, self._ph, self._pw, self._code)
        return ws["out"]

    def backward(self, dout, need_dx):
        ws = self.workspace(dout.shape[0])
        dx = ws["dx"] if need_dx else None
        db = self.bias.grad if self.bias is not None else None
        self._backward(dx, self.kernel.grad, db, dout, self._x, self.kernel.value, ws["out"],
                       *self.strides, self._ph, self._pw, self._code)
        return dx

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.name_of(self.kernel_initializer) or "glorot_uniform",
                "bias_initializer": initializers.name_of(self.bias_initializer) or "zeros"}


class MaxPooling2D(Layer):
    """MaxPooling2D(pool_size=2, strides=None, padding="valid"); strides default to pool_size, as Keras."""

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.pool_size = pair("pool_size", pool_size, "MaxPooling2D")
        self.strides = self.pool_size if strides is None else pair("strides", strides, "MaxPooling2D")
        self.padding = _padding(padding, "MaxPooling2D")

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"MaxPooling2D expects inputs of shape (height, width, channels) per sample. "
                             f"Received: input_shape={tuple(input_shape)}")
        h, w, c = input_shape
        oh, self._ph = conv_output_size(h, self.pool_size[0], self.strides[0], self.padding)
        ow, self._pw = conv_output_size(w, self.pool_size[1], self.strides[1], self.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"MaxPooling2D pool_size={self.pool_size} does not fit the input of size {(h, w)}")
        return (oh, ow, c)

    def resolve(self):
        self._forward = backend.kernel("maxpool2d_forward")
        self._backward = backend.kernel("maxpool2d_backward")

    def allocate(self, n):
        return {"out": np.empty((n,) + self.output_shape, self.dtype),
                "argmax": np.empty((n,) + self.output_shape, np.int32),
                "dx": np.empty((n,) + self.input_shape, self.dtype)}

    def forward(self, x, training, logits=False):
        ws = self.workspace(x.shape[0])
        self._forward(ws["out"], ws["argmax"], x, *self.pool_size, *self.strides, self._ph, self._pw)
        return ws["out"]

    def backward(self, dout, need_dx):
        if not need_dx:
            return None
        ws = self.workspace(dout.shape[0])
        self._backward(ws["dx"], dout, ws["argmax"], *self.pool_size, *self.strides, self._ph, self._pw)
        return ws["dx"]

    def get_config(self):
        return {"name": self.name, "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class Flatten(Layer):
    """Flatten(): (N, d1, d2, ...) -> (N, d1*d2*...), a view (no copy)."""

    def build(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training, logits=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_dx):
        return dout.reshape((dout.shape[0],) + self.input_shape) if need_dx else None


class Dropout(Layer):
    """Dropout(rate, seed=None): in training, zero a fraction `rate` of inputs and scale the rest by 1/(1-rate).

    Masks come from a counter-based stream: a seed and a step counter give the same mask on every backend.
    """

    def __init__(self, rate, seed=None, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.rate = check_float("rate", rate, low=0.0, high=1.0, high_open=True, owner="Dropout")
        self.seed = None if seed is None else check_int("seed", seed, minimum=0, owner="Dropout")
        self._step = 0
        self._seed_base = None

    def set_rng(self, rng):
        """Called by the model at build time: the stream's base seed (unless the layer was given one)."""
        self._seed_base = self.seed if self.seed is not None else int(rng.integers(0, 2 ** 62))

    def resolve(self):
        self._forward = backend.kernel("dropout_forward")
        self._backward = backend.kernel("dropout_backward")

    def allocate(self, n):
        shape = (n,) + self.output_shape
        return {"out": np.empty(shape, self.dtype), "mask": np.empty(shape, self.dtype)}

    def forward(self, x, training, logits=False):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        ws = self.workspace(x.shape[0])
        self._step += 1
        seed = (self._seed_base + self._step * 0x9E3779B97F4A7C15) % (1 << 63)
        self._forward(ws["out"], ws["mask"], x, self.rate, seed)
        return ws["out"]

    def backward(self, dout, need_dx):
        if not need_dx:
            return None
        if self._active:
            self._backward(dout, dout, self.workspace(dout.shape[0])["mask"])
        return dout

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}


class BatchNormalization(Layer):
    """BatchNormalization(momentum=0.99, epsilon=0.001) over the last (channel) axis, as Keras.

    Weights in Keras order: gamma, beta (trained), moving_mean, moving_variance (updated in training).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if axis not in (-1,):
            raise ValueError(f"BatchNormalization(axis=...) supports only the last axis (-1, channels-last). "
                             f"Received: axis={axis!r}")
        self.momentum = check_float("momentum", momentum, low=0.0, high=1.0, owner="BatchNormalization")
        self.epsilon = check_float("epsilon", epsilon, low=0.0, low_open=True, owner="BatchNormalization")

    def build(self, input_shape):
        c = input_shape[-1]
        self.gamma = self.add_weight("gamma", (c,), initializers.Ones())
        self.beta = self.add_weight("beta", (c,), initializers.Zeros())
        self.moving_mean = self.add_weight("moving_mean", (c,), initializers.Zeros(), trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,), initializers.Ones(), trainable=False)
        return tuple(input_shape)

    def resolve(self):
        self._forward = backend.kernel("batchnorm_forward")
        self._backward = backend.kernel("batchnorm_backward")

    def allocate(self, n):
        shape, c = (n,) + self.output_shape, self.output_shape[-1]
        return {"out": np.empty(shape, self.dtype), "dx": np.empty(shape, self.dtype),
                "mean": np.empty(c, self.dtype), "invstd": np.empty(c, self.dtype)}

    def forward(self, x, training, logits=False):
        ws = self.workspace(x.shape[0])
        c = self.output_shape[-1]
        self._x = x
        self._forward(ws["out"].reshape(-1, c), ws["mean"], ws["invstd"], x.reshape(-1, c), self.gamma.value,
                      self.beta.value, self.moving_mean.value, self.moving_variance.value, self.momentum,
                      self.epsilon, bool(training))
        return ws["out"]

    def backward(self, dout, need_dx):
        ws = self.workspace(dout.shape[0])
        c = self.output_shape[-1]
        self._backward(ws["dx"].reshape(-1, c), self.gamma.grad, self.beta.grad, dout.reshape(-1, c),
                       self._x.reshape(-1, c), ws["mean"], ws["invstd"], self.gamma.value)
        return ws["dx"] if need_dx else None

    def get_config(self):
        return {"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}


# Registry for deserialisation (fastnn.load_model): class name -> class.
LAYER_CLASSES = {cls.__name__: cls for cls in (
    InputLayer, Dense, Activation, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization)}
