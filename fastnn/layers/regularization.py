"""Dropout, with masks from a counter-based stream."""
from ..utils import check_float, check_int
from .base import Layer

# odd 64-bit constant (2**64 / golden ratio): consecutive steps give seeds far apart
_SEED_STRIDE = 0x9E3779B97F4A7C15


class DropoutStream:
    """How many training steps have drawn a mask: the trainer keeps one per Dropout layer and model build."""

    def __init__(self):
        self.step = 0


class Dropout(Layer):
    """Dropout(rate, seed=None): in training, zero a fraction `rate` of inputs and scale the rest by 1/(1-rate).

    Masks come from a counter-based stream: a seed and a step counter give the same mask on every backend.
    The seed is the layer's config; the counter is training state, kept by the trainer (ctx.state).
    """

    def __init__(self, rate, seed=None, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.rate = check_float("rate", rate, low=0.0, high=1.0, high_open=True, owner="Dropout")
        self.seed = None if seed is None else check_int("seed", seed, minimum=0, owner="Dropout")
        self._seed_base = None

    def set_rng(self, rng):
        """Called by the model at build time: the stream's base seed (unless the layer was given one)."""
        self._seed_base = self.seed if self.seed is not None else int(rng.integers(0, 2 ** 62))

    def resolve(self):
        self._forward = self.lookup("dropout_forward")
        self._backward = self.lookup("dropout_backward")

    def initial_state(self):
        return DropoutStream()

    def buffers(self, n):
        shape = self.buffer_shape(n)
        return {"out": (shape, self.dtype), "mask": (shape, self.dtype)}

    def forward(self, ctx, x, training):
        ctx.active = training and self.rate > 0
        if not ctx.active:
            return x
        stream = ctx.state
        stream.step += 1
        seed = (self._seed_base + stream.step * _SEED_STRIDE) % (1 << 63)
        self._forward(ctx.out, ctx.mask, x, self.rate, seed)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        if not need_dx:
            return None
        if ctx.active:
            self._backward(dout, dout, ctx.mask)
        return dout

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}
