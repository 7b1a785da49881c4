"""model.export(path, format="onnx"): onnxruntime's predictions match fastnn's, for every layer kind."""
import numpy as np
import pytest

import fastnn
from fastnn import layers as L

ort = pytest.importorskip("onnxruntime")


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


def _check(model, x, tmp_path, rtol=1e-5, atol=1e-6):
    model.export(tmp_path / "m.onnx", format="onnx")
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", x), model.predict(x), rtol=rtol, atol=atol)


def test_an_mlp_with_batch_norm_and_dropout(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20)).astype(np.float32)
    model = fastnn.Sequential([L.Input((20,)), L.Dense(32, activation="relu"), L.BatchNormalization(),
                               L.Dropout(0.3), L.Dense(16, activation="tanh"), L.Activation("sigmoid"),
                               L.Dense(5, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, 5, 16), epochs=3, verbose=0)     # moving statistics away from 0 and 1
    _check(model, x, tmp_path)


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 1), ("same", 2), ("valid", 2)])
def test_convolutions_and_pooling_channels_last(tmp_path, padding, strides):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 19, 21, 3)).astype(np.float32)
    model = fastnn.Sequential([L.Input((19, 21, 3)), L.Conv2D(6, 3, strides=strides, padding=padding, activation="relu"),
                               L.MaxPooling2D(2, padding=padding), L.Conv2D(4, (2, 3), padding=padding),
                               L.MaxPooling2D(2, strides=1, padding=padding), L.Flatten(),
                               L.Dense(3, activation="softmax")], seed=0)
    _check(model, x, tmp_path)


def test_a_functional_model_with_every_merge_layer_in_float64(tmp_path):
    inp = L.Input((6,))
    a = L.Dense(5, activation="tanh")(inp)
    b = L.Dense(5)(a)
    c = L.Dense(5, activation="relu")(inp)
    merged = L.concatenate([L.add([a, b, c]), L.subtract([a, b]), L.multiply([a, b, c]), L.average([a, c]),
                            L.maximum([b, c])])
    model = fastnn.Model(inp, L.Dense(2, activation="sigmoid")(merged), seed=0, dtype="float64")
    x = np.random.default_rng(2).normal(size=(7, 6))
    _check(model, x, tmp_path, rtol=1e-12, atol=1e-13)


def test_export_refuses_other_formats(tmp_path):
    model = fastnn.Sequential([L.Input((2,)), L.Dense(1)])
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(tmp_path / "m", format="tf_saved_model")
    assert not (tmp_path / "m").exists()
