"""Conv2D, channels-last, and the output-size rule it shares with pooling."""
from .. import initializers
from ..utils import check_int, pair
from .base import Layer
from .core import ActivationMixin, _initializer_config, check_use_bias


def conv_output_size(size, k, stride, padding):
    """(output size, padding before) along one axis, as Keras/TensorFlow compute them."""
    if padding == "valid":
        return (size - k) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2


def check_padding(padding, owner):
    if padding not in ("valid", "same"):
        raise ValueError(f"{owner}(padding=...) expects 'valid' or 'same'. Received: padding={padding!r}")
    return padding


def check_image_shape(input_shape, owner):
    if len(input_shape) != 3:
        raise ValueError(f"{owner} expects inputs of shape (height, width, channels) per sample. "
                         f"Received: input_shape={tuple(input_shape)}")
    return input_shape


class Conv2D(ActivationMixin, Layer):
    """Conv2D(filters, kernel_size, strides=1, padding="valid"|"same", activation=None), channels-last.

    Input (H, W, C); kernel (kh, kw, C, filters); bias (filters,). "same" pads as Keras/TensorFlow do.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.filters = check_int("filters", filters, minimum=1, owner="Conv2D")
        self.kernel_size = pair("kernel_size", kernel_size, "Conv2D")
        self.strides = pair("strides", strides, "Conv2D")
        self.padding = check_padding(padding, "Conv2D")
        self._set_activation(activation)
        if self.activation == "softmax":
            raise ValueError("Conv2D(activation=...) does not support 'softmax' (it is row-wise over classes); "
                             "add Flatten/Dense(..., activation='softmax') instead. Received: activation='softmax'")
        self.use_bias = check_use_bias(use_bias, "Conv2D")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        h, w, c = check_image_shape(input_shape, "Conv2D")
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
        self._forward = self.lookup("conv2d_forward")
        self._backward = self.lookup("conv2d_backward")

    def buffers(self, n):
        return {"out": (self.buffer_shape(n), self.dtype), "dx": (self.buffer_shape(n, self.input_shape), self.dtype)}

    def forward(self, ctx, x, training):
        ctx.code, _ = self._codes(ctx.logits)
        ctx.x = x
        b = self.bias.value if self.bias is not None else None
        self._forward(ctx.out, x, self.kernel.value, b, *self.strides, self._ph, self._pw, ctx.code)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        dx = ctx.dx if need_dx else None
        db = self.bias.grad if self.bias is not None else None
        self._backward(dx, self.kernel.grad, db, dout, ctx.x, self.kernel.value, ctx.out,
                       *self.strides, self._ph, self._pw, ctx.code)
        return dx

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation,
                "use_bias": self.use_bias, **_initializer_config(self)}
