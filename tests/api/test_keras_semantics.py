"""Keras 3's documented behaviour where fastnn used to differ: callback hooks and their logs, EarlyStopping's
restore, metrics_names, History's keys."""
import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, optimizers

pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def _data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def _model(seed=0):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(6, activation="relu"),
                               layers.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Every(callbacks.Callback):
    """Records every hook Keras defines, with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name in callbacks.HOOKS and name not in ("on_train_batch_begin", "on_train_batch_end"):
            return lambda *args: self.calls.append((name, args[:-1], args[-1] if args[-1] is None else dict(args[-1])))
        return super().__getattribute__(name)


def _hooks(calls, prefix):
    return [(h, a) for h, a, _ in calls if h.startswith(prefix)]


def test_fit_calls_every_train_and_test_hook_with_a_logs_dict():
    x, y = _data()
    every = Every()
    model = _model()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[every], validation_data=(x, y))
    names = [h for h, _, _ in every.calls]
    # Keras's order: the batch hooks (through on_batch_begin/end), then validation's test hooks, then the epoch's end
    assert names == (["on_train_begin", "on_epoch_begin"] + ["on_batch_begin", "on_batch_end"] * 3
                     + ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] + ["on_test_end"]
                     + ["on_epoch_end", "on_train_end"])
    assert all(isinstance(logs, dict) for _, _, logs in every.calls)
    assert every.model is model and every.params["steps"] == 3


def test_batch_logs_carry_the_running_mean_and_the_last_one_is_the_epochs():
    x, y = _data()
    every = Every()
    history = _model().fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[every], shuffle=False)
    ends = [logs for h, _, logs in every.calls if h == "on_batch_end"]
    # the same batches, one at a time, from the same start: each batch's own loss
    model = _model()
    own = [model.train_on_batch(x[lo:lo + 4], y[lo:lo + 4])[0] for lo in (0, 4, 8)]
    sizes = np.array([4, 4, 2])
    running = np.cumsum(np.array(own) * sizes) / np.cumsum(sizes)
    assert [logs["loss"] for logs in ends] == pytest.approx(running, rel=1e-6)
    assert ends[-1]["loss"] == pytest.approx(history.history["loss"][0])
    assert ends[-1]["accuracy"] == pytest.approx(history.history["accuracy"][0])
    end = [logs for h, _, logs in every.calls if h == "on_train_end"][0]
    assert end == {k: v[-1] for k, v in history.history.items()}   # on_train_end gets the last epoch's logs


def test_evaluate_and_predict_take_callbacks():
    x, y = _data()
    model = _model()
    every = Every()
    result = model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[every], return_dict=True)
    assert [h for h, _, _ in every.calls] == (["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 3
                                              + ["on_test_end"])
    assert every.calls[-1][2] == result
    every.calls.clear()
    out = model.predict(x, batch_size=4, callbacks=[every])
    assert [h for h, _, _ in every.calls] == (["on_predict_begin"]
                                              + ["on_predict_batch_begin", "on_predict_batch_end"] * 3
                                              + ["on_predict_end"])
    outputs = [logs["outputs"] for h, _, logs in every.calls if h == "on_predict_batch_end"]
    assert np.array_equal(np.concatenate(outputs), out)
    with pytest.raises(TypeError, match=r"evaluate\(callbacks=...\) expects fastnn.callbacks.Callback"):
        model.evaluate(x, y, callbacks=[print])
    with pytest.raises(TypeError, match=r"predict\(callbacks=...\) expects a list"):
        model.predict(x, callbacks=every)


class Script(callbacks.Callback):
    """Sets logs[monitor] to values[epoch] at each epoch end and keeps a copy of the weights then."""

    def __init__(self, monitor, values):
        super().__init__()
        self.monitor, self.values, self.weights = monitor, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.monitor] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


def test_early_stopping_restores_the_best_weights_when_the_epochs_run_out():
    x, y = _data()
    model = _model()
    script = Script("val_loss", [1.0, 0.5, 0.6, 0.7])
    stop = callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 0 and stop.best_epoch == 1
    assert _same(model.get_weights(), script.weights[1])


def test_early_stopping_baseline_keeps_counting_until_it_is_beaten():
    x, y = _data()
    values = [0.9, 0.8, 0.85, 0.86, 0.87, 0.88]
    stop = callbacks.EarlyStopping(patience=3, baseline=0.5)
    history = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Script("val_loss", values), stop])
    # epochs 0 and 1 improve but stay above the baseline, so the wait is not restarted: 3 at epoch 2
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 2
    stop = callbacks.EarlyStopping(patience=3)
    history = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Script("val_loss", values), stop])
    assert history.epoch == [0, 1, 2, 3, 4]   # without one, the wait restarts at epoch 1's improvement


def test_metrics_names_label_what_evaluate_returns():
    x, y = _data()
    model = _model()
    assert model.metrics_names == ["loss", "accuracy"]
    assert dict(zip(model.metrics_names, model.evaluate(x, y, verbose=0))) == \
        model.evaluate(x, y, verbose=0, return_dict=True)
    plain = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    plain.compile("sgd", "sparse_categorical_crossentropy")
    assert plain.metrics_names == ["loss"] and np.isscalar(plain.evaluate(x, y, verbose=0))


def test_history_holds_only_the_logs_and_timing_holds_the_speed():
    x, y = _data()
    history = _model().fit(x, y, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert len(history.timing["seconds"]) == 2 and all(v > 0 for v in history.timing["samples_per_second"])
