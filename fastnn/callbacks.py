"""Callbacks with Keras names and hooks: History, TerminateOnNaN, EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler, and the Callback base class."""
import math
import warnings

import numpy as np


# Every hook, as Keras 3 names them; fit calls the train, epoch and (for validation) test hooks, evaluate the
# test hooks, predict the predict hooks. Each gets a logs dict, never None.
HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
         "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override any of the hooks; self.model and self.params are set before the first hook.

    As in Keras, logs carry the running means over the epoch (or over the evaluate call) so far:
    per-batch "loss" and "accuracy" at on_train_batch_end and on_test_batch_end, the epoch's values with the
    validation's "val_" ones at on_epoch_end, the last epoch's at on_train_end, and {"outputs": ...} at
    on_predict_batch_end. on_train_batch_begin/end call on_batch_begin/end, Keras's older names."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


def check_callbacks(callbacks, where):
    """callbacks (None or an iterable of Callback) -> a list; TypeError naming `where` otherwise."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        raise TypeError(f"{where}(callbacks=...) expects a list of callbacks. Received: a single {callbacks!r}")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"{where}(callbacks=...) expects fastnn.callbacks.Callback instances. "
                            f"Received: {cb!r}")
    return callbacks


class History(Callback):
    """What fit() returns: history[name] is a list with one value per epoch ("loss", "val_accuracy", ...),
    as Keras's; timing["seconds"] and timing["samples_per_second"] the epochs' training times (fastnn's)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.timing = {"seconds": [], "samples_per_second": []}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}
        self.timing = {"seconds": [], "samples_per_second": []}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def plot(self, path=None, metrics=None):
        """Loss/metric curves, train beside validation (overfitting shows as a widening gap). Needs matplotlib."""
        from .plots import plot_history

        return plot_history(self, path=path, metrics=metrics)


class TerminateOnNaN(Callback):
    """Stops training when a batch loss becomes NaN or inf (fit() also does this by itself)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            warnings.warn(f"Batch {batch}: invalid loss {loss}, terminating training", RuntimeWarning, stacklevel=2)
            self.model.stop_training = True


class _Monitor(Callback):
    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}(mode=...) expects 'auto', 'min' or 'max'. Received: mode={mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = None

    def _value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: metric {self.monitor!r} is not available; available: "
                          f"{sorted(logs or {})}", RuntimeWarning, stacklevel=3)
        return value

    def _improved(self, value):
        return self.best is None or self._beats(value, self.best)

    def _beats(self, value, reference):
        """value better than reference by more than min_delta, in this monitor's direction"""
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when `monitor` has not improved for `patience` epochs, as Keras's EarlyStopping.

    baseline: the wait restarts only on an epoch that beats both the best so far and the baseline.
    restore_best_weights: when training ends (stopped early or out of epochs), the weights of the best
    epoch are restored. verbose=1 says when it stops and restores."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), bool(restore_best_weights)
        self.start_from_epoch, self.verbose, self.baseline = int(start_from_epoch), verbose, baseline
        self.stopped_epoch, self.best_epoch, self.wait, self.best_weights = 0, 0, 0, None

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights, self.stopped_epoch, self.best_epoch = None, 0, None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._beats(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (or only when `monitor` improves); `filepath` may use {epoch} and log keys."""

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0):
        super().__init__(monitor, mode, 0.0)
        self.filepath, self.save_best_only, self.verbose = str(filepath), bool(save_best_only), verbose

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = self._value(logs)
            if value is None:
                return
            if not self._improved(value):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                before = float("inf") if self.mode == "min" else float("-inf")
                print(f"Epoch {epoch + 1}: {self.monitor} improved from "
                      f"{before if self.best is None else self.best:.5f} to {value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self.model.save(path)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs (not below min_lr)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0,
                 min_lr=0.0, verbose=0):
        super().__init__(monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau(factor=...) expects a number in (0, 1). Received: factor={factor}")
        self.factor, self.patience, self.cooldown, self.min_lr = factor, int(patience), int(cooldown), min_lr
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.learning_rate
                new = max(old * self.factor, self.min_lr)
                if new < old:
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new:g}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to schedule(epoch, current_lr)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler(schedule=...) expects a callable. Received: {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.optimizer.learning_rate))
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"LearningRateScheduler: schedule returned an invalid learning rate {lr!r} at epoch {epoch}")
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:g}.")


class CallbackList:
    """Calls every callback's hook in order, with a logs dict (the same one for all, so what one callback
    adds, such as ReduceLROnPlateau's learning_rate, the next ones see, History last).

    Each hook calls only the callbacks that override it (or, for on_train_batch_*, Keras's older
    on_batch_* it forwards to), looked up once here: a step of fit pays nothing for hooks nobody uses."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        for hook in HOOKS:
            setattr(self, hook, _caller([getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]))


_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(cb, hook):
    """Whether calling cb's hook can do anything: its class (or the instance) defines it, or the older name
    the base class forwards it to; any hook of a callback that looks its attributes up its own way."""
    if type(cb).__getattribute__ is not object.__getattribute__ or hasattr(type(cb), "__getattr__"):
        return True
    names = (hook, _ALIASES[hook]) if hook in _ALIASES else (hook,)
    return any(name in vars(cb) or getattr(type(cb), name) is not getattr(Callback, name) for name in names)


def _caller(methods):
    """One hook of a CallbackList: each method called with the hook's arguments and one logs dict."""
    if not methods:
        def call(*args, logs=None):
            pass
        return call
    if len(methods) == 1:
        (method,) = methods

        def call(*args, logs=None):
            method(*args, {} if logs is None else logs)
        return call

    def call(*args, logs=None):
        logs = {} if logs is None else logs
        for method in methods:
            method(*args, logs)
    return call
