"""BatchNormalization over the channel axis."""
import numpy as np

from .. import initializers
from ..utils import check_float
from .base import Layer


class BatchNormalization(Layer):
    """BatchNormalization(momentum=0.99, epsilon=0.001) over the last (channel) axis, as Keras.

    Weights in Keras order: gamma, beta (trained), moving_mean, moving_variance (updated in training).
    As in Keras, a frozen layer (trainable = False, from the next compile) runs in inference mode in
    training too: it normalises with the moving statistics and leaves them as they are, the fine-tuning
    behaviour Keras documents.
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
        self._forward = self.lookup("batchnorm_forward")
        self._backward = self.lookup("batchnorm_backward")

    def buffers(self, n):
        shape, c = self.buffer_shape(n), (self.output_shape[-1],)
        # mean, invstd: the batch's statistics per channel, which the backward pass reuses
        return {"out": (shape, self.dtype), "dx": (shape, self.dtype),
                "mean": (c, self.dtype), "invstd": (c, self.dtype)}

    def forward(self, ctx, x, training):
        c = self.output_shape[-1]
        training = training and not self.frozen
        ctx.x, ctx.training = x, training
        self._forward(ctx.out.reshape(-1, c), ctx.mean, ctx.invstd, x.reshape(-1, c), self.gamma.value,
                      self.beta.value, self.moving_mean.value, self.moving_variance.value, self.momentum,
                      self.epsilon, bool(training))
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        c = self.output_shape[-1]
        if not ctx.training:   # frozen: out = x * gamma / sqrt(moving_var + eps) + ..., constants
            if need_dx:
                scale = self.gamma.value / np.sqrt(self.moving_variance.value + self.epsilon)
                np.multiply(dout.reshape(-1, c), scale, out=ctx.dx.reshape(-1, c))
            return ctx.dx if need_dx else None
        self._backward(ctx.dx.reshape(-1, c), self.gamma.grad, self.beta.grad, dout.reshape(-1, c),
                       ctx.x.reshape(-1, c), ctx.mean, ctx.invstd, self.gamma.value)
        return ctx.dx if need_dx else None

    def get_config(self):
        return {"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}
