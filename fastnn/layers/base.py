"""Layer and Weight: what every layer holds (config and weights) and the calling convention of a step.

A layer keeps no state of a call. The trainer owns a context per (model, batch size, mode); each layer
gets its slot of it, `ctx`: the buffers the layer declared with buffers(n), set as attributes
(ctx.out, ctx.dx, ...), the flag ctx.logits (drop a final softmax/sigmoid that the loss absorbs), and
ctx.state (what initial_state() returned, shared by every training step; None outside training). forward
writes what backward needs onto ctx (its input, the activation code, ...), never onto self, so any number
of threads can run forward at once, each with its own context.

The model places trainable weights and their gradients in two flat buffers (so an optimizer updates the
whole model in one kernel call) and hands each layer views into them. A weight trains when it is trainable
and its layer's `trainable` is True (Keras's fine-tuning switch); the model reads that when it is compiled.
Kernels are looked up once, in resolve().

Legend: N batch; shapes given without N are per-sample, as Keras's input_shape.
"""
import copy

import numpy as np

from .. import backend


class Weight:
    """One weight of a layer: its Keras name, shape, initializer, whether it is a trainable kind of weight
    (a kernel, not a moving mean) and its layer."""

    def __init__(self, name, shape, initializer, trainable, layer=None):
        self.name, self.shape, self.initializer, self.trainable = name, tuple(shape), initializer, trainable
        self.layer = layer
        self.value = None   # an array (a view into the model's flat buffer when it trains)
        self.grad = None    # where the backward writes its gradient (a view into the flat gradient buffer
                            # when it trains; the gradient of a frozen layer's weight goes nowhere)

    @property
    def trains(self):
        """Whether the optimizer updates it: a trainable weight of a layer whose `trainable` is True."""
        return self.trainable and (self.layer is None or self.layer.trainable)

    # -- what a Keras variable offers -------------------------------------------------------------
    @property
    def path(self):
        return f"{self.layer.name}/{self.name}" if self.layer is not None else self.name

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self):
        """A copy of the value, as keras.Variable.numpy()."""
        return np.array(self.value)

    def assign(self, value):
        """Set the value in place (keras.Variable.assign): same shape, finite numbers."""
        value = np.asarray(value)
        if value.shape != self.shape or value.dtype.kind not in "biuf" or not np.isfinite(value).all():
            raise ValueError(f"assign: weight {self.path!r} expects finite numbers of shape {self.shape}. "
                             f"Received: {value.dtype} {value.shape}")
        self.value[...] = value

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self):
        return f"<Weight path={self.path!r} shape={self.shape}>"


class KerasTensor:
    """A symbolic value of a functional model (keras.KerasTensor): what fastnn.Input() stands for, and what a
    layer called on such values returns. It holds the per-sample shape and where it comes from: the layer
    whose call made it and the values that call read. fastnn.Model(inputs, outputs) walks these back."""

    def __init__(self, shape, layer, inputs=()):
        self.per_sample, self.layer, self.inputs = tuple(shape), layer, tuple(inputs)

    @property
    def shape(self):
        return (None,) + self.per_sample

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, from {self.layer.name or type(self.layer).__name__!r}>"


def symbolic_of(value):
    """The KerasTensor value is (an InputLayer stands for its symbolic value), or None when it is data."""
    value = getattr(value, "symbolic", value)
    return value if isinstance(value, KerasTensor) else None


class Layer:
    """Base class. Subclasses implement build(), buffers(), and forward()/backward() on a context slot."""

    merges = False   # True for layers that read several values (Add, Concatenate...)

    def __init__(self, name=None, input_shape=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}(name=...) expects a string. Received: name={name!r}")
        self.name = name
        self.weights_spec = []
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.output_shape = None
        self.built = False
        self.dtype = None
        self.trainable = True
        self.frozen = False   # trainable was False when the model placed the weights (at build or compile)

    # -- construction -------------------------------------------------------------------------
    def __call__(self, inputs, training=None, **kwargs):
        """Called on symbolic values (an Input, or another layer's output; a list for a merge layer): the
        symbolic output, for fastnn.Model(inputs, outputs). A layer called again shares its weights.
        training is accepted as in Keras's call(); the mode is the one the model runs in (training in fit,
        inference in evaluate and predict). Other keyword arguments (Keras's mask=...) raise."""
        if kwargs:
            raise TypeError(f"{type(self).__name__}(...) called with {sorted(kwargs)}: only inputs and training= "
                            "are supported")
        many = isinstance(inputs, (list, tuple))
        tensors = [symbolic_of(t) for t in (inputs if many else [inputs])]
        if not tensors or any(t is None for t in tensors):
            raise TypeError(f"{type(self).__name__} is called on the symbolic values of a functional model "
                            f"(fastnn.layers.Input(...) or another layer's output); to run a model on data, "
                            f"call model.predict(x). Received: {inputs!r}")
        if self.merges != many:
            raise ValueError(f"{type(self).__name__} expects "
                             f"{'a list of inputs' if self.merges else 'one input, not a list'}. Received: {inputs!r}")
        shapes = [t.per_sample for t in tensors]
        shape = shapes if self.merges else shapes[0]
        if self.built and self.input_shape is not None:   # already in a model: it takes what it was built for
            expected = [tuple(s) for s in self.input_shape] if self.merges else tuple(self.input_shape)
            if expected != shape:
                raise ValueError(f"layer {self.name or type(self).__name__!r} is built for inputs of shape "
                                 f"{expected}; a layer called again reads one shape. Received: {shape}")
            return KerasTensor(self.output_shape, self, tensors)
        probe = copy.copy(self)   # the output shape from a throwaway copy's build(): the model builds the layer
        probe.weights_spec = []
        return KerasTensor(probe.build(shape), self, tensors)

    def add_weight(self, name, shape, initializer, trainable=True):
        weight = Weight(name, shape, initializer, trainable, self)
        self.weights_spec.append(weight)
        return weight

    def build(self, input_shape):
        """Declare weights for this per-sample input shape and return the per-sample output shape."""
        return tuple(input_shape)

    def resolve(self):
        """Look the layer's kernels up in the registry (once per model build or backend change)."""

    def lookup(self, op):
        """The selected backend's function for op on this layer's dtype (resolve() calls it, once)."""
        return backend.kernel(op, dtype=self.dtype or "float32")

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        """A new layer from get_config()'s dict (and the model config's "trainable"), as Keras's."""
        config = dict(config)
        trainable = config.pop("trainable", True)
        if not isinstance(trainable, bool):
            raise TypeError(f"{cls.__name__}.from_config: 'trainable' expects true or false. Received: {trainable!r}")
        layer = cls(**config)
        layer.trainable = trainable
        return layer

    # -- weights ------------------------------------------------------------------------------
    @property
    def weights(self):
        """The layer's weights as Keras variables (numpy(), assign(), shape, path; np.asarray reads them)."""
        return list(self.weights_spec)

    @property
    def trainable_weights(self):
        return [w for w in self.weights_spec if w.trains]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights_spec if not w.trains]

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

    # -- one call -----------------------------------------------------------------------------
    def buffers(self, n):
        """{name: (shape, dtype)}: the arrays this layer writes for a batch of n, allocated once per context."""
        return {}

    def buffer_shape(self, n, per_sample=None):
        """(n, *per_sample), per_sample defaulting to the output shape."""
        return (n,) + (self.output_shape if per_sample is None else per_sample)

    def initial_state(self):
        """State that lives across training steps (the trainer keeps it, one per model build); None if none."""
        return None

    def forward(self, ctx, x, training):
        """x (N, *input_shape) -> (N, *output_shape), usually one of ctx's buffers."""
        raise NotImplementedError

    def backward(self, ctx, dout, need_dx):
        """dout (N, *output_shape), which the layer may overwrite -> dx, or None when need_dx is False."""
        raise NotImplementedError

    def fuse_output_activation(self, kind):
        """Drop a final `kind` ("softmax"/"sigmoid") when computing logits; True if this layer applies it."""
        return False

    def output_activation(self):
        return None

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
