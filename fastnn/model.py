"""Sequential: the Keras-style model, its training loop and its checks on user input.

The hot path (fit's batch loop) makes a fixed number of kernel calls per step and allocates nothing big:
trainable weights and gradients live in two flat buffers, each layer reuses workspaces per batch size,
batches are gathered into preallocated buffers, and every kernel was looked up once at build time.
"""
import math
import signal
import sys
import threading
import time
import warnings

import numpy as np

from . import backend, losses, optimizers
from .callbacks import Callback, CallbackList, History
from .layers import InputLayer, Layer
from .utils import check_float, check_int, floatx, make_rng

_METRIC_NAMES = {"accuracy": "accuracy", "acc": "accuracy"}


class Sequential:
    """A linear stack of layers, as keras.Sequential.

    Sequential(layers=None, name=None, seed=None, dtype=None): `seed` fixes initial weights, shuffling and
    dropout masks (else fastnn.set_seed's stream is used); dtype defaults to fastnn.floatx() ("float32").
    """

    def __init__(self, layers=None, name=None, seed=None, dtype=None):
        self.name = name or "sequential"
        self.seed = None if seed is None else check_int("seed", seed, minimum=0, owner="Sequential")
        dtype = dtype or floatx()
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"Sequential(dtype=...) expects 'float32' or 'float64'. Received: dtype={dtype!r}")
        self.dtype = np.dtype(dtype)
        self._layers = []
        self._input_shape = None
        self.built = False
        self.optimizer = None
        self.loss = None
        self.metrics_names = []
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        return None if self._input_shape is None else (None,) + self._input_shape

    @property
    def output_shape(self):
        return (None,) + self._layers[-1].output_shape if self.built else None

    def add(self, layer):
        """Append a layer (an Input() first, or give the first layer input_shape=)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a fastnn layer. Received: {layer!r} of type "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("Input(...) must be the first element of a Sequential model")
            self._input_shape = layer.input_shape
            return
        if not self._layers and layer.input_shape is not None:
            self._input_shape = layer.input_shape
        if any(layer is other for other in self._layers):
            raise ValueError(f"layer {layer!r} is already in the model")
        self._layers.append(layer)
        self.built = False

    def build(self, input_shape=None):
        """Create every weight for per-sample input_shape (a leading None batch axis is accepted)."""
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
        rng = make_rng(self.seed)
        self._rng = rng
        names = {}
        shape = self._input_shape
        for layer in self._layers:
            base = layer.name or _snake(type(layer).__name__)
            layer.name = base if base not in names else f"{base}_{names[base]}"
            names[base] = names.get(base, 0) + 1
            layer.weights_spec, layer._ws, layer.dtype = [], {}, self.dtype
            layer.input_shape = shape
            try:
                layer.output_shape = tuple(layer.build(shape))
            except ValueError as exc:
                raise ValueError(f"layer {layer.name!r}: {exc}") from None
            layer.built = True
            shape = layer.output_shape
        specs = [w for layer in self._layers for w in layer.weights_spec]
        total = sum(int(np.prod(w.shape)) for w in specs if w.trainable)
        self._params = np.empty(total, self.dtype)
        self._grads = np.zeros(total, self.dtype)
        offset = 0
        for w in specs:
            size = int(np.prod(w.shape))
            if w.trainable:
                w.value = self._params[offset:offset + size].reshape(w.shape)
                w.grad = self._grads[offset:offset + size].reshape(w.shape)
                offset += size
            else:
                w.value = np.empty(w.shape, self.dtype)
            w.value[...] = w.initializer(w.shape, rng)
        for layer in self._layers:
            if hasattr(layer, "set_rng"):
                layer.set_rng(rng)
        # a layer needs its input gradient only if some layer before it has weights to train
        trainable = [any(w.trainable for w in layer.weights_spec) for layer in self._layers]
        self._need_dx = [any(trainable[:i]) for i in range(len(self._layers))]
        self._batch_views = {}
        self.built = True
        self._setup()

    def _setup(self):
        """Bind the loss, optimizer and kernels once both the weights and compile() are known."""
        self._backend = backend.get_backend()
        for layer in self._layers:
            layer.resolve()
        if not (self.built and self.loss is not None):
            return
        last = self._layers[-1]
        out_shape = last.output_shape
        if self.loss.target == "sparse" and (len(out_shape) != 1 or out_shape[0] < 2):
            raise ValueError(f"{self.loss.name} expects the model to output one score per class, shape (None, K) "
                             f"with K >= 2. Received: output shape {(None,) + out_shape}")
        tail = last.output_activation()
        fused = (not self.loss.from_logits and self.loss.fuses is not None
                 and last.fuse_output_activation(self.loss.fuses))
        if not fused:
            last.fuse_output_activation(None)
        self._fused = fused
        self._loss_name = self.loss.plan(tail, fused)
        self._loss_kernel = backend.kernel(self._loss_name)
        self._onehot = self.loss.target == "sparse" and self._loss_name == "categorical_ce_probs"
        # accuracy on one output: probabilities > 0.5, or logits > 0 when the sigmoid was fused away
        self._threshold = 0.0 if (fused or self.loss.from_logits) else 0.5
        self._loss_ws = {}
        self.optimizer.build(self._params, self._grads)
        self.optimizer.resolve()

    def _ensure_resolved(self):
        if backend.get_backend() != self._backend:
            self._setup()

    # -- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """compile(optimizer, loss, metrics=["accuracy"]) with Keras names for optimizers and losses."""
        if loss is None:
            raise ValueError("compile(loss=...) is required, e.g. 'sparse_categorical_crossentropy'. Received: None")
        self.loss = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        names = []
        for m in metrics or []:
            if m not in _METRIC_NAMES:
                raise ValueError(f"compile(metrics=...) supports {sorted(_METRIC_NAMES)}. Received: {m!r}")
            names.append(_METRIC_NAMES[m])
        self.metrics_names = sorted(set(names))
        if self.built:
            self._setup()
        elif self._input_shape is not None:
            self.build()

    # -- input checks -------------------------------------------------------------------------
    def _check_x(self, x, name="x"):
        if x is None:
            raise ValueError(f"`{name}` is required. Received: {name}=None")
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {x.dtype}")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"`{name}` expects a non-empty batch of samples. Received: {name} with shape {x.shape}")
        if not self.built:
            self.build(x.shape[1:] if self._input_shape is None else None)
        if x.shape[1:] != self._input_shape:
            raise ValueError(f"{self.name} expects {name} of shape {(None,) + self._input_shape}. "
                             f"Received: {name} with shape {x.shape}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
            raise ValueError(f"`{name}` contains {bad} NaN or inf values; clean or impute the data first")
        return x

    def _check_y(self, y, n, name="y"):
        if y is None:
            raise ValueError(f"`{name}` is required for training and evaluation. Received: {name}=None")
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {y.dtype}")
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"`{name}` expects one target per sample ({n}). Received: {name} with shape {y.shape}")
        out_shape = self._layers[-1].output_shape
        if self.loss.target == "sparse":
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            k = out_shape[0]
            if y.ndim != 1:
                raise ValueError(f"{self.loss.name} expects integer labels of shape ({n},). Received: {name} with "
                                 f"shape {y.shape} (one-hot targets go with categorical_crossentropy)")
            if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
                raise ValueError(f"`{name}` expects integer class labels. Received: non-integer values")
            lo, hi = (y.min(), y.max())
            if lo < 0 or hi >= k:
                raise ValueError(f"`{name}` expects labels in [0, {k - 1}] for a model with {k} outputs. "
                                 f"Received: labels in [{lo:g}, {hi:g}]")
            return np.ascontiguousarray(y, dtype=np.int64)
        flat = int(np.prod(out_shape))
        if y.ndim == 1 and flat == 1:
            y = y[:, None]
        if y.shape[1:] != out_shape:
            hint = (" (integer labels go with sparse_categorical_crossentropy)"
                    if y.ndim == 1 and self.loss.name == "categorical_crossentropy" else "")
            raise ValueError(f"{self.loss.name} expects {name} of shape {(n,) + out_shape}. Received: {name} with "
                             f"shape {y.shape}{hint}")
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if not np.isfinite(y).all():
            raise ValueError(f"`{name}` contains NaN or inf values")
        return y

    def _check_batch_size(self, batch_size):
        return 32 if batch_size is None else check_int("batch_size", batch_size, minimum=1)

    def _require_compiled(self, what):
        if self.loss is None:
            raise RuntimeError(f"call compile(optimizer, loss) before {what}()")

    # -- the step -----------------------------------------------------------------------------
    def _forward(self, x, training, logits):
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers):
            x = layer.forward(x, training, logits and i == last)
        return x

    def _loss_buffers(self, n):
        ws = self._loss_ws.get(n)
        if ws is None:
            k = int(np.prod(self._layers[-1].output_shape))
            ws = self._loss_ws[n] = {"loss": np.empty(n, self.dtype), "dout": np.empty((n, k), self.dtype),
                                     "onehot": np.zeros((n, k), self.dtype) if self._onehot else None}
        return ws

    def _loss(self, out, y):
        """Per-sample losses and dloss/dout for the batch (mean reduction); returns (mean loss, buffers)."""
        n = out.shape[0]
        ws = self._loss_buffers(n)
        if self._onehot:
            ws["onehot"][...] = 0
            ws["onehot"][np.arange(n), y] = 1
            y = ws["onehot"]
        self._loss_kernel(ws["loss"], ws["dout"], out.reshape(n, -1), y, 1.0 / n)
        return float(ws["loss"].sum()) / n, ws

    def _correct(self, out, y):
        """How many predictions in the batch are right (Keras's accuracy for this loss)."""
        out = out.reshape(out.shape[0], -1)
        if self.loss.target == "sparse":
            return int(np.count_nonzero(out.argmax(axis=1) == y))
        if out.shape[1] == 1 or self.loss.name == "binary_crossentropy":
            return int(np.count_nonzero((out > self._threshold) == (y > 0.5))) / out.shape[1]
        return int(np.count_nonzero(out.argmax(axis=1) == y.argmax(axis=1)))

    def _train_step(self, x, y):
        """Forward, fused loss, backward and one optimizer update; returns (mean loss, correct count)."""
        if not self.optimizer.uses_gradients:
            loss = self.optimizer.minimize_step(lambda: self._loss(self._forward(x, False, self._fused), y)[0])
            return loss, self._correct(self._forward(x, False, self._fused), y)
        out = self._forward(x, True, self._fused)
        loss, ws = self._loss(out, y)
        correct = self._correct(out, y) if self.metrics_names else 0
        if not math.isfinite(loss):
            return loss, correct   # no update from a NaN gradient: the weights stay as they were
        d = ws["dout"].reshape(out.shape)
        for i in range(len(self._layers) - 1, -1, -1):
            d = self._layers[i].backward(d, self._need_dx[i])
            if d is None:
                break
        self.optimizer.apply()
        return loss, correct

    # -- training -----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0):
        """Train as keras.Model.fit and return a History. Ctrl-C stops after the current batch and keeps the
        weights; a NaN/inf loss stops training with a warning (as TerminateOnNaN) without applying that step.

        validation_split holds out a shuffled, class-stratified fraction (Keras takes the last samples
        unshuffled; a stratified split gives a validation set that looks like the training set).
        """
        self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size)
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        verbose = _check_verbose(verbose)
        if not isinstance(shuffle, bool):
            raise TypeError(f"`shuffle` expects a bool. Received: shuffle={shuffle!r}")
        validation_split = check_float("validation_split", validation_split, low=0.0, high=1.0, high_open=True)
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"`callbacks` expects fastnn.callbacks.Callback instances. Received: {cb!r}")
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        if validation_data is not None and validation_split:
            raise ValueError("pass either validation_data or validation_split, not both")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("`validation_data` expects a tuple (x_val, y_val). "
                                 f"Received: {type(validation_data).__name__}")
            xv = self._check_x(validation_data[0], "validation_data[0]")
            yv = self._check_y(validation_data[1], len(xv), "validation_data[1]")
            val = (xv, yv)
        elif validation_split:
            train_idx, val_idx = stratified_split(y if self.loss.target == "sparse" else _class_of(y),
                                                   validation_split, self._rng)
            val = (x[val_idx], y[val_idx])
            x, y = x[train_idx], y[train_idx]
        else:
            val = None
        self._ensure_resolved()

        history = History()
        logger = _ProgressLogger(verbose)
        n = len(x)
        steps = -(-n // batch_size)
        params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n, "verbose": verbose}
        cbs = CallbackList(callbacks + [history], self, params)   # History last, as Keras: it sees what others add
        xbuf = np.empty((min(batch_size, n),) + x.shape[1:], self.dtype) if shuffle else None
        ybuf = np.empty((min(batch_size, n),) + y.shape[1:], y.dtype) if shuffle else None
        self.stop_training = False
        self.history = history
        interrupted = _Interrupt()
        cbs.on_train_begin()
        with interrupted:
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                order = self._rng.permutation(n) if shuffle else None
                total_loss, total_correct, seen, t0 = 0.0, 0, 0, time.perf_counter()
                bar = logger.epoch_bar(epoch, epochs, steps)
                for step in range(steps):
                    lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                    if shuffle:
                        idx = order[lo:hi]
                        xb = np.take(x, idx, axis=0, out=xbuf[:hi - lo])
                        yb = np.take(y, idx, axis=0, out=ybuf[:hi - lo])
                    else:
                        xb, yb = x[lo:hi], y[lo:hi]
                    cbs.on_train_batch_begin(step)
                    loss, correct = self._train_step(xb, yb)
                    total_loss += loss * (hi - lo)
                    total_correct += correct
                    seen += hi - lo
                    logs = {"loss": total_loss / seen}
                    if self.metrics_names:
                        logs["accuracy"] = total_correct / seen
                    cbs.on_train_batch_end(step, {**logs, "loss": loss})
                    if bar is not None:
                        bar.update(1)
                        if step % 20 == 0 or step == steps - 1:
                            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
                    if not math.isfinite(loss):
                        warnings.warn(f"Epoch {epoch + 1}, batch {step}: invalid loss {loss}; terminating training "
                                      "(the weights are those before this batch)", RuntimeWarning, stacklevel=2)
                        self.stop_training = True
                    if self.stop_training or interrupted.requested:
                        break
                elapsed = time.perf_counter() - t0
                if bar is not None:
                    bar.close()
                if val is not None and not interrupted.requested:
                    vals = self._evaluate_arrays(*val, batch_size=max(batch_size, 256))
                    logs.update({"val_" + k: v for k, v in vals.items()})
                logs["samples_per_second"] = seen / elapsed if elapsed > 0 else float("inf")
                cbs.on_epoch_end(epoch, logs)
                logger.epoch_line(epoch, epochs, elapsed, logs)
                if self.stop_training or interrupted.requested:
                    break
        if interrupted.requested:
            warnings.warn("fit interrupted (Ctrl-C): stopped after the current batch; the weights are kept",
                          RuntimeWarning, stacklevel=2)
        cbs.on_train_end()
        return history

    def train_on_batch(self, x, y):
        """One gradient step on a single batch; returns the loss (and accuracy if compiled with it)."""
        self._require_compiled("train_on_batch")
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        self._ensure_resolved()
        loss, correct = self._train_step(x, y)
        return [loss, correct / len(x)] if self.metrics_names else loss

    # -- inference ----------------------------------------------------------------------------
    def _evaluate_arrays(self, x, y, batch_size):
        total, correct, n = 0.0, 0, len(x)
        for lo in range(0, n, batch_size):
            xb, yb = x[lo:lo + batch_size], y[lo:lo + batch_size]
            out = self._forward(xb, False, self._fused)
            loss, _ = self._loss(out, yb)
            total += loss * len(xb)
            if self.metrics_names:
                correct += self._correct(out, yb)
        result = {"loss": total / n}
        if self.metrics_names:
            result["accuracy"] = correct / n
        return result

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False):
        """Loss (and accuracy) on x, y in inference mode: a scalar, [loss, accuracy], or a dict."""
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size)
        _check_verbose(verbose)
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        self._ensure_resolved()
        result = self._evaluate_arrays(x, y, batch_size)
        if return_dict:
            return result
        return [result["loss"], result["accuracy"]] if self.metrics_names else result["loss"]

    def test_on_batch(self, x, y):
        return self.evaluate(x, y, batch_size=len(x), verbose=0)

    def predict(self, x, batch_size=None, verbose=0):
        """Model outputs for x (probabilities when the last activation is softmax/sigmoid), in inference mode."""
        batch_size = self._check_batch_size(batch_size)
        x = self._check_x(x)
        if not self.built:
            self.build()
        self._ensure_resolved()
        result = np.empty((len(x),) + self._layers[-1].output_shape, self.dtype)
        for lo in range(0, len(x), batch_size):
            result[lo:lo + batch_size] = self._forward(x[lo:lo + batch_size], False, False)
        return result

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(np.asarray(x)))

    def __call__(self, x):
        return self.predict(x, batch_size=max(1, len(np.asarray(x))))

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

    def summary(self, print_fn=None):
        """Print a Keras-style table: layer (type), output shape, parameter count; and the totals."""
        self._require_built("summary")
        print_fn = print_fn or print
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape),
                 f"{layer.count_params():,}") for layer in self._layers]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in
                  enumerate(("Layer (type)", "Output Shape", "Param #"))]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

        def fmt(cells):
            return "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                     for i, (c, w) in enumerate(zip(cells, widths))) + " |"

        trainable = sum(w.value.size for layer in self._layers for w in layer.weights_spec if w.trainable)
        total = self.count_params()
        lines = [f'Model: "{self.name}"', line, fmt(("Layer (type)", "Output Shape", "Param #")), line.replace("-", "=")]
        lines += [fmt(r) for r in rows] + [line,
                  f" Total params: {total:,}", f" Trainable params: {trainable:,}",
                  f" Non-trainable params: {total - trainable:,}"]
        for text in lines:
            print_fn(text)

    # -- saving -------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": None if self._input_shape is None else list(self._input_shape),
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self._layers]}

    def save(self, filepath, include_optimizer=True):
        """Save architecture, weights and optimizer state to one file, atomically (see fastnn.saving)."""
        from .saving import save_model

        save_model(self, filepath, include_optimizer=include_optimizer)


def _snake(name):
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return {"max_pooling2_d": "max_pooling2d", "conv2_d": "conv2d"}.get(out, out)


def _check_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"`verbose` expects 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return verbose


def _class_of(y):
    """A class id per row of dense targets (argmax; for one output, the rounded value) for stratifying."""
    return y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0.5).astype(np.int64)


def stratified_split(labels, fraction, rng):
    """Shuffled train/validation indices with each class split in the same proportion."""
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.append(idx[:int(round(fraction * len(idx)))])
    val = np.sort(np.concatenate(val))
    if len(val) == 0 or len(val) == len(labels):
        raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                         f"for {len(labels)} samples")
    train = np.setdiff1d(np.arange(len(labels)), val)
    return rng.permutation(train), val


class _Interrupt:
    """Within `with`, Ctrl-C sets .requested instead of raising, so fit stops between batches."""

    def __init__(self):
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        if self.requested:   # a second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


class _ProgressLogger:
    """verbose=1: a tqdm bar per epoch; verbose=2: one line per epoch; 0: silent."""

    def __init__(self, verbose):
        self.verbose = verbose

    def epoch_bar(self, epoch, epochs, steps):
        if self.verbose != 1:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", leave=True, dynamic_ncols=True)

    def epoch_line(self, epoch, epochs, elapsed, logs):
        if self.verbose == 0:
            return
        parts = [f"Epoch {epoch + 1}/{epochs}", f"{elapsed:.1f}s"]
        parts += [f"{k}: {v:.4f}" for k, v in logs.items() if k != "samples_per_second" and k != "learning_rate"]
        parts.append(f"{logs['samples_per_second']:,.0f} samples/s")
        print(" - ".join(parts), flush=True)
