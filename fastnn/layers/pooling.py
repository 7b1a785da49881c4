"""MaxPooling2D and GlobalAveragePooling2D, channels-last."""
import numpy as np

from ..utils import pair
from .base import Layer
from .convolutional import check_image_shape, check_padding, conv_output_size


class MaxPooling2D(Layer):
    """MaxPooling2D(pool_size=2, strides=None, padding="valid"); strides default to pool_size, as Keras."""

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.pool_size = pair("pool_size", pool_size, "MaxPooling2D")
        self.strides = self.pool_size if strides is None else pair("strides", strides, "MaxPooling2D")
        self.padding = check_padding(padding, "MaxPooling2D")

    def build(self, input_shape):
        h, w, c = check_image_shape(input_shape, "MaxPooling2D")
        oh, self._ph = conv_output_size(h, self.pool_size[0], self.strides[0], self.padding)
        ow, self._pw = conv_output_size(w, self.pool_size[1], self.strides[1], self.padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"MaxPooling2D pool_size={self.pool_size} does not fit the input of size {(h, w)}")
        return (oh, ow, c)

    def resolve(self):
        self._forward = self.lookup("maxpool2d_forward")
        self._backward = self.lookup("maxpool2d_backward")

    def buffers(self, n):
        # argmax: where in its window each output came from, for the backward pass
        return {"out": (self.buffer_shape(n), self.dtype), "argmax": (self.buffer_shape(n), np.int32),
                "dx": (self.buffer_shape(n, self.input_shape), self.dtype)}

    def forward(self, ctx, x, training):
        self._forward(ctx.out, ctx.argmax, x, *self.pool_size, *self.strides, self._ph, self._pw)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        if not need_dx:
            return None
        self._backward(ctx.dx, dout, ctx.argmax, *self.pool_size, *self.strides, self._ph, self._pw)
        return ctx.dx

    def get_config(self):
        return {"name": self.name, "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class GlobalAveragePooling2D(Layer):
    """GlobalAveragePooling2D(keepdims=False): each channel's mean over the image, (N, H, W, C) -> (N, C) (or
    (N, 1, 1, C) with keepdims), as Keras's. A reduction NumPy does into the layer's buffers."""

    def __init__(self, data_format=None, keepdims=False, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if data_format not in (None, "channels_last"):
            raise ValueError("GlobalAveragePooling2D(data_format=...): fastnn is channels-last only. "
                             f"Received: data_format={data_format!r}")
        if not isinstance(keepdims, bool):
            raise TypeError(f"GlobalAveragePooling2D(keepdims=...) expects a bool. Received: keepdims={keepdims!r}")
        self.keepdims = keepdims

    def build(self, input_shape):
        h, w, c = check_image_shape(input_shape, "GlobalAveragePooling2D")
        return (1, 1, c) if self.keepdims else (c,)

    def buffers(self, n):
        return {"out": (self.buffer_shape(n), self.dtype), "dx": (self.buffer_shape(n, self.input_shape), self.dtype)}

    def forward(self, ctx, x, training):
        np.mean(x, axis=(1, 2), out=ctx.out.reshape(len(x), -1))
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        if not need_dx:
            return None
        h, w, c = self.input_shape
        np.divide(dout.reshape(len(dout), 1, 1, c), self.dtype.type(h * w), out=ctx.dx)
        return ctx.dx

    def get_config(self):
        return {"name": self.name, "data_format": "channels_last", "keepdims": self.keepdims}
