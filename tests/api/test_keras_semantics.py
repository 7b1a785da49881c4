"""Keras 3's documented behaviour where fastnn used to differ: callback hooks and their logs, EarlyStopping's
restore, metrics_names, History's keys."""
import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers, optimizers

from .scripted import Script

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
    # Keras's order: the batch hooks (through on_batch_begin/end), then validation's test hooks (in batches of
    # batch_size, as Keras's validation_batch_size defaults to), then the epoch's end
    assert names == (["on_train_begin", "on_epoch_begin"] + ["on_batch_begin", "on_batch_end"] * 3
                     + ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 3 + ["on_test_end"]
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


# -- trainable = False -----------------------------------------------------------------------------------
def _three(seed=0, optimizer="sgd"):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(5, activation="tanh", name="first"),
                               layers.Dense(5, activation="tanh", name="middle"),
                               layers.Dense(3, activation="softmax", name="last")], seed=seed)
    return model


@pytest.mark.parametrize("backend_name", fastnn.available_backends())
def test_a_frozen_layer_never_changes_and_the_gradient_still_flows_through_it(backend_name):
    x, y = _data(n=16)
    with _select(backend_name):
        frozen, free = _three(), _three()
        frozen.get_layer("middle").trainable = False
        for model in (frozen, free):
            model.compile(optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        before = frozen.get_weights()
        frozen.train_on_batch(x, y)
        free.train_on_batch(x, y)
    after, moved = frozen.get_weights(), free.get_weights()
    # the middle layer's kernel and bias are as they were; the others moved exactly as in the model that
    # trains everything (one SGD step: their gradients do not depend on whether the middle one trains)
    assert np.array_equal(after[2], before[2]) and np.array_equal(after[3], before[3])
    for i in (0, 1, 4, 5):
        assert not np.array_equal(after[i], before[i])
        np.testing.assert_allclose(after[i], moved[i], rtol=1e-5, atol=1e-6)


class _select:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.previous = fastnn.get_backend()
        fastnn.set_backend(self.name)

    def __exit__(self, *exc):
        fastnn.set_backend(self.previous)


def test_trainable_counts_in_summary_and_weight_lists_and_applies_at_compile():
    x, y = _data(n=16)
    model = _three()
    model.compile("sgd", "sparse_categorical_crossentropy")
    middle = model.get_layer("middle")
    middle.trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    assert " Trainable params: 43" in lines and " Non-trainable params: 30" in lines   # 25 + 18, and 30
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2
    assert len(model.weights) == 6 and model.weights[2] is middle.kernel and model.weights[2].path == "middle/kernel"
    # as in Keras, the change counts from the next compile: until then the layer still trains
    before = middle.get_weights()
    model.train_on_batch(x, y)
    assert not np.array_equal(middle.get_weights()[0], before[0])
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = middle.get_weights()
    model.train_on_batch(x, y)
    assert np.array_equal(middle.get_weights()[0], before[0])
    middle.trainable = True     # and back
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    assert not np.array_equal(middle.get_weights()[0], before[0])


def test_model_trainable_freezes_every_layer():
    x, y = _data(n=16)
    model = _three()
    model.trainable = False
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    assert _same(model.get_weights(), before) and model.trainable_weights == []


def test_a_frozen_batch_norm_runs_in_inference_mode_and_keeps_its_statistics():
    rng = np.random.default_rng(1)
    x, y = rng.normal(3, 2, size=(32, 4)).astype(np.float32), rng.integers(0, 3, size=32)
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(6), layers.BatchNormalization(name="bn"),
                               layers.Dense(3, activation="softmax")], seed=0)
    bn = model.get_layer("bn")
    bn.set_weights([np.full(6, 1.5), np.full(6, 0.2), np.full(6, 0.1), np.full(6, 2.0)])
    bn.trainable = False
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = model.get_weights()
    for i in (2, 3, 4, 5):    # gamma, beta, moving mean and variance
        assert np.array_equal(after[i], before[i])
    assert not np.array_equal(after[0], before[0])   # the Dense before it trains through it
    # training and inference give the same loss on a batch (inference mode in both)
    assert model.test_on_batch(x, y) == pytest.approx(model.evaluate(x, y, batch_size=32, verbose=0))


def test_frozen_layers_survive_save_and_load(tmp_path):
    x, y = _data(n=16)
    model = _three()
    model.get_layer("middle").trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.fastnn")
    loaded = fastnn.load_model(tmp_path / "m.fastnn")
    assert loaded.get_layer("middle").trainable is False
    assert loaded.get_config() == model.get_config()
    before = loaded.get_layer("middle").get_weights()
    loaded.fit(x, y, epochs=1, verbose=0)
    assert _same(loaded.get_layer("middle").get_weights(), before)


# -- Sequential structure ---------------------------------------------------------------------------
def test_a_model_that_starts_with_input_is_built_at_once_and_add_names_layers():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(5)])
    assert model.built and model.output_shape == (None, 5)
    model.add(layers.Dense(3))
    model.add(layers.Dense(2, name="out"))
    assert model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "out"]
    assert model.get_layer("dense_1") is model.layers[1]
    late = fastnn.Sequential()
    late.add(layers.Dense(3))
    late.add(layers.Dense(3))
    assert [layer.name for layer in late.layers] == ["dense", "dense_1"] and not late.built


def test_add_and_pop_keep_the_weights_of_the_layers_already_there():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(3)], seed=0)
    first = model.layers[0].get_weights()
    model.add(layers.Dense(2))
    assert _same(model.layers[0].get_weights(), first) and model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "dense_2" and model.output_shape == (None, 3)
    assert _same(model.layers[0].get_weights(), first)
    # built in one go from the same seed: the same weights as built layer by layer
    again = fastnn.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(3)], seed=0)
    assert _same(again.get_weights(), model.get_weights())


def test_compile_accepts_keras_execution_options_and_refuses_what_it_cannot_do():
    model = _three()
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True, run_eagerly=False,
                  steps_per_execution=4, auto_scale_loss=True)
    with pytest.raises(NotImplementedError, match="weighted_metrics"):
        model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    with pytest.raises(TypeError, match="jit_compile"):
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile="xla")


# -- cross-entropy on probabilities ----------------------------------------------------------------------
def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("backend_name", fastnn.available_backends())
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_cross_entropy_on_softmax_probabilities_is_clipped_as_keras_clips_it(loss, backend_name):
    from fastnn.kernels.losses.reference import categorical_ce_probs
    from fastnn.kernels.softmax_ce.reference import softmax_backward
    # logits = x (an identity kernel): the target's probability below 1e-7, above 1 - 1e-7, and ordinary
    x = np.array([[40.0, 0, 0], [40, 0, 0], [1, 0, 0.5], [0.2, 0.1, 3]])
    labels = np.array([1, 0, 2, 0])
    onehot = np.eye(3)[labels]
    with _select(backend_name):
        model = fastnn.Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax", use_bias=False)],
                                  dtype="float64")
        model.set_weights([np.eye(3)])
        model.compile(optimizers.SGD(1.0), loss)
        got = model.train_on_batch(x, labels if loss.startswith("sparse") else onehot)
    # Keras's loss on the probabilities (renormalised, clipped), through the softmax, by the references
    p = _softmax(x)
    per_sample, dp = np.empty(4), np.empty((4, 3))
    categorical_ce_probs(per_sample, dp, p, onehot, 1 / 4)
    dz = np.empty_like(dp)
    softmax_backward(dz, dp, p)
    assert got == pytest.approx(per_sample.mean(), rel=1e-9)
    assert per_sample[0] == pytest.approx(-np.log(1e-7)) and per_sample[1] == pytest.approx(-np.log1p(-1e-7))
    np.testing.assert_allclose(model.get_weights()[0], np.eye(3) - x.T @ dz, rtol=1e-9, atol=1e-12)
    assert np.array_equal((np.eye(3) - model.get_weights()[0])[:, :1] != 0, (x.T @ dz)[:, :1] != 0)


@pytest.mark.parametrize("backend_name", fastnn.available_backends())
def test_binary_cross_entropy_on_sigmoid_probabilities_is_clipped_as_keras_clips_it(backend_name):
    from fastnn.kernels.losses.reference import binary_ce_probs
    x = np.array([[20.0, 0.3], [-20.0, 0.3], [0.5, -0.4]])
    y = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    with _select(backend_name):
        model = fastnn.Sequential([layers.Input((2,)), layers.Dense(2, activation="sigmoid", use_bias=False)],
                                  dtype="float64")
        model.set_weights([np.eye(2)])
        model.compile(optimizers.SGD(1.0), "binary_crossentropy")
        got = model.train_on_batch(x, y)
    p = 1 / (1 + np.exp(-x))
    per_sample, dp = np.empty(3), np.empty((3, 2))
    binary_ce_probs(per_sample, dp, p, y, 1 / 3)
    dz = dp * p * (1 - p)
    assert got == pytest.approx(per_sample.mean(), rel=1e-9)
    np.testing.assert_allclose(model.get_weights()[0], np.eye(2) - x.T @ dz, rtol=1e-9, atol=1e-12)


def test_cross_entropy_on_logits_is_not_clipped():
    x = np.array([[40.0, 0, 0]])
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(3, use_bias=False)], dtype="float64")
    model.set_weights([np.eye(3)])
    model.compile(optimizers.SGD(1.0), fastnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert model.train_on_batch(x, np.array([1])) == pytest.approx(40.0)   # -log_softmax, exact


@pytest.mark.parametrize("from_logits", [True, False])
def test_a_loss_object_called_on_a_batch_gives_its_mean_loss(from_logits):
    # keras.losses.SparseCategoricalCrossentropy(...)(y_true, y_pred), outside fit
    z = np.array([[40.0, 0, 0], [1, 2, 0.5], [0.2, 0.1, 3]])
    labels = np.array([1, 1, 2])
    loss = fastnn.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    p = _softmax(z)
    if from_logits:   # -log_softmax, nothing clipped
        expected = -np.log(p[np.arange(3), labels])
        expected[0] = 40.0
    else:             # probabilities clipped to [1e-7, 1 - 1e-7]
        expected = -np.log(np.clip(p[np.arange(3), labels], 1e-7, 1 - 1e-7))
    assert loss(labels, z if from_logits else p) == pytest.approx(expected.mean(), rel=1e-9)


# -- sample and class weights -----------------------------------------------------------------------------
def _sgd_model(lr, seed=0):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(6, activation="tanh"),
                               layers.Dense(3, activation="softmax")], seed=seed, dtype="float64")
    model.compile(optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_sample_weight_scales_each_samples_loss_and_gradient_as_keras():
    x, y = _data(n=8)
    weighted, plain = _sgd_model(0.1), _sgd_model(0.1)
    w = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    loss = weighted.train_on_batch(x, y, sample_weight=w)[0]
    # sum(w * loss) / N: half the mean loss (and gradient) of the first four samples alone
    assert loss == pytest.approx(plain.test_on_batch(x[:4], y[:4])[0] / 2, rel=1e-12)
    half = _sgd_model(0.05)
    half.train_on_batch(x[:4], y[:4])
    assert _same_close(weighted.get_weights(), half.get_weights())
    # evaluate weighs the same way, and the weights of 1 change nothing
    assert plain.evaluate(x, y, sample_weight=np.ones(8), verbose=0) == plain.evaluate(x, y, verbose=0)
    per_sample = np.array([plain.test_on_batch(x[i:i + 1], y[i:i + 1])[0] for i in range(8)])
    w2 = np.linspace(0, 2, 8)
    assert plain.evaluate(x, y, sample_weight=w2, batch_size=3, verbose=0)[0] == pytest.approx(
        (w2 * per_sample).mean(), rel=1e-12)


def _same_close(a, b):
    return all(np.allclose(p, q, rtol=1e-12, atol=1e-14) for p, q in zip(a, b))


def test_class_weight_weighs_each_sample_by_its_class():
    x, y = _data(n=12)
    by_class, by_sample = _sgd_model(0.1), _sgd_model(0.1)
    by_class.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False, class_weight={0: 0.0, 2: 3.0})
    by_sample.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False,
                  sample_weight=np.select([y == 0, y == 2], [0.0, 3.0], 1.0))
    assert _same_close(by_class.get_weights(), by_sample.get_weights())
    onehot = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")], seed=0,
                               dtype="float64")
    onehot.compile(optimizers.SGD(0.1), "categorical_crossentropy")
    onehot.train_on_batch(x, np.eye(3)[y], class_weight={0: 0.0, 2: 3.0})
    reference = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")], seed=0,
                                  dtype="float64")
    reference.compile(optimizers.SGD(0.1), "categorical_crossentropy")
    reference.train_on_batch(x, np.eye(3)[y], sample_weight=np.select([y == 0, y == 2], [0.0, 3.0], 1.0))
    assert _same_close(onehot.get_weights(), reference.get_weights())


def test_validation_data_with_weights_and_validation_freq():
    x, y = _data(n=12)
    model = _sgd_model(0.1)
    w = np.linspace(0, 1, 12)
    history = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y, w), validation_freq=2)
    assert len(history.history["val_loss"]) == 2 and len(history.history["loss"]) == 4
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, sample_weight=w, verbose=0)[0])


@pytest.mark.parametrize("bad,error,match", [
    (np.ones(5), ValueError, r"`sample_weight` expects one weight per sample, shape \(12,\)"),
    (-np.ones(12), ValueError, r"`sample_weight` expects finite weights >= 0"),
    (np.full(12, np.nan), ValueError, r"`sample_weight` expects finite weights >= 0"),
    (np.array(["a"] * 12), TypeError, r"`sample_weight` expects numbers"),
])
def test_bad_sample_weights_are_refused(bad, error, match):
    x, y = _data(n=12)
    with pytest.raises(error, match=match):
        _sgd_model(0.1).fit(x, y, sample_weight=bad, verbose=0)


def test_bad_class_weights_are_refused():
    x, y = _data(n=12)
    with pytest.raises(TypeError, match="`class_weight` expects a non-empty dict"):
        _sgd_model(0.1).fit(x, y, class_weight=[1, 2, 3], verbose=0)
    with pytest.raises(ValueError, match="`class_weight` expects finite weights >= 0"):
        _sgd_model(0.1).fit(x, y, class_weight={0: -1.0}, verbose=0)
    for bad in ({}, {-1: 1.0}, {True: 1.0}):
        with pytest.raises(TypeError, match="`class_weight` expects a non-empty dict of class index"):
            _sgd_model(0.1).fit(x, y, class_weight=bad, verbose=0)
    with pytest.raises(TypeError, match="`class_weight` expects numbers as weights"):
        _sgd_model(0.1).fit(x, y, class_weight={0: "heavy"}, verbose=0)


# -- model files, JSON and clones -------------------------------------------------------------------------
def test_save_weights_and_load_weights_with_keras_names(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    other = _model(seed=5)
    assert not _same(other.get_weights(), model.get_weights())
    other.load_weights(tmp_path / "m.weights.h5")
    assert _same(other.get_weights(), model.get_weights())
    with pytest.raises(ValueError, match=r"expects a name ending in '.weights.h5'"):
        model.save_weights(tmp_path / "m.h5")
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "m.weights.h5", overwrite=False)
    wider = fastnn.Sequential([layers.Input((4,)), layers.Dense(7), layers.Dense(3)])
    before = wider.get_weights()
    with pytest.raises(ValueError, match="does not fit this model"):
        wider.load_weights(tmp_path / "m.weights.h5")
    assert _same(wider.get_weights(), before)       # nothing set
    model.save(tmp_path / "m.keras")                 # a whole-model file under Keras 3's name
    assert _same(fastnn.models.load_model(tmp_path / "m.keras").get_weights(), model.get_weights())
    other.load_weights(tmp_path / "m.keras")


def test_to_json_model_from_json_and_clone_model():
    model = _model(seed=3)
    text = model.to_json()
    again = fastnn.models.model_from_json(text)
    assert again.get_config() == model.get_config() and again.to_json() == text
    clone = fastnn.models.clone_model(model)
    assert clone is not model and clone.get_config() == model.get_config() and clone.loss is None
    assert all(a is not b for a, b in zip(clone.weights, model.weights))
    with pytest.raises(ValueError, match="not valid JSON"):
        fastnn.models.model_from_json("{")
    with pytest.raises(ValueError, match="model_from_json expects"):
        fastnn.models.model_from_json('{"class_name": "MyModel", "config": {}}')


def test_clear_session_frees_scratch_and_models_keep_working():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    fastnn.backend.clear_session()
    assert model.evaluate(x, y, verbose=0)[0] > 0


def test_from_config_classmethods():
    model = _model(seed=2)
    again = fastnn.Sequential.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    dense = layers.Dense(4, activation="relu", name="d")
    dense.trainable = False
    copy = layers.Dense.from_config({**dense.get_config(), "trainable": False})
    assert copy.get_config() == dense.get_config() and copy.trainable is False
    inp = layers.Input((4,))
    graph = fastnn.Model(inp, layers.Dense(2)(inp))
    assert fastnn.Model.from_config(graph.get_config()).get_config() == graph.get_config()
    with pytest.raises(TypeError, match="'trainable' expects true or false"):
        layers.Dense.from_config({"units": 2, "trainable": "no"})


def test_an_add_that_does_not_fit_leaves_the_model_as_it_was():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(3)])
    model.set_weights([np.full((4, 3), 7.0), np.ones(3)])
    with pytest.raises(ValueError, match="Sequential.add: layer 'conv2d'"):
        model.add(layers.Conv2D(2, 3, name="conv2d"))
    assert len(model.layers) == 1 and model.built
    assert np.all(model.get_weights()[0] == 7.0) and model.predict(np.ones((1, 4)))[0] == pytest.approx([29] * 3)


def test_a_model_built_layer_by_layer_draws_the_weights_of_one_built_at_once():
    fastnn.set_seed(3)
    whole = fastnn.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(2)])
    fastnn.set_seed(3)
    stepwise = fastnn.Sequential([layers.Input((4,))])
    stepwise.add(layers.Dense(5))
    stepwise.add(layers.Dense(2))
    assert _same(whole.get_weights(), stepwise.get_weights())


def test_saving_after_a_trainable_change_without_compile_still_loads(tmp_path):
    x, y = _data()
    model = _three()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.get_layer("middle").trainable = False
    with pytest.warns(RuntimeWarning, match="optimizer state .* is not saved"):
        model.save(tmp_path / "m.fastnn")
    loaded = fastnn.load_model(tmp_path / "m.fastnn")
    assert loaded.get_layer("middle").trainable is False and _same(loaded.get_weights(), model.get_weights())


def test_a_batch_norm_frozen_after_compile_trains_until_the_next_compile():
    rng = np.random.default_rng(1)
    x, y = rng.normal(3, 2, size=(32, 4)).astype(np.float32), rng.integers(0, 3, size=32)
    model = fastnn.Sequential([layers.Input((4,)), layers.BatchNormalization(name="bn"),
                               layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.get_layer("bn").trainable = False
    before = model.get_layer("bn").get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(model.get_layer("bn").get_weights()[2], before[2])   # its moving mean moved
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    before = model.get_layer("bn").get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert _same(model.get_layer("bn").get_weights(), before)



def test_weights_are_keras_variables_and_summary_shows_trainable():
    model = _three()
    kernel = model.get_layer("first").kernel
    assert model.weights[0] is kernel and kernel.shape == (4, 5) and kernel.dtype == np.float32
    value = kernel.numpy()
    value[0, 0] = 99.0                                    # a copy
    assert kernel.numpy()[0, 0] != 99.0 and np.asarray(kernel).shape == (4, 5)
    kernel.assign(np.ones((4, 5)))
    assert np.array_equal(model.get_weights()[0], np.ones((4, 5)))
    with pytest.raises(ValueError, match="assign: weight 'first/kernel' expects finite numbers of shape"):
        kernel.assign(np.ones((5, 4)))
    model.get_layer("middle").trainable = False
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True, line_length=80, expand_nested=True)
    assert "Trainable |" in lines[2] and any("middle (Dense)" in line and "| N " in line for line in lines)
    assert fastnn.Input is layers.Input and fastnn.Model is fastnn.models.Model


def test_accuracy_by_its_keras_names():
    """"sparse_categorical_accuracy", "categorical_accuracy" and "binary_accuracy" log under their names
    and count as "accuracy" does for the loss they fit; a kind that does not fit the loss is refused."""
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    runs = {}
    for loss, metric, y in (("sparse_categorical_crossentropy", "sparse_categorical_accuracy", labels),
                            ("categorical_crossentropy", "categorical_accuracy", np.eye(3)[labels]),
                            ("sparse_categorical_crossentropy", "accuracy", labels)):
        model = _three()
        model.compile("sgd", loss, metrics=[metric])
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        assert list(logs) == ["loss", metric]
        runs[metric] = logs[metric]
    assert runs["sparse_categorical_accuracy"] == runs["categorical_accuracy"] == runs["accuracy"]
    binary = fastnn.Sequential([layers.Input((4,)), layers.Dense(1, activation="sigmoid")], seed=0)
    binary.compile("sgd", "binary_crossentropy", metrics=["binary_accuracy"])
    p = binary.predict(x)[:, 0]
    t = (labels > 0).astype(float)
    assert binary.evaluate(x, t, verbose=0, return_dict=True)["binary_accuracy"] == np.mean((p > 0.5) == t)
    model = _three()
    with pytest.raises(ValueError, match="'binary_accuracy' does not fit sparse_categorical_crossentropy"):
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["binary_accuracy"])
