"""The Trainer: fit, evaluate, predict, train_on_batch and test_on_batch for any model that exposes its
layers as a graph (fastnn.models.graph). Sequential and functional models delegate to it.

Model protocol (what the trainer reads): graph, name, dtype, built and build(), input_shape and
output_shape (with the batch axis), loss, optimizer and metrics_names (set by compile), stop_training and
history (as Keras), _rng (the stream that shuffles and splits) and _ensure_resolved() (re-binds the
kernels after a backend change).

Threads: evaluate and predict take contexts from a pool, one per call in progress, so any number of
threads can run them at once. Training changes the weights and the optimizer state, so a model trains in
one fit (or train_on_batch) at a time; a second one raises instead of corrupting the first. Each inference
batch reads the weights under a WeightsGuard that each training step takes alone, so a predict during fit
sees the weights before or after a step, never half of an update.
"""
import math
import threading
import time
import warnings

import numpy as np

from .. import backend
from ..callbacks import CallbackList, History, check_callbacks
from ..utils import check_float, check_int
from .context import Context, ContextPool
from .data import (check_batch_size, check_finite, check_validation_data, check_x, check_y, rows,
                   sample_weights, select, strata, stratified_split)
from .guard import WeightsGuard
from .adapters import StreamBatches, is_stream
from .epoch_iterator import EpochIterator, batch_bounds, num_batches
from .interrupt import Interrupt
from .progress import Progress, check_verbose
from .step import LossHead, forward, test_step, train_step


class Trainer:
    def __init__(self, model):
        self.model = model
        self.heads = None     # a LossHead per output once compiled and built
        self._graph = None
        self._states = None   # per node: what its layer keeps across training steps (dropout's stream)
        self._pool = ContextPool(self._make_context)
        self._training = threading.Lock()
        self._guard = WeightsGuard()

    def setup(self):
        """Bind to the model's current graph and compile settings; contexts made before are dropped."""
        model = self.model
        graph = model.graph
        if graph is not self._graph:
            self._graph, self._states = graph, [node.layer.initial_state() for node in graph.nodes]
        self.heads = None if model.loss is None else [
            LossHead(graph.producer(v).layer, target.loss, target.metrics, model.dtype, graph.fusable(v),
                     target.name, target.weight, key)
            for v, target, key in zip(graph.outputs, model._targets, model._output_keys)]
        self._pool.clear()

    def _make_context(self, mode, n):
        return Context(self._graph, n, mode, self.heads, self._states, self.model._input_shapes, self.model.dtype)

    def _require_compiled(self, what):
        if self.model.loss is None:
            raise RuntimeError(f"call compile(optimizer, loss) before {what}()")

    def _exclusive(self, what):
        return _Exclusive(self._training, what, self.model.name)

    # -- training -----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        model = self.model
        self._require_compiled("fit")
        batch_size = check_batch_size(batch_size)
        val_batch = batch_size if validation_batch_size is None else check_batch_size(validation_batch_size)
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        validation_freq = check_int("validation_freq", validation_freq, minimum=1)
        verbose = check_verbose(verbose)
        if not isinstance(shuffle, bool):
            raise TypeError(f"`shuffle` expects a bool. Received: shuffle={shuffle!r}")
        validation_split = check_float("validation_split", validation_split, low=0.0, high=1.0, high_open=True)
        callbacks = check_callbacks(callbacks, "fit")
        steps_per_epoch, validation_steps = _steps("steps_per_epoch", steps_per_epoch), _steps("validation_steps",
                                                                                                validation_steps)
        with self._exclusive("fit"):
            if is_stream(x):
                self._stream_ready(y, "fit", sample_weight=sample_weight, validation_split=validation_split)
                batches = self._stream(x, steps_per_epoch, "fit", class_weight=class_weight)
                val = self._validation_batches(validation_data, validation_steps, val_batch)
                model._ensure_resolved()
                return self._fit(batches, val, epochs, initial_epoch, verbose, callbacks, validation_freq)
            x = check_x(model, x)
            y = check_y(self.heads, y, rows(x))
            # as Keras: sample weights go with their samples into a validation split; class weights only train
            sw = sample_weights(self.heads, y, rows(x), sample_weight)
            if validation_data is not None and validation_split:
                raise ValueError("pass either validation_data or validation_split, not both")
            if validation_split:
                train_idx, val_idx = stratified_split(strata(self.heads, y), validation_split, model._rng)
                val = _in_order(select(x, val_idx), select(y, val_idx), select(sw, val_idx), val_batch)
                x, y, sw = select(x, train_idx), select(y, train_idx), select(sw, train_idx)
            else:
                val = self._validation_batches(validation_data, validation_steps, val_batch)
            w = sample_weights(self.heads, y, rows(x), sw, class_weight)
            model._ensure_resolved()
            batches = EpochIterator(x, y, batch_size, shuffle, model._rng, w, steps_per_epoch)
            return self._fit(batches, val, epochs, initial_epoch, verbose, callbacks, validation_freq)

    def _stream_ready(self, y, what, sample_weight=None, validation_split=0.0):
        """Refuse what a stream of batches cannot take, as Keras does."""
        for name, value, ok in (("y", y, y is None), ("sample_weight", sample_weight, sample_weight is None),
                                ("validation_split", validation_split, not validation_split)):
            if not ok:
                raise ValueError(f"{what}(x=...) is a generator, PyDataset or DataLoader, whose batches carry the "
                                 f"targets and weights: {name}= is not accepted. Received: {name}={value!r}")

    def _stream(self, source, steps, what, **kwargs):
        """A StreamBatches over source; a model that has not met data is built from its first batch's shape."""
        stream = StreamBatches(self.model, source, steps, what, **kwargs)
        if not self.model.built:
            self.model.build(stream.first_shape()[1:])
        return stream

    def _validation_batches(self, validation_data, steps, batch_size):
        """What validates each epoch: a callable giving an iterable of (step, x, y, weights)."""
        if validation_data is None:
            return None
        if is_stream(validation_data):
            return StreamBatches(self.model, validation_data, steps, "validation").epoch
        return _in_order(*check_validation_data(self.model, self.heads, validation_data), batch_size, steps)

    def _fit(self, batches, val, epochs, initial_epoch, verbose, callbacks, validation_freq):
        model = self.model
        history = History()
        progress = Progress(verbose)
        steps = batches.steps
        params = {"epochs": epochs, "steps": steps, "batch_size": batches.batch_size, "samples": batches.n,
                  "verbose": verbose}
        cbs = CallbackList(callbacks + [history], model, params)   # History last, as Keras: it sees what others add
        model.stop_training = False
        model.history = history
        interrupted = Interrupt()
        logs = {}
        cbs.on_train_begin()
        with interrupted, backend.blas_held(), self._pool.lease("train") as contexts:
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                means, t0 = _Means(self), time.perf_counter()
                bar = progress.bar(steps, f"Epoch {epoch + 1}/{epochs}")
                for step, xb, yb, wb in batches.epoch():
                    cbs.on_train_batch_begin(step)
                    n = rows(xb)
                    loss, parts = self._step(contexts.get(n), xb, yb, wb)
                    logs = means.add(loss, parts, n)
                    cbs.on_train_batch_end(step, logs=logs)
                    if bar is not None:
                        bar.update(1)
                        if step % 20 == 0 or step == steps - 1:
                            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
                    if not math.isfinite(loss):
                        warnings.warn(f"Epoch {epoch + 1}, batch {step}: invalid loss {loss}; terminating training "
                                      "(the weights are those before this batch)", RuntimeWarning, stacklevel=4)
                        model.stop_training = True
                    if model.stop_training or interrupted.requested:
                        break
                if getattr(batches, "exhausted", False):   # the stream ran out: no epoch after this one
                    model.stop_training = True
                    if means.seen == 0:
                        if bar is not None:
                            bar.close()
                        break
                elapsed = time.perf_counter() - t0
                if bar is not None:
                    bar.close()
                logs = dict(logs)
                if val is not None and not interrupted.requested and (epoch + 1) % validation_freq == 0:
                    vals = self._evaluate(val(), cbs=cbs)   # empty when a validation stream ran out
                    logs.update({"val_" + k: v for k, v in vals.items()})
                speed = means.seen / elapsed if elapsed > 0 else float("inf")
                history.timing["seconds"].append(elapsed)
                history.timing["samples_per_second"].append(speed)
                cbs.on_epoch_end(epoch, logs=logs)
                progress.epoch_line(epoch, epochs, elapsed, logs, speed)
                if model.stop_training or interrupted.requested:
                    break
        if interrupted.requested:
            warnings.warn("fit interrupted (Ctrl-C): stopped after the current batch; the weights are kept",
                          RuntimeWarning, stacklevel=4)
        cbs.on_train_end(logs=logs)
        return history

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        model = self.model
        self._require_compiled("train_on_batch")
        with self._exclusive("train_on_batch"):
            x = check_x(model, x)
            n = rows(x)
            y = check_y(self.heads, y, n)
            w = sample_weights(self.heads, y, n, sample_weight, class_weight)
            model._ensure_resolved()
            with self._pool.lease("train") as contexts:
                loss, parts = self._step(contexts.get(n), x, y, w)
        return self._result(_Means(self).add(loss, parts, n), return_dict)

    def _result(self, logs, return_dict):
        """What evaluate and the *_on_batch methods return: the logs, or their values in metrics_names order
        (the loss alone as a float)."""
        if return_dict:
            return logs
        values = [logs[k] for k in self.model.metrics_names]
        return values if len(values) > 1 else values[0]

    def _step(self, context, x, y, w):
        with self._guard.writing:
            return train_step(context, self.heads, self.model.optimizer, x, y, w)

    # -- inference ----------------------------------------------------------------------------
    def _evaluate(self, batches, tracker=None, cbs=None):
        """{"loss": mean loss, "accuracy": ...} over batches, (step, x, y, per-sample loss weights or None);
        the test hooks of cbs (a CallbackList) when given."""
        means, logs = _Means(self), {}
        reading = self._guard.reading
        if cbs is not None:
            cbs.on_test_begin()
        with self._pool.lease("test") as contexts:
            for step, xb, yb, wb in batches:
                if cbs is not None:
                    cbs.on_test_batch_begin(step)
                n = rows(xb)
                with reading:
                    loss, parts = test_step(contexts.get(n), self.heads, xb, yb, wb)
                logs = means.add(loss, parts, n)
                if cbs is not None:
                    cbs.on_test_batch_end(step, logs=logs)
                if tracker is not None:
                    tracker.advance()
        if cbs is not None:
            cbs.on_test_end(logs=logs)
        return dict(logs)

    def _predict_stream(self, source, steps, verbose, callbacks):
        """predict over a stream of batches (x, or tuples whose first item is x): the outputs joined."""
        model = self.model
        stream = self._stream(source, steps, "predict", targets=False)
        cbs = self._callbacks(callbacks, "predict", stream.steps, verbose)
        model._ensure_resolved()
        tracker = Progress(verbose).track(stream.steps)
        batches = []
        if cbs is not None:
            cbs.on_predict_begin()
        with self._pool.lease("predict") as contexts:
            for step, xb, _, _ in stream.epoch():
                if cbs is not None:
                    cbs.on_predict_batch_begin(step)
                with self._guard.reading:
                    out = forward(contexts.get(rows(xb)), xb, False)
                    batches.append([np.array(o) for o in out] if isinstance(out, list) else [np.array(out)])
                if cbs is not None:
                    cbs.on_predict_batch_end(step, logs={"outputs": model._structured(batches[-1])})
                tracker.advance()
        if cbs is not None:
            cbs.on_predict_end()
        tracker.close()
        if not batches:
            return model._structured([np.empty((0,) + shape, model.dtype) for shape in model._output_shapes])
        return model._structured([np.concatenate(parts) for parts in zip(*batches)])

    def _callbacks(self, callbacks, where, steps, verbose):
        """The CallbackList of an evaluate or predict call (None without callbacks)."""
        callbacks = check_callbacks(callbacks, where)
        return CallbackList(callbacks, self.model, {"verbose": verbose, "epochs": 1, "steps": steps}) \
            if callbacks else None

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, whole=False):
        """whole: all of x in one batch (test_on_batch)."""
        model = self.model
        self._require_compiled("evaluate")
        batch_size = check_batch_size(batch_size)
        verbose = check_verbose(verbose)
        steps = _steps("steps", steps)
        if is_stream(x):
            self._stream_ready(y, "evaluate", sample_weight=sample_weight)
            source = self._stream(x, steps, "evaluate")
            batches, steps = source.epoch(), source.steps
        else:
            x = check_x(model, x)
            n = rows(x)
            if whole:
                batch_size = n
            y = check_y(self.heads, y, n)
            w = sample_weights(self.heads, y, n, sample_weight)
            batches = _in_order(x, y, w, batch_size, steps)()
            steps = min(num_batches(n, batch_size), steps or n)
        cbs = self._callbacks(callbacks, "evaluate", steps, verbose)
        model._ensure_resolved()
        tracker = Progress(verbose).track(steps)
        result = self._evaluate(batches, tracker, cbs)
        if not result:
            raise ValueError("evaluate(x=...) got no batches: the stream was empty or used up")
        tracker.close(result)
        return self._result(result, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        return self.evaluate(x, y, verbose=0, sample_weight=sample_weight, return_dict=return_dict, whole=True)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, whole=False):
        """whole: all of x in one batch (predict_on_batch, calling the model on data)."""
        model = self.model
        batch_size = check_batch_size(batch_size)
        verbose = check_verbose(verbose)
        steps = _steps("steps", steps)
        if is_stream(x):
            return self._predict_stream(x, steps, verbose, callbacks)
        x = check_x(model, x, finite=False)   # each batch is checked before its kernels run, while in cache
        n = rows(x)
        if whole:
            batch_size = n
        if steps is not None:
            n = min(n, steps * batch_size)
        steps = num_batches(n, batch_size)
        cbs = self._callbacks(callbacks, "predict", steps, verbose)
        model._ensure_resolved()
        results = [np.empty((n,) + shape, model.dtype) for shape in model._output_shapes]
        tracker = Progress(verbose).track(steps)
        reading = self._guard.reading
        if cbs is not None:
            cbs.on_predict_begin()
        with self._pool.lease("predict") as contexts:
            for step, (lo, hi) in enumerate(batch_bounds(n, batch_size)):
                if cbs is not None:
                    cbs.on_predict_batch_begin(step)
                xb = x[lo:hi] if type(x) is not tuple else tuple(a[lo:hi] for a in x)
                check_finite(xb, "x", lo, model._input_names)
                with reading:
                    out = forward(contexts.get(hi - lo), xb, False)
                    if type(out) is list:
                        for result, o in zip(results, out):
                            result[lo:hi] = o
                    else:
                        results[0][lo:hi] = out
                if cbs is not None:
                    cbs.on_predict_batch_end(step, logs={"outputs": model._structured([r[lo:hi] for r in results])})
                tracker.advance()
        if cbs is not None:
            cbs.on_predict_end()
        tracker.close()
        return model._structured(results)


class _Means:
    """Running means over the samples seen, as Keras's per-batch logs report them: the loss, each output's
    own loss (a model of several outputs), each accuracy asked for."""

    def __init__(self, trainer):
        self.heads, self.loss, self.seen = trainer.heads, 0.0, 0
        self.losses, self.correct = [0.0] * len(self.heads), [0] * len(self.heads)

    def add(self, loss, parts, n):
        """Count a batch of n samples (the model's mean loss; per head, its mean loss and correct predictions);
        a new logs dict."""
        self.loss += loss * n
        self.seen += n
        for k, (loss_k, correct_k) in enumerate(parts):
            self.losses[k] += loss_k * n
            self.correct[k] += correct_k
        logs = {"loss": self.loss / self.seen}
        heads = self.heads
        if len(heads) > 1:
            for head, total in zip(heads, self.losses):
                logs[head.loss_key] = total / self.seen
        for head, correct in zip(heads, self.correct):
            if head.accuracy:
                logs[head.accuracy] = correct / self.seen
        return logs


def _steps(name, steps):
    return None if steps is None else check_int(name, steps, minimum=1)


def _in_order(x, y, w, batch_size, steps=None):
    """A callable giving the batches of arrays in order, (step, x, y, weights or None), at most `steps`."""
    return EpochIterator(x, y, batch_size, False, None, w, steps).epoch


class _Exclusive:
    """Holds the model's training lock for one fit or train_on_batch; raises at once if it is taken."""

    def __init__(self, lock, what, name):
        self._lock, self._what, self._name = lock, what, name

    def __enter__(self):
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"{self._what}() was called on model {self._name!r} while it is training (in another "
                               "thread, or from a callback of its fit); a model trains in one fit or "
                               "train_on_batch at a time")

    def __exit__(self, *exc):
        self._lock.release()
        return False
