"""Sequential: a linear stack of layers, its weights and its compile settings. Training and inference
(fit, evaluate, predict...) run in its Trainer (fastnn.trainers), which walks the chain of layers as a graph.

Trainable weights and their gradients live in two flat buffers, so an optimizer updates the whole model in
one kernel call; every kernel is looked up once, when the model is built, compiled, or the backend changes.
"""
import copy
import json
import numbers
import re
import weakref
from collections import namedtuple

import numpy as np

from .. import backend, losses, optimizers, saving_lib
from ..layers import InputLayer, KerasTensor, Layer
from ..layers.base import symbolic_of
from ..trainers import Trainer
from ..trainers.data import by_key
from ..trainers.step import ACCURACY, check_output
from ..utils import check_int, floatx, make_rng
from .graph import Graph

_METRIC_NAMES = dict.fromkeys(ACCURACY, "accuracy")   # one accuracy per output, by any of its names


class Target(namedtuple("Target", "name loss weight metrics")):
    """What compile() set for one output: its name in the logs (None for a model of one output), its Loss,
    its weight in the model's loss, and its metrics' names (as given: "acc" stays "acc")."""


class Sequential:
    """A linear stack of layers, as keras.Sequential.

    Sequential(layers=None, name=None, seed=None, dtype=None): `seed` fixes initial weights, shuffling and
    dropout masks (else fastnn.set_seed's stream is used); dtype defaults to fastnn.floatx() ("float32").
    """

    config_class = "Sequential"   # what to_json() calls the config, and model_from_json() rebuilds

    def __init__(self, layers=None, name=None, seed=None, dtype=None):
        self.name = name or "sequential"
        self.seed = None if seed is None else check_int("seed", seed, minimum=0, owner="Sequential")
        dtype = dtype or floatx()
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"Sequential(dtype=...) expects 'float32' or 'float64'. Received: dtype={dtype!r}")
        self.dtype = np.dtype(dtype)
        self._layers = []
        self._input_shape = None
        self._batch_size = None
        self.built = False
        self.graph = None
        self.optimizer = None
        self.loss = None
        self.metrics_names = []
        self._targets = None   # compile()'s Target per output
        self._target_keys = self._compiled = None   # the output keys the targets were made for; compile()'s args
        self.stop_training = False
        self.history = None
        self._trainer = Trainer(self)
        self._trainable = True
        self._drawn_seed = None   # without a seed: the one drawn at the first build, so rebuilds draw the same
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input_shape is not None and self._layers:
            self.build()   # as Keras: a model that starts with Input is built at once

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index into `layers` (as keras.Model.get_layer); ValueError for neither, both, an
        unknown name or an index past the end."""
        if (name is None) == (index is None):
            raise ValueError(f"get_layer expects a layer name or a layer index, not {'both' if name else 'neither'}. "
                             f"Received: name={name!r}, index={index!r}")
        listed = self.layers
        if index is not None:
            index = check_int("index", index, owner="get_layer")
            if not -len(listed) <= index < len(listed):
                raise ValueError(f"get_layer(index=...) expects an index below the model's {len(listed)} "
                                 f"layers. Received: index={index}")
            return listed[index]
        for layer in listed:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer(name=...): no such layer. Received: name={name!r}; the layers are "
                         f"{[layer.name for layer in listed]}")

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """model.trainable = False freezes every layer (True unfreezes them), as in Keras; compile() applies it."""
        if not isinstance(value, bool):
            raise TypeError(f"trainable expects a bool. Received: {value!r}")
        self._trainable = value
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        """Every weight, layer by layer, as Keras variables (numpy(), assign(), shape, path); get_weights()
        gives copies of their values."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    @property
    def input_shape(self):
        return None if self._input_shape is None else (self._batch_size,) + self._input_shape

    @property
    def output_shape(self):
        return (self._batch_size,) + self._layers[-1].output_shape if self.built else None

    # what the trainer and the data checks read, for models of one or several inputs and outputs
    @property
    def _input_shapes(self):
        """The per-sample shape of each input, in order."""
        return [self._input_shape]

    @property
    def _input_names(self):
        """What x given as a dict is keyed by, per input (a Sequential's input has no name)."""
        return [None]

    @property
    def _output_keys(self):
        """What targets, losses and metrics given as dicts are keyed by, per output: its layer's name."""
        return [self._layers[-1].name if self._layers else None]

    @property
    def _output_shapes(self):
        """The per-sample shape of each output, in order (once built)."""
        return [self._layers[-1].output_shape]

    def _structured(self, outputs):
        """A list of arrays, one per output, as predict() returns them: the array itself for one output."""
        return outputs[0]

    def add(self, layer, rebuild=True):
        """Append a layer (an Input() first, or give the first layer input_shape=). As in Keras, a model whose
        input shape is known is built again at once, keeping the weights of the layers it had; a layer without
        a name gets one unique in the model ("dense", "dense_1", ...)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a fastnn layer. Received: {layer!r} of type "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Input(...) must be the first element of a Sequential model")
            self._input_shape, self._batch_size = layer.input_shape, layer.batch_size
            return
        if layer.merges:
            raise TypeError(f"Sequential.add: {type(layer).__name__} reads several inputs; use it in a functional "
                            "model (fastnn.Model(inputs, outputs))")
        if any(layer is other for other in self._layers):
            raise ValueError(f"layer {layer!r} is already in the model")
        if rebuild and self.built:   # a layer that does not fit is refused before the model changes
            probe = copy.copy(layer)
            probe.weights_spec = []
            try:
                probe.build(self._layers[-1].output_shape)
            except ValueError as exc:
                raise ValueError(f"Sequential.add: layer {layer.name or type(layer).__name__!r}: {exc}") from None
        if not self._layers and layer.input_shape is not None:
            self._input_shape = layer.input_shape
        layer.name = self._unique_name(layer.name or _snake(type(layer).__name__))
        self._layers.append(layer)
        self.built = False
        if rebuild and self._input_shape is not None:
            self.build()

    def pop(self, rebuild=True):
        """Remove the last layer and return it (as keras.Sequential.pop); the model is built again, keeping
        the other layers' weights."""
        if not self._layers:
            raise ValueError("pop(): the model has no layers to remove")
        layer = self._layers.pop()
        self.built = False
        if rebuild and self._layers and self._input_shape is not None:
            self.build()
        return layer

    def _unique_name(self, base):
        return unique_name(base, {layer.name for layer in self._layers})

    def build(self, input_shape=None):
        """Create every weight for per-sample input_shape (a leading None batch axis is accepted). A layer
        built before keeps the values of its weights whose shapes are unchanged."""
        kept = {(id(w.layer), w.name): w.value for layer in self._layers for w in layer.weights_spec
                if w.value is not None}
        self._declare(input_shape)
        if self.seed is None and self._drawn_seed is None:
            self._drawn_seed = int(make_rng().integers(2**63))
        rng = make_rng(self.seed if self.seed is not None else self._drawn_seed)
        self._rng = rng
        self._place_weights(rng, kept)
        for layer in self._layers:
            if hasattr(layer, "set_rng"):
                layer.set_rng(rng)
        self.graph = self._make_graph()
        self.built = True
        self._setup()

    def _declare(self, input_shape=None):
        """Name the layers and declare every weight's shape (layer.weights_spec), allocating nothing: what a
        loader compares a file's arrays with before it allocates for them."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self._input_shape = InputLayer(shape).input_shape
        if self._input_shape is None:
            raise ValueError("the model's input shape is unknown: start with fastnn.layers.Input(shape=...), "
                             "pass input_shape= to the first layer, or call build(input_shape)")
        if not self._layers:
            raise ValueError("the model has no layers")
        self._declare_layers()

    def _declare_layers(self):
        shape = self._input_shape
        for layer in self._layers:
            self._build_layer(layer, shape)
            shape = layer.output_shape

    def _build_layer(self, layer, shape):
        """Declare layer's weights for its per-sample input shape (a list of them for a merge layer)."""
        layer.weights_spec, layer.dtype = [], self.dtype
        layer.input_shape = shape
        try:
            layer.output_shape = tuple(layer.build(shape))
        except ValueError as exc:
            raise ValueError(f"layer {layer.name!r}: {exc}") from None
        layer.built = True

    def _make_graph(self):
        return Graph.chain(self._layers)

    def _place_weights(self, rng, kept=None):
        """The weights that train as views into one flat buffer (their gradients likewise), the others in
        arrays of their own; then each initialised from rng (every initializer draws, so the stream does not
        depend on what is kept), or set from kept[(id(layer), name)] where that has its shape."""
        specs = [w for layer in self._layers for w in layer.weights_spec]
        total = sum(int(np.prod(w.shape)) for w in specs if w.trains)
        params, grads = np.empty(total, self.dtype), np.zeros(total, self.dtype)
        offset = 0
        for w in specs:
            size = int(np.prod(w.shape))
            old = (kept or {}).get((id(w.layer), w.name))
            if w.trains:
                w.value = params[offset:offset + size].reshape(w.shape)
                w.grad = grads[offset:offset + size].reshape(w.shape)
                offset += size
            else:   # a frozen layer's gradient is written (its backward runs) but never applied
                w.value = np.empty(w.shape, self.dtype)
                w.grad = np.zeros(w.shape, self.dtype) if w.trainable else None
            fresh = w.initializer(w.shape, rng) if rng is not None else None
            w.value[...] = old if old is not None and old.shape == w.value.shape else fresh
        self._params, self._grads = params, grads
        self._placed = self._trains()
        for layer in self._layers:
            layer.frozen = not layer.trainable   # what compile() applied (BatchNormalization reads it)
            layer._model = weakref.ref(self)

    def _trains(self):
        return tuple(w.trains for layer in self._layers for w in layer.weights_spec)

    def _apply_trainable(self):
        """Move the weights whose `trainable` changed since they were placed (compile() calls it, as Keras
        reads trainable at compile): values kept, the graph's gradient flags set again."""
        if self.built and self._placed != self._trains():
            self._place_weights(None, {(id(w.layer), w.name): w.value.copy()
                                       for layer in self._layers for w in layer.weights_spec})
            self.graph = self._make_graph()

    def _setup(self):
        """Bind the kernels, and the loss and optimizer once both the weights and compile() are known."""
        self._backend = backend.get_backend()
        for layer in self._layers:
            layer.resolve()
        if not self.built:
            return
        if self.loss is not None and self._target_keys != self._output_keys:
            # compiled before its outputs were known (a subclassed Model, traced at its first data)
            self._set_targets(*self._make_targets(self._compiled))
        self._trainer.setup()
        if self.loss is not None:
            self.optimizer.build(self._params, self._grads)
            self.optimizer.resolve()

    def _ensure_resolved(self):
        """Before a fit, evaluate or predict: the kernels of the current backend, and the model's own weights."""
        if not self._holds_weights():
            self._retake_weights()
        elif backend.get_backend() != self._backend:
            self._setup()

    def _holds_weights(self):
        return all(getattr(layer, "_model", lambda: None)() is self for layer in self._layers)

    def _retake_weights(self):
        """Layers shared with another model (one called inside the other, or two models built from the same
        layers) have their weights in the buffers of the model that ran last: take them back, values kept,
        and the optimizer's state where it still fits. Models share layers this way one at a time: a model
        runs on the weights as the last other one left them."""
        state = self.optimizer.get_state() if self.optimizer is not None and self.optimizer._param is not None \
            else None
        self._place_weights(None, {(id(w.layer), w.name): w.value.copy()
                                   for layer in self._layers for w in layer.weights_spec})
        self.graph = self._make_graph()
        self._setup()
        if state is not None and all(np.shape(v) == self._params.shape for k, v in state.items() if k != "iterations"):
            self.optimizer.set_state(state)

    # -- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """compile(optimizer, loss, metrics=["accuracy"]) with Keras names for optimizers and losses. It reads
        every layer's `trainable`, as Keras does: a change made after compile counts from the next compile.

        run_eagerly, steps_per_execution, jit_compile and auto_scale_loss are accepted and change nothing:
        fastnn's step is always compiled kernels, one batch per step, in float32 or float64."""
        if weighted_metrics is not None:
            raise NotImplementedError("compile(weighted_metrics=...) is not supported; sample weights weigh the "
                                      f"loss only. Received: weighted_metrics={weighted_metrics!r}")
        steps_per_execution = check_int("steps_per_execution", steps_per_execution, minimum=1, owner="compile")
        for name, value in (("run_eagerly", run_eagerly), ("auto_scale_loss", auto_scale_loss)):
            if not isinstance(value, bool):
                raise TypeError(f"compile({name}=...) expects a bool. Received: {name}={value!r}")
        if not isinstance(jit_compile, bool) and jit_compile != "auto":
            raise TypeError(f"compile(jit_compile=...) expects a bool or 'auto'. Received: jit_compile={jit_compile!r}")
        if loss is None:
            raise ValueError("compile(loss=...) is required, e.g. 'sparse_categorical_crossentropy'. Received: None")
        optimizer = optimizers.get(optimizer)
        compiled = (loss, loss_weights, metrics)
        if getattr(self, "_traces_at_first_data", False):
            # a subclassed Model not traced yet: its outputs, and so the per-output checks, come with its first
            # data (_setup)
            self.optimizer, self._compiled = optimizer, compiled
            self._target_keys, self._targets, self.loss, self.metrics_names = None, None, loss, ["loss"]
            return
        targets = self._make_targets(compiled)   # every check before anything changes
        self.optimizer, self._compiled = optimizer, compiled
        self._set_targets(*targets)
        if self.built:
            self._apply_trainable()
            self._setup()
        elif self._input_shape is not None:
            self.build()

    def _make_targets(self, compiled):
        """(the output keys, a Target per output) from compile()'s (loss, loss_weights, metrics), each loss
        checked against its output's shape once the model is built."""
        keys = self._output_keys
        targets = _targets(keys, *compiled)
        if self.built:
            for target, shape, key in zip(targets, self._output_shapes, keys):
                check_output(target.loss, shape, None if len(keys) == 1 else key, target.metrics)
        return keys, targets

    def _set_targets(self, keys, targets):
        self._target_keys, self._targets = keys, targets
        self.loss = targets[0].loss if len(targets) == 1 else [t.loss for t in targets]
        # as Keras: what evaluate() returns, in order: the loss, each output's (several outputs), the metrics
        self.metrics_names = ["loss"]
        if len(targets) > 1:
            self.metrics_names += [f"{t.name}_loss" for t in targets]
        self.metrics_names += [m if t.name is None else f"{t.name}_{m}" for t in targets for m in t.metrics]

    # -- training and inference: the trainer's -----------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        """Train as keras.Model.fit and return a History. Ctrl-C stops after the current batch and keeps the
        weights; a NaN/inf loss stops training with a warning (as TerminateOnNaN) without applying that step.

        validation_split holds out a shuffled, class-stratified fraction (Keras takes the last samples
        unshuffled; a stratified split gives a validation set that looks like the training set).
        A model trains in one fit at a time: a fit or train_on_batch while it trains raises RuntimeError.
        """
        return self._trainer.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                                 validation_split=validation_split, validation_data=validation_data,
                                 shuffle=shuffle, class_weight=class_weight, sample_weight=sample_weight,
                                 initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                                 validation_steps=validation_steps, validation_batch_size=validation_batch_size,
                                 validation_freq=validation_freq)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on a single batch; returns the loss (and accuracy if compiled with it), or a dict."""
        return self._trainer.train_on_batch(x, y, sample_weight=sample_weight, class_weight=class_weight,
                                            return_dict=return_dict)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss (and accuracy) on x, y in inference mode: a scalar, [loss, accuracy] (as metrics_names), or a
        dict. verbose: 1 a progress bar, 2 one line at the end, 0 nothing ("auto": 1 on a terminal, else 2).
        callbacks get the test hooks; sample_weight weighs each sample's loss (Keras's sum(w loss) / N)."""
        return self._trainer.evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                      steps=steps, callbacks=callbacks, return_dict=return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        return self._trainer.test_on_batch(x, y, sample_weight=sample_weight, return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Model outputs for x (probabilities when the last activation is softmax/sigmoid), in inference mode.
        Safe from any number of threads at once, also while the model trains in another one.
        verbose: 1 a progress bar, 2 one line at the end, 0 nothing ("auto": 1 on a terminal, else 2); 0 by
        default (Keras's "auto" would print a bar for every call of a serving loop). callbacks get the
        predict hooks, on_predict_batch_end with {"outputs": the batch's outputs}."""
        return self._trainer.predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    def predict_on_batch(self, x):
        return self._trainer.predict(x, whole=True)

    def __call__(self, x, training=None):
        """On data, predict(x) in one batch; on a symbolic value (a functional model being made), the model's
        layers applied to it, so that the new model contains them (Keras's transfer-learning pattern,
        base_model(inputs, training=False)); the two models then share those layers' weights."""
        symbolic = _symbolic(x)
        if isinstance(symbolic, KerasTensor):
            if not self.built:
                self.build(symbolic.per_sample)
            return self._apply(symbolic)
        if symbolic is not None:   # a list or dict of symbolic values: the inputs of a model of several
            return self._apply(symbolic)
        return self._trainer.predict(x, whole=True)

    def _apply(self, tensor):
        for layer in self._layers:
            tensor = layer(tensor)
        return tensor

    # -- weights ------------------------------------------------------------------------------
    def _require_built(self, what):
        if not self.built:
            if self._input_shape is None:
                raise ValueError(f"{what}: the model is not built yet (its input shape is unknown)")
            self.build()

    def get_weights(self):
        """Copies of every weight, layer by layer, in Keras order and layouts."""
        self._require_built("get_weights")
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Set every weight from a list shaped as get_weights() returns (checked before anything changes)."""
        self._require_built("set_weights")
        weights = list(weights)
        specs = [(layer, w) for layer in self._layers for w in layer.weights_spec]
        if len(weights) != len(specs):
            raise ValueError(f"set_weights expects a list of {len(specs)} arrays. Received: {len(weights)}")
        arrays = []
        for (layer, spec), value in zip(specs, weights):
            value = np.asarray(value)
            if value.shape != spec.shape:
                raise ValueError(f"set_weights: layer {layer.name!r} weight {spec.name!r} expects shape "
                                 f"{spec.shape}. Received: shape {value.shape}")
            if value.dtype.kind not in "biuf" or not np.isfinite(value).all():
                raise ValueError(f"set_weights: layer {layer.name!r} weight {spec.name!r} must be finite numbers")
            arrays.append(value)
        for (_, spec), value in zip(specs, arrays):
            spec.value[...] = value

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self._layers)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print a Keras-style table: layer (type), output shape, parameter count (and, for a functional
        model, what each layer reads; with show_trainable, whether it trains); and the totals, frozen layers'
        weights counted as non-trainable. line_length, positions, expand_nested and layer_range are accepted
        for Keras's signature; the columns fit their contents."""
        self._require_built("summary")
        print_fn = print_fn or print
        header, rows = self._summary_rows()
        if show_trainable:
            flags = ["-" if type(layer).__name__ == "InputLayer" else ("Y" if layer.trainable else "N")
                     for layer in self.layers]
            header, rows = header + ("Trainable",), [row + (flag,) for row, flag in zip(rows, flags)]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

        def fmt(cells):   # the parameter counts (third column) right-aligned
            return "| " + " | ".join(c.rjust(w) if i == 2 else c.ljust(w)
                                     for i, (c, w) in enumerate(zip(cells, widths))) + " |"

        trainable = sum(w.value.size for layer in self._layers for w in layer.weights_spec if w.trains)
        total = self.count_params()
        lines = [f'Model: "{self.name}"', line, fmt(header), line.replace("-", "=")]
        lines += [fmt(r) for r in rows] + [line,
                  f" Total params: {total:,}", f" Trainable params: {trainable:,}",
                  f" Non-trainable params: {total - trainable:,}"]
        for text in lines:
            print_fn(text)

    def _summary_rows(self):
        return ("Layer (type)", "Output Shape", "Param #"), [
            (f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape), f"{layer.count_params():,}")
            for layer in self._layers]

    # -- saving -------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": None if self._input_shape is None else list(self._input_shape),
                "batch_size": self._batch_size,
                "layers": [{"class_name": type(layer).__name__,
                            "config": {**layer.get_config(), "trainable": layer.trainable}}
                           for layer in self._layers]}

    def save(self, filepath, include_optimizer=True):
        """Save architecture, weights and optimizer state to one file, atomically (see fastnn.saving). Any
        name works; "model.keras" as in Keras 3 holds fastnn's format, which Keras cannot read."""
        saving_lib.save_model(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """The weights alone, to "<name>.weights.h5" (Keras 3's name; fastnn's format, see fastnn.saving)."""
        saving_lib.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Set the weights from a file written by save_weights or save; its weights must fit this model."""
        self._require_built("load_weights")
        saving_lib.load_weights(self, filepath)

    def export(self, filepath, format="onnx", verbose=None, **kwargs):
        """The model for inference, as keras.Model.export: format="onnx" only (fastnn.export says how each
        layer maps; it needs the onnx package). Keras's other formats (TF SavedModel, OpenVINO) raise."""
        if format != "onnx":
            raise ValueError(f"export(format=...): fastnn exports format='onnx' only. Received: format={format!r}")
        if kwargs:
            raise TypeError(f"export(...) takes no other arguments for ONNX. Received: {sorted(kwargs)}")
        from ..export import export_onnx

        export_onnx(self, filepath, verbose=bool(verbose))

    def to_json(self, **kwargs):
        """The architecture as a JSON string (keras.Model.to_json); fastnn.models.model_from_json reads it.
        kwargs go to json.dumps (indent=2, ...)."""
        return json.dumps({"class_name": self.config_class, "config": self.get_config()}, **kwargs)


def unique_name(base, taken):
    """base, or base_1, base_2... : the first not in taken, as Keras names layers."""
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def _symbolic(x):
    """x's symbolic value(s) (an Input stands for its value): one KerasTensor, a list or dict of them, or
    None when x is data."""
    if isinstance(x, dict):
        parts = {k: symbolic_of(v) for k, v in x.items()}
        return parts if parts and None not in parts.values() else None
    if isinstance(x, (list, tuple)):
        parts = [symbolic_of(v) for v in x]
        return parts if parts and None not in parts else None
    return symbolic_of(x)


def _snake(name):
    """A class name as Keras names its instances: "MaxPooling2D" -> "max_pooling2d", "MLP" -> "mlp",
    "MyModel" -> "my_model": a word starts at a capital followed by lower-case letters, or at a capital after a
    lower-case letter."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _targets(keys, loss, loss_weights, metrics):
    """A Target per output (keys: the outputs' names) from compile()'s loss, loss_weights and metrics, each
    given as Keras takes them: one value for a model of one output; for several, a list in the outputs'
    order or a dict keyed by their names (a single loss serves every output; loss_weights a dict may leave
    outputs out, which weigh 1)."""
    several = len(keys) > 1
    if several and not isinstance(loss, (list, tuple, dict)):
        loss = [loss] * len(keys)
    if several or (isinstance(loss, dict) and set(loss) == set(keys)) or (
            isinstance(loss, (list, tuple)) and len(loss) == 1):
        loss = _per_output("loss", loss, keys)
    else:
        loss = [loss]
    if any(item is None for item in loss):
        raise ValueError(f"compile(loss=...) expects a loss for every output {list(keys)}; an output without one "
                         f"is not supported. Received: loss={loss!r}")
    if loss_weights is None:
        weights = [1.0] * len(keys)
    elif isinstance(loss_weights, dict):
        unknown = sorted(set(loss_weights) - set(keys), key=str)
        if unknown:
            raise ValueError(f"compile(loss_weights=...) expects a dict keyed by the outputs' names {list(keys)}. "
                             f"Received: unknown keys {unknown}")
        weights = [loss_weights.get(k, 1.0) for k in keys]
    elif isinstance(loss_weights, (list, tuple)):
        weights = _per_output("loss_weights", loss_weights, keys)
    elif not several:
        weights = [loss_weights]
    else:
        raise TypeError(f"compile(loss_weights=...) expects a list or a dict of one weight per output {list(keys)}. "
                        f"Received: {loss_weights!r}")
    for w in weights:
        if not isinstance(w, numbers.Real) or isinstance(w, bool):
            raise TypeError(f"compile(loss_weights=...) expects numbers. Received: {loss_weights!r}")
        if not (w >= 0 and abs(w) < 1e300):
            raise ValueError(f"compile(loss_weights=...) expects finite numbers >= 0. Received: {loss_weights!r}")
    if metrics is None:
        per = [[] for _ in keys]
    elif not several and isinstance(metrics, dict):
        per = [_metric_list(_per_output("metrics", metrics, keys)[0], metrics)]
    elif several:
        per = [_metric_list(m, metrics) for m in _per_output("metrics", metrics, keys)]
    else:
        per = [_metric_list(metrics, metrics)]
    names = []
    for given in per:
        kept = []
        for m in given:
            if m not in _METRIC_NAMES:
                raise ValueError(f"compile(metrics=...) supports {sorted(_METRIC_NAMES)}. Received: {m!r}")
            if _METRIC_NAMES[m] not in map(_METRIC_NAMES.get, kept):
                kept.append(m)   # logged under the name given, as Keras does ("acc" stays "acc")
        names.append(kept)
    return [Target(k if several else None, losses.get(fn), float(w), m)
            for k, fn, w, m in zip(keys, loss, weights, names)]


def _metric_list(entry, given):
    """One output's metrics (None, a name, or a list or tuple of names) as a list of names."""
    names = [] if entry is None else [entry] if isinstance(entry, str) else entry
    if not isinstance(names, (list, tuple)) or not all(isinstance(m, str) for m in names):
        raise TypeError("compile(metrics=...) expects metric names: a list of them (per output, for a model of "
                        f"several: a list of such lists, or a dict). Received: metrics={given!r}")
    return list(names)


def _per_output(what, value, keys):
    """compile()'s value for `what` as a list with one item per output (data.by_key)."""
    return by_key(value, keys, "output", f"compile({what}=...)", item="entry")
