"""Callbacks in fit: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN,
fit's own NaN stop, the order of hooks, Ctrl-C during fit, and the stratified validation_split.

Monitored values are scripted (a callback placed first overwrites logs[monitor]), so every test knows which
epoch is best without depending on what a tiny network happens to learn.
"""
import os
import signal

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, optimizers

from .scripted import Script


pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def _model(learning_rate=0.1, seed=0):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(6, activation="relu"),
                               layers.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizers.SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(callbacks.Callback):
    """Every hook call, in order, with the learning rate in force."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _log(self, hook, index=None):
        self.calls.append((hook, index, self.model.optimizer.learning_rate))

    def on_train_begin(self, logs=None): self._log("train_begin")
    def on_train_end(self, logs=None): self._log("train_end")
    def on_epoch_begin(self, epoch, logs=None): self._log("epoch_begin", epoch)
    def on_epoch_end(self, epoch, logs=None): self._log("epoch_end", epoch)
    def on_train_batch_begin(self, batch, logs=None): self._log("batch_begin", batch)
    def on_train_batch_end(self, batch, logs=None): self._log("batch_end", batch)

    def rates(self, hook):
        return [lr for h, _, lr in self.calls if h == hook]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# -- EarlyStopping -----------------------------------------------------------------------------------
@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_stops_after_patience_and_restores_the_best_weights(restore):
    x, y = _data()
    model = _model()
    script = Script("val_loss", [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=restore)
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2, 3]        # best at epoch 1, two epochs without improvement
    assert stop.stopped_epoch == 3
    assert not _same(script.weights[1], script.weights[3])
    expected = script.weights[1] if restore else script.weights[3]
    assert _same(model.get_weights(), expected)


def test_early_stopping_min_delta_and_mode_max():
    x, y = _data()
    script = Script("val_accuracy", [0.5, 0.6, 0.605, 0.61, 0.9])
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.02)
    history = _model().fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2, 3]        # +0.005 and +0.01 are below min_delta
    assert stop.best == 0.6


# -- ModelCheckpoint ---------------------------------------------------------------------------------
def test_model_checkpoint_save_best_only(tmp_path):
    x, y = _data()
    model = _model()
    script = Script("val_loss", [1.0, 0.5, 0.7, 0.4, 0.45])
    every = callbacks.ModelCheckpoint(str(tmp_path / "epoch-{epoch}.fastnn"), save_best_only=True)
    best = callbacks.ModelCheckpoint(tmp_path / "best.fastnn", save_best_only=True)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[script, every, best])
    assert sorted(os.listdir(tmp_path)) == ["best.fastnn", "epoch-1.fastnn", "epoch-2.fastnn", "epoch-4.fastnn"]
    assert _same(fastnn.load_model(tmp_path / "best.fastnn").get_weights(), script.weights[3])
    assert _same(fastnn.load_model(tmp_path / "epoch-2.fastnn").get_weights(), script.weights[1])


def test_model_checkpoint_saves_every_epoch_without_save_best_only(tmp_path):
    x, y = _data()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.fastnn"))
    _model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["m-1.fastnn", "m-2.fastnn", "m-3.fastnn"]


# -- learning rate -------------------------------------------------------------------------------------
def test_reduce_lr_on_plateau_waits_patience_epochs_and_respects_min_lr():
    x, y = _data()
    model = _model(learning_rate=0.1)
    recorder = Recorder()
    script = Script("val_loss", [1.0] * 7)
    reduce = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03)
    model.fit(x, y, epochs=7, batch_size=8, verbose=0, callbacks=[recorder, script, reduce])
    assert recorder.rates("epoch_begin") == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03])


def test_reduce_lr_on_plateau_keeps_the_rate_while_improving():
    x, y = _data()
    model = _model(learning_rate=0.1)
    script = Script("val_loss", [1.0, 0.9, 0.8, 0.7, 0.6])
    model.fit(x, y, epochs=5, batch_size=8, verbose=0,
              callbacks=[script, callbacks.ReduceLROnPlateau(factor=0.5, patience=1)])
    assert model.optimizer.learning_rate == 0.1


def test_history_records_the_learning_rate_reduce_lr_on_plateau_logs():
    x, y = _data()
    script = Script("val_loss", [1.0] * 3)
    history = _model(learning_rate=0.1).fit(x, y, epochs=3, batch_size=8, verbose=0,
                                            callbacks=[script, callbacks.ReduceLROnPlateau(factor=0.5, patience=1)])
    # as Keras: each epoch logs the rate it trained with, before the plateau check lowers it for the next
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])


def test_learning_rate_scheduler_sets_the_rate_of_every_batch_of_the_epoch():
    x, y = _data()
    model = _model()
    recorder = Recorder()
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5 ** epoch)
    model.fit(x, y, epochs=3, batch_size=10, verbose=0, callbacks=[schedule, recorder])
    assert recorder.rates("batch_begin") == pytest.approx([0.2] * 4 + [0.1] * 4 + [0.05] * 4)
    # the rate is the one the optimizer uses: a constant 0.2 ends elsewhere
    constant = _model()
    constant.fit(x, y, epochs=3, batch_size=10, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: 0.2)])
    assert not _same(model.get_weights(), constant.get_weights())


def test_learning_rate_scheduler_refuses_an_invalid_rate():
    x, y = _data()
    with pytest.raises(ValueError, match="invalid learning rate"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: 0.0)])


# -- NaN ----------------------------------------------------------------------------------------------
def _diverging_regression():
    """A linear model whose third batch has targets so large that the float32 squared error overflows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = rng.normal(size=40).astype(np.float32)
    y[20:30] = 1e20
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(1)], seed=0)
    model.compile(optimizers.SGD(0.01), "mse")
    return model, x, y


class WeightsPerBatch(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights, self.losses = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.losses.append(logs["loss"])


@pytest.mark.parametrize("terminate_on_nan", [False, True], ids=["fit-itself", "TerminateOnNaN"])
def test_an_invalid_loss_stops_training_and_keeps_the_last_finite_weights(terminate_on_nan):
    model, x, y = _diverging_regression()
    seen = WeightsPerBatch()
    extra = [callbacks.TerminateOnNaN()] if terminate_on_nan else []
    with np.errstate(over="ignore", invalid="ignore"), pytest.warns(RuntimeWarning, match="invalid loss"):
        history = model.fit(x, y, epochs=3, batch_size=10, shuffle=False, verbose=0, callbacks=[seen] + extra)
    assert len(seen.losses) == 3 and np.isfinite(seen.losses[:2]).all() and not np.isfinite(seen.losses[2])
    assert history.epoch == [0]
    assert model.stop_training
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert _same(model.get_weights(), seen.weights[1])      # the bad batch applied no update


def test_terminate_on_nan_flags_the_model():
    model = _model()
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_batch_end(0, {"loss": 0.5})
    assert not model.stop_training
    with pytest.warns(RuntimeWarning, match="invalid loss nan"):
        cb.on_train_batch_end(1, {"loss": float("nan")})
    assert model.stop_training


# -- hooks ----------------------------------------------------------------------------------------------
def test_a_custom_callback_sees_every_hook_in_order():
    x, y = _data(n=10)
    recorder = Recorder()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[recorder], validation_data=(x, y))
    epoch = [("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
             ("batch_begin", 2), ("batch_end", 2)]
    expected = ([("train_begin", None)] + [("epoch_begin", 0)] + epoch + [("epoch_end", 0)]
                + [("epoch_begin", 1)] + epoch + [("epoch_end", 1), ("train_end", None)])
    assert [(h, i) for h, i, _ in recorder.calls] == expected
    assert recorder.model is model
    assert recorder.params == {"epochs": 2, "steps": 3, "batch_size": 4, "samples": 10, "verbose": 0}


def test_epoch_logs_hold_the_metrics_history_keeps():
    x, y = _data(n=10)
    seen = {}

    class Keys(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.update(logs)

    history = _model().fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[Keys()], validation_data=(x, y))
    assert set(seen) == {"loss", "accuracy", "val_loss", "val_accuracy"} == set(history.history)   # as Keras
    assert len(history.timing["samples_per_second"]) == len(history.timing["seconds"]) == 1


# -- Ctrl-C ---------------------------------------------------------------------------------------------
class CtrlC(callbacks.Callback):
    """Sends SIGINT to this process at the end of batch `at` of the first epoch."""

    def __init__(self, at):
        super().__init__()
        self.at, self.batches, self.weights = at, 0, None

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == self.at + 1:
            os.kill(os.getpid(), signal.SIGINT)
            self.weights = self.model.get_weights()


def test_ctrl_c_during_fit_returns_the_history_and_keeps_the_weights():
    x, y = _data(n=80)
    model = _model()
    before = model.get_weights()
    ctrl_c = CtrlC(at=2)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[ctrl_c])
    assert isinstance(history, callbacks.History)
    assert ctrl_c.batches == 3                   # stopped after the batch in progress
    assert history.epoch == [0]
    assert _same(model.get_weights(), ctrl_c.weights)
    assert not _same(model.get_weights(), before)
    assert signal.getsignal(signal.SIGINT) is handler   # fit put the previous handler back


# -- validation_split ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_validation_split_is_stratified(seed):
    """90 samples of class 0 then 10 of class 1, split 0.2: exactly 18 and 2 must be held out.

    Inputs are zeros, so the model predicts the same probabilities p for every sample; then
    val_accuracy = share of class 0 in the validation set and val_loss = -(share0 log p0 + share1 log p1)
    reveal its composition. A split that ignores classes gets exactly 2 of class 1 only ~30% of the time.
    """
    x = np.zeros((100, 2), np.float32)
    y = np.array([0] * 90 + [1] * 10)
    model = fastnn.Sequential([layers.Input((2,)), layers.Dense(2, activation="softmax")], seed=seed)
    model.compile(optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    recorder = Recorder()
    history = model.fit(x, y, epochs=1, batch_size=80, validation_split=0.2, verbose=0, callbacks=[recorder])
    assert recorder.params["samples"] == 80
    p = model.predict(x[:1])[0].astype(np.float64)
    assert history.history["val_accuracy"] == [pytest.approx(0.9)]
    assert history.history["val_loss"][0] == pytest.approx(-(0.9 * np.log(p[0]) + 0.1 * np.log(p[1])), rel=1e-5)


def test_model_checkpoint_verbose_says_what_keras_says(tmp_path, capsys):
    x, y = _data()
    script = Script("val_loss", [0.5, 0.7, 0.25])
    check = callbacks.ModelCheckpoint(tmp_path / "best.fastnn", save_best_only=True, verbose=1)
    _model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[script, check])
    out = capsys.readouterr().out.splitlines()
    assert out == [f"Epoch 1: val_loss improved from inf to 0.50000, saving model to {tmp_path / 'best.fastnn'}",
                   "Epoch 2: val_loss did not improve from 0.50000",
                   f"Epoch 3: val_loss improved from 0.50000 to 0.25000, saving model to {tmp_path / 'best.fastnn'}"]


def test_a_hook_is_called_however_a_callback_defines_it():
    """CallbackList calls only the callbacks that can do something at a hook: a class's own method, Keras's
    older on_batch_* name that on_train_batch_* forwards to, or a method set on the instance."""
    x, y = _data()
    seen = []

    class Old(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(("old", batch))

    late = callbacks.Callback()
    late.on_epoch_end = lambda epoch, logs=None: seen.append(("late", epoch))
    plain = callbacks.Callback()
    listed = callbacks.CallbackList([Old(), late, plain], None, {})
    listed.on_train_batch_end(3)
    listed.on_epoch_end(1, logs={"loss": 0.5})
    listed.on_train_begin()
    assert seen == [("old", 3), ("late", 1)]
    _model().fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[Old()])
    assert seen[2:] == [("old", 0), ("old", 1)]
