"""Functional models of several inputs and outputs, as Keras 3 runs them: x, targets, losses, loss weights,
metrics and sample weights as lists or dicts by name; logs "<output>_loss" and "<output>_accuracy"; exact
gradients of the weighted sum of the losses on every backend; predict, save, load, export and streams."""
import numpy as np
import pytest

import fastnn
from fastnn import layers as L

from .test_functional import _gradient_check, backend_name  # noqa: F401 (a fixture)

LOSSES = {"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"}


def _two_by_two(seed=0, dtype="float64", dict_outputs=False):
    """Two inputs (named "img" and "extra") and two outputs ("digit", a softmax of 3, and "even", a sigmoid),
    where the first output also feeds the second (its gradient is a sum) and "extra" is read twice."""
    img, extra = L.Input((5,), name="img"), L.Input((2,), name="extra")
    h = L.Dense(6, activation="tanh")(img)
    digit = L.Dense(3, activation="softmax", name="digit")(L.concatenate([h, extra]))
    g = L.Dense(4, activation="relu")(L.concatenate([digit, extra]))
    even = L.Dense(1, activation="sigmoid", name="even")(L.add([g, L.Dense(4)(h)]))
    outputs = {"d": digit, "e": even} if dict_outputs else [digit, even]
    return fastnn.Model([img, extra], outputs, seed=seed, dtype=dtype)


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, 5)), rng.normal(size=(n, 2))]
    digit = rng.integers(0, 3, n)
    return x, [digit, (digit % 2 == 0).astype(float)]


def test_gradients_of_the_weighted_sum_of_the_losses_are_exact(backend_name):
    x, y = _data(n=10)
    weights = np.linspace(0.2, 1.5, 10)
    _gradient_check(_two_by_two(), x, y, loss=LOSSES, loss_weights={"digit": 0.7, "even": 2.0},
                    sample_weight=weights)


def test_the_logs_name_each_output_as_keras_does():
    x, y = _data()
    model = _two_by_two(dtype="float32")
    model.compile("adam", loss=LOSSES, loss_weights=[1.0, 0.5], metrics={"digit": "accuracy", "even": ["acc"]})
    assert model.output_names == ["digit", "even"]
    assert model.metrics_names == ["loss", "digit_loss", "even_loss", "digit_accuracy", "even_acc"]
    seen = []

    class Batches(fastnn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y), callbacks=[Batches()])
    keys = model.metrics_names
    assert list(history.history) == keys + ["val_" + k for k in keys]
    assert all(list(logs) == keys for logs in seen)
    # the model's loss is the weighted sum of the outputs' own, batch by batch and over the epoch
    for logs in seen + [{k: v[-1] for k, v in history.history.items()}]:
        assert logs["loss"] == pytest.approx(logs["digit_loss"] + 0.5 * logs["even_loss"], rel=1e-6)
    values = model.evaluate(x, y, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert values == [logs[k] for k in keys] and list(logs) == keys
    assert model.test_on_batch(x, y) == pytest.approx(values, rel=1e-6)
    assert len(model.train_on_batch(x, y)) == 5


def test_lists_and_dicts_by_name_train_alike():
    x, y = _data()
    runs = []
    for as_dict in (False, True):
        model = _two_by_two(dtype="float32")
        if as_dict:
            model.compile("adam", loss=LOSSES, loss_weights={"even": 0.25}, metrics={"digit": ["accuracy"],
                                                                                     "even": ["accuracy"]})
            history = model.fit({"img": x[0], "extra": x[1]}, {"digit": y[0], "even": y[1]},
                                sample_weight={"digit": np.ones(24), "even": np.linspace(0, 1, 24)},
                                batch_size=8, epochs=2, verbose=0, shuffle=False)
        else:
            model.compile("adam", loss=list(LOSSES.values()), loss_weights=[1.0, 0.25],
                          metrics=[["accuracy"], "accuracy"])
            history = model.fit(x, y, sample_weight=[None, np.linspace(0, 1, 24)], batch_size=8, epochs=2,
                                verbose=0, shuffle=False)
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_one_sample_weight_array_weighs_every_output():
    x, y = _data()
    model = _two_by_two()
    model.compile("sgd", loss=LOSSES)
    w = np.linspace(0, 2, 24)
    both = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    each = model.evaluate(x, y, sample_weight=[w, w], verbose=0, return_dict=True)
    plain = model.evaluate(x, y, verbose=0, return_dict=True)
    assert both == each and both["digit_loss"] != plain["digit_loss"] and both["even_loss"] != plain["even_loss"]


def test_a_single_loss_serves_every_output():
    rng = np.random.default_rng(0)
    inp = L.Input((3,))
    h = L.Dense(4, activation="relu")(inp)
    model = fastnn.Model(inp, [L.Dense(2, name="a")(h), L.Dense(1, name="b")(h)], seed=0)
    model.compile("sgd", loss="mse")
    x, ya, yb = rng.normal(size=(8, 3)), rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    logs = model.evaluate(x, [ya, yb], verbose=0, return_dict=True)
    pa, pb = model.predict(x)
    assert logs["a_loss"] == pytest.approx(((pa - ya) ** 2).mean(), rel=1e-5)
    assert logs["b_loss"] == pytest.approx(((pb - yb) ** 2).mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["a_loss"] + logs["b_loss"], rel=1e-6)


def test_predict_returns_a_list_or_a_dict_as_the_outputs_were_given():
    x, _ = _data()
    listed, keyed = _two_by_two(), _two_by_two(dict_outputs=True)
    out = listed.predict(x, batch_size=5)
    assert isinstance(out, list) and [o.shape for o in out] == [(24, 3), (24, 1)]
    np.testing.assert_allclose(out[0].sum(axis=1), 1.0)
    by_key = keyed.predict({"img": x[0], "extra": x[1]})
    assert list(by_key) == ["d", "e"]
    np.testing.assert_array_equal(by_key["d"], out[0])
    np.testing.assert_array_equal(by_key["e"], out[1])
    assert listed.input_shape == [(None, 5), (None, 2)] and listed.output_shape == [(None, 3), (None, 1)]
    np.testing.assert_array_equal(listed.predict_on_batch(x)[1], out[1])
    np.testing.assert_array_equal(listed(x)[0], out[0])
    # a dict of outputs keys its losses and targets by the dict's keys
    keyed.compile("sgd", loss={"d": "sparse_categorical_crossentropy", "e": "binary_crossentropy"})
    assert keyed.metrics_names == ["loss", "d_loss", "e_loss"]


def test_save_load_json_clone_and_summary(tmp_path):
    x, y = _data()
    model = _two_by_two(dtype="float32", dict_outputs=True)
    model.compile("adam", loss={"d": "sparse_categorical_crossentropy", "e": "binary_crossentropy"},
                  loss_weights={"d": 1.0, "e": 0.3}, metrics={"d": "accuracy", "e": []})
    model.fit(x, {"d": y[0], "e": y[1]}, epochs=1, verbose=0)
    model.save(tmp_path / "two.keras")
    loaded = fastnn.models.load_model(tmp_path / "two.keras")
    assert loaded.get_config() == model.get_config() and loaded.metrics_names == model.metrics_names
    for a, b in zip(loaded.predict(x).values(), model.predict(x).values()):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, {"d": y[0], "e": y[1]}, verbose=0) == model.evaluate(x, {"d": y[0], "e": y[1]},
                                                                                   verbose=0)
    again = fastnn.models.model_from_json(model.to_json())
    assert again.get_config() == model.get_config() and again.output_names == ["digit", "even"]
    assert fastnn.models.clone_model(model).get_config() == model.get_config()
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[4].startswith("| img (InputLayer)") and lines[5].startswith("| extra (InputLayer)")
    assert any("concatenate (Concatenate)" in line and "dense, extra" in line for line in lines)


def test_streams_of_lists_and_dicts():
    x, y = _data()

    def batches():
        while True:
            for lo in range(0, 24, 8):
                yield ({"img": x[0][lo:lo + 8], "extra": x[1][lo:lo + 8].astype(np.float32)},
                       [y[0][lo:lo + 8], y[1][lo:lo + 8]])

    streamed, arrays = _two_by_two(dtype="float32"), _two_by_two(dtype="float32")
    for model in (streamed, arrays):
        model.compile("adam", loss=LOSSES, metrics={"digit": "accuracy", "even": "accuracy"})
    h1 = streamed.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    h2 = arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert h1.history == h2.history
    predicted = streamed.predict(((x[0][lo:lo + 8], x[1][lo:lo + 8]),) for lo in range(0, 24, 8))
    for a, b in zip(predicted, streamed.predict(x)):
        np.testing.assert_array_equal(a, b)


def test_validation_split_keeps_the_inputs_and_outputs_together():
    x, y = _data(n=60)
    model = _two_by_two(dtype="float32")
    model.compile("adam", loss=LOSSES, metrics={"digit": "accuracy", "even": "accuracy"})
    history = model.fit(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert {"val_digit_loss", "val_even_accuracy"} <= set(history.history)


def test_a_model_of_two_inputs_is_called_as_a_layer_inside_another():
    x, _ = _data()
    inner = _two_by_two()
    img, extra = L.Input((5,)), L.Input((2,))
    digit, even = inner([img, extra])
    outer = fastnn.Model([img, extra], L.concatenate([digit, even]), seed=0, dtype="float64")
    joined = outer.predict(x)
    # the outer model runs the same layers (weights shared): its output joins the inner one's
    np.testing.assert_allclose(joined, np.concatenate(inner.predict(x), axis=1), rtol=1e-12)


def test_export_to_onnx_names_every_input_and_output(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    x, _ = _data()
    model = _two_by_two(dtype="float32")
    model.export(tmp_path / "two.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "two.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["img", "extra"]
    assert [o.name for o in session.get_outputs()] == ["digit", "even"]
    got = session.run(None, {"img": x[0].astype(np.float32), "extra": x[1].astype(np.float32)})
    for a, b in zip(got, model.predict(x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_what_models_of_several_inputs_and_outputs_refuse():
    x, y = _data()
    model = _two_by_two()
    with pytest.raises(ValueError, match=r"`compile\(loss=...\)` expects one entry per model output: a list of 2"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(ValueError, match=r"dict keyed by the model's output names \['digit', 'even'\]"):
        model.compile("sgd", loss={"digit": "mse"})
    with pytest.raises(ValueError, match="a loss for every output"):
        model.compile("sgd", loss=["sparse_categorical_crossentropy", None])
    with pytest.raises(ValueError, match=r"loss_weights.*unknown keys \['other'\]"):
        model.compile("sgd", loss=LOSSES, loss_weights={"other": 1.0})
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        model.compile("sgd", loss=LOSSES, loss_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"metrics=.*one entry per model output"):
        model.compile("sgd", loss=LOSSES, metrics=["accuracy"])
    model.compile("sgd", loss=LOSSES)
    with pytest.raises(ValueError, match=r"`x` expects one array per model input: a list of 2 or a dict keyed by "
                                         r"\['img', 'extra'\]. Received: ndarray"):
        model.fit(x[0], y, verbose=0)
    with pytest.raises(ValueError, match=r"`x` expects a dict keyed by the model's input names"):
        model.fit({"img": x[0]}, y, verbose=0)
    with pytest.raises(ValueError, match=r"x\['extra'\] of shape \(None, 2\)"):
        model.fit([x[0], x[0]], y, verbose=0)
    with pytest.raises(ValueError, match=r"`x` expects arrays of the same number of samples. Received: 'img': 24, "
                                         r"'extra': 23"):
        model.fit([x[0], x[1][:23]], y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` expects one array per model output"):
        model.fit(x, y[0], verbose=0)
    with pytest.raises(ValueError, match=r"y\['digit'\]` expects labels in \[0, 2\]"):
        model.fit(x, [y[0] + 5, y[1]], verbose=0)
    with pytest.raises(ValueError, match="class_weight` is supported for models of one output only"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight\['even'\]` expects one weight per sample"):
        model.fit(x, y, sample_weight=[None, np.ones(3)], verbose=0)
    with pytest.raises(ValueError, match="build"):
        model.build((None, 5))


class TwoHeads(fastnn.Model):
    """A subclass whose call() takes a list of two inputs and returns two outputs."""

    def __init__(self):
        super().__init__(seed=0, dtype="float64")
        self.hidden = L.Dense(6, activation="tanh")
        self.digit = L.Dense(3, activation="softmax", name="digit")
        self.even = L.Dense(1, activation="sigmoid", name="even")

    def call(self, inputs, training=None):
        img, extra = inputs
        h = L.concatenate([self.hidden(img), extra])
        return [self.digit(h), self.even(h)]


def test_a_subclass_of_two_inputs_and_outputs_compiled_before_its_first_data():
    x, y = _data()
    model = TwoHeads()
    model.compile("adam", loss=LOSSES, metrics={"digit": "accuracy", "even": "accuracy"})
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.metrics_names == ["loss", "digit_loss", "even_loss", "digit_accuracy", "even_accuracy"]
    assert list(history.history) == model.metrics_names
    assert model.input_shape == [(None, 5), (None, 2)] and [o.shape for o in model.predict(x)] == [(24, 3), (24, 1)]
    single = TwoHeads()
    single.compile("adam", loss="mse")   # one loss for both outputs, known once traced
    single.fit(x, [np.eye(3)[y[0]], y[1]], verbose=0)
    assert single.metrics_names == ["loss", "digit_loss", "even_loss"]


def test_outputs_of_one_shared_layer_get_names_of_their_own():
    rng = np.random.default_rng(0)
    a, b = L.Input((3,)), L.Input((3,))
    head = L.Dense(2, name="head")
    model = fastnn.Model([a, b], [head(a), head(b)], seed=0)
    model.compile("sgd", loss=["mse", "mse"])
    assert model.output_names == ["head", "head_1"]
    xa, xb = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    logs = model.evaluate([xa, xb], {"head": np.zeros((8, 2)), "head_1": np.full((8, 2), 100.0)}, verbose=0,
                          return_dict=True)
    assert list(logs) == ["loss", "head_loss", "head_1_loss"] and logs["head_loss"] < 10 < logs["head_1_loss"]


def test_a_failed_compile_leaves_the_model_as_it_was(tmp_path):
    x, y = _data()
    model = _two_by_two(dtype="float32")
    model.compile("adam", loss=LOSSES)
    model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"expects output 'even' to give one score per class"):
        model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"])
    assert isinstance(model.optimizer, fastnn.optimizers.Adam) and model.metrics_names == ["loss", "digit_loss",
                                                                                           "even_loss"]
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.keras")
    fastnn.models.load_model(tmp_path / "m.keras").fit(x, y, verbose=0)


def test_bad_compile_arguments_and_stream_batches_name_what_was_received():
    x, y = _data()
    model = _two_by_two()
    with pytest.raises(TypeError, match=r"compile\(metrics=...\) expects metric names"):
        model.compile("sgd", loss=LOSSES, metrics=[1, None])
    with pytest.raises(TypeError, match=r"compile\(metrics=...\) expects metric names"):
        model.compile("sgd", loss=LOSSES, metrics=[[["accuracy"]], None])
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        model.compile("sgd", loss=LOSSES, loss_weights=[10 ** 400, 1])
    with pytest.raises(TypeError, match=r"loss_weights=...\) expects numbers"):
        model.compile("sgd", loss=LOSSES, loss_weights=["1", 1])
    model.compile("sgd", loss=LOSSES)
    for batch in (([x[0], None], y), (x, [y[0], None])):
        with pytest.raises(ValueError, match=r"fit batch 0: (x\['extra'\]|y\['even'\])` is required"):
            model.fit(iter([batch]), steps_per_epoch=1, verbose=0)


def test_hostile_configs_of_several_inputs_and_outputs_are_refused():
    config = _two_by_two(dict_outputs=True).get_config()
    first = len(config["inputs"])
    hostile = [{"outputs": [0, 1]}, {"outputs": [first + len(config["inbound"])]}, {"outputs": []},
               {"output_keys": ["a"]}, {"output_keys": ["a", "a"]}, {"output_keys": [1, 2]},
               {"inputs": [{"name": "img", "shape": [5]}]}, {"inputs": "x"},
               {"inputs": config["inputs"] + [{"name": "unused", "shape": [2], "batch_size": None}]}]
    for change in hostile:
        with pytest.raises(ValueError):
            fastnn.models.model_from_config({**config, **change})
    with pytest.raises(ValueError, match="expects each key to be its Input's name"):
        img = L.Input((2,), name="img")
        fastnn.Model({"image": img}, L.Dense(1)(img))


def test_the_image_tools_refuse_a_model_of_several_inputs():
    from fastnn.inference import ImageClassifier

    with pytest.raises(ValueError, match="one input and one output. Received: model 'functional' with 2 inputs"):
        ImageClassifier(_two_by_two())


def test_predict_names_the_input_that_holds_a_nan():
    x, _ = _data()
    x[1][13, 0] = np.nan
    with pytest.raises(ValueError, match=r"`x\['extra'\]` contains 1 NaN or inf values \(in samples 10..14\)"):
        _two_by_two().predict(x, batch_size=5)
