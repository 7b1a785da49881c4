"""Merge layers, as Keras's: Add, Subtract, Multiply, Average, Maximum (element-wise, inputs of one shape)
and Concatenate (along an axis), and their functional forms add(), concatenate(), ...

A merge layer reads several values (Node.inputs), so its forward takes a list of arrays and its backward
returns one gradient per input, each in a buffer of its own (the layers upstream may overwrite the
gradient they get, so two inputs never share one). They run on NumPy: element-wise passes over
activations, a small part of a step next to the matrix products around them.
"""
import numpy as np

from ..utils import check_int
from .base import Layer


class Merge(Layer):
    """Base class: several inputs of one shape -> one output of that shape."""

    merges = True

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(set(shapes)) != 1:
            raise ValueError(f"{type(self).__name__} expects inputs of one shape. Received: shapes "
                             f"{[(None,) + s for s in shapes]}")
        self.count = len(shapes)
        return shapes[0]

    def buffers(self, n):
        shape = self.buffer_shape(n)
        return {"out": (shape, self.dtype), **{f"dx{i}": (shape, self.dtype) for i in range(self.count)}}

    def backward(self, ctx, dout, need_dx):
        return [self._dx(ctx, dout, i) if need else None for i, need in enumerate(need_dx)]

    @staticmethod
    def _sum(ctx, xs):
        """ctx.out = the sum of xs."""
        np.copyto(ctx.out, xs[0])
        for x in xs[1:]:
            ctx.out += x
        return ctx.out

    def _dx(self, ctx, dout, i):
        """The gradient with respect to input i, in ctx's buffer dx<i>."""
        raise NotImplementedError


class Add(Merge):
    """Add(): the sum of its inputs."""

    def forward(self, ctx, xs, training):
        return self._sum(ctx, xs)

    def _dx(self, ctx, dout, i):
        dx = getattr(ctx, f"dx{i}")
        np.copyto(dx, dout)
        return dx


class Subtract(Merge):
    """Subtract(): its first input minus its second."""

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Subtract expects exactly 2 inputs. Received: {len(input_shape)} inputs")
        return super().build(input_shape)

    def forward(self, ctx, xs, training):
        return np.subtract(xs[0], xs[1], out=ctx.out)

    def _dx(self, ctx, dout, i):
        dx = getattr(ctx, f"dx{i}")
        if i == 0:
            np.copyto(dx, dout)
        else:
            np.negative(dout, out=dx)
        return dx


class Multiply(Merge):
    """Multiply(): the element-wise product of its inputs."""

    def forward(self, ctx, xs, training):
        ctx.xs = xs
        np.copyto(ctx.out, xs[0])
        for x in xs[1:]:
            ctx.out *= x
        return ctx.out

    def _dx(self, ctx, dout, i):
        dx = getattr(ctx, f"dx{i}")
        np.copyto(dx, dout)
        for j, x in enumerate(ctx.xs):
            if j != i:
                dx *= x
        return dx


class Average(Merge):
    """Average(): the element-wise mean of its inputs."""

    def forward(self, ctx, xs, training):
        self._sum(ctx, xs)
        ctx.out *= ctx.out.dtype.type(1 / len(xs))
        return ctx.out

    def _dx(self, ctx, dout, i):
        return np.multiply(dout, dout.dtype.type(1 / self.count), out=getattr(ctx, f"dx{i}"))


class Maximum(Merge):
    """Maximum(): the element-wise maximum of its inputs; the gradient goes to the first input holding it."""

    def buffers(self, n):
        shape = self.buffer_shape(n)
        return {**super().buffers(n), "winner": (shape, np.intp), "greater": (shape, np.bool_)}

    def forward(self, ctx, xs, training):
        np.copyto(ctx.out, xs[0])
        ctx.winner[...] = 0
        for k, x in enumerate(xs[1:], 1):
            np.greater(x, ctx.out, out=ctx.greater)
            np.copyto(ctx.winner, k, where=ctx.greater)
            np.maximum(ctx.out, x, out=ctx.out)
        return ctx.out

    def _dx(self, ctx, dout, i):
        return np.multiply(dout, np.equal(ctx.winner, i, out=ctx.greater), out=getattr(ctx, f"dx{i}"))


class Concatenate(Layer):
    """Concatenate(axis=-1): its inputs joined along `axis` (of the per-sample shape; not the batch axis)."""

    merges = True

    def __init__(self, axis=-1, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.axis = check_int("axis", axis, owner="Concatenate")

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if self.axis == 0 or not -rank - 1 < self.axis <= rank or any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate(axis={self.axis}) expects inputs of one rank with that axis (not the "
                             f"batch axis). Received: shapes {[(None,) + s for s in shapes]}")
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis   # in the per-sample shape
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) != 1:
            raise ValueError(f"Concatenate(axis={self.axis}) expects inputs whose shapes match but for that axis. "
                             f"Received: shapes {[(None,) + s for s in shapes]}")
        self._axis = axis + 1   # in the batch's shape
        self.bounds = np.cumsum([0] + [s[axis] for s in shapes])
        self.shapes = shapes
        return shapes[0][:axis] + (int(self.bounds[-1]),) + shapes[0][axis + 1:]

    def buffers(self, n):
        return {"out": (self.buffer_shape(n), self.dtype),
                **{f"dx{i}": (self.buffer_shape(n, s), self.dtype) for i, s in enumerate(self.shapes)}}

    def _part(self, a, i):
        index = [slice(None)] * a.ndim
        index[self._axis] = slice(self.bounds[i], self.bounds[i + 1])
        return a[tuple(index)]

    def forward(self, ctx, xs, training):
        for i, x in enumerate(xs):
            np.copyto(self._part(ctx.out, i), x)
        return ctx.out

    def backward(self, ctx, dout, need_dx):
        out = []
        for i, need in enumerate(need_dx):
            if need:
                dx = getattr(ctx, f"dx{i}")
                np.copyto(dx, self._part(dout, i))
                out.append(dx)
            else:
                out.append(None)
        return out

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = f"keras.layers.{merge.__name__}(inputs, **kwargs): {cls.__name__}(**kwargs)(inputs)."
    return merge


add, subtract, multiply, average, maximum, concatenate = (
    _functional(cls) for cls in (Add, Subtract, Multiply, Average, Maximum, Concatenate))
