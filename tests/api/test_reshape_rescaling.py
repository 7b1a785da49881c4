"""Reshape and Rescaling, as Keras's: shapes (one -1 inferred), exact gradients through both on every
backend, configs, save and load, ONNX export, and the errors they raise."""
import numpy as np
import pytest

import fastnn
from fastnn import layers as L

from .test_functional import _gradient_check, backend_name  # noqa: F401 (a fixture)


def _model(dtype="float64"):
    inp = L.Input((12,))
    x = L.Reshape((3, -1))(L.Rescaling(0.5, offset=-0.25)(inp))
    x = L.Dense(4, activation="tanh")(x)          # on the last axis: (3, 4) per sample
    x = L.Reshape((12,))(x)
    return fastnn.Model(inp, L.Dense(3, activation="softmax")(x), seed=0, dtype=dtype)


def test_shapes_values_and_exact_gradients(backend_name):
    model = _model()
    assert [layer.output_shape for layer in model.layers[1:4]] == [(12,), (3, 4), (3, 4)]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 12)), rng.integers(0, 3, 10)
    _gradient_check(model, x, y)
    # the model computes what the same NumPy does
    w1, b1, w2, b2 = model.get_weights()
    h = np.tanh((x * 0.5 - 0.25).reshape(10, 3, 4) @ w1 + b1).reshape(10, 12) @ w2 + b2
    p = np.exp(h - h.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict(x), p / p.sum(axis=1, keepdims=True), rtol=1e-10)


def test_config_save_load_and_export(tmp_path):
    model = _model(dtype="float32")
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).normal(size=(6, 12)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert model.layers[1].get_config() == {"name": "rescaling", "scale": 0.5, "offset": -0.25}
    assert model.layers[2].get_config() == {"name": "reshape", "target_shape": [3, -1]}
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model.export(tmp_path / "m.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), rtol=1e-5, atol=1e-6)


def test_what_they_refuse():
    for target in ((2, -1, -1), (0, 3), "x", (), (2.5,), (True, 3)):
        with pytest.raises(ValueError, match="Reshape\\(target_shape=...\\) expects"):
            L.Reshape(target)
    with pytest.raises(ValueError, match=r"cannot take target_shape \(5, -1\)"):
        fastnn.Sequential([L.Input((12,)), L.Reshape((5, -1))])
    with pytest.raises(ValueError, match=r"cannot take target_shape \(5, 2\) \(10 values\)"):
        fastnn.Sequential([L.Input((12,)), L.Reshape((5, 2))])
    for scale in (float("nan"), "2", None, True):
        with pytest.raises(ValueError, match="Rescaling\\(scale=...\\) expects a finite number"):
            L.Rescaling(scale)
    with pytest.raises(ValueError, match="Rescaling\\(offset=...\\) expects a finite number"):
        L.Rescaling(1.0, offset=float("inf"))


def _pooled(keepdims=False, dtype="float64"):
    inp = L.Input((5, 4, 2))
    x = L.Conv2D(3, 2, activation="tanh")(inp)
    x = L.GlobalAveragePooling2D(keepdims=keepdims)(x)
    if keepdims:
        x = L.Flatten()(x)
    return fastnn.Model(inp, L.Dense(3, activation="softmax")(x), seed=0, dtype=dtype)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_is_each_channels_mean_with_exact_gradients(backend_name, keepdims):
    model = _pooled(keepdims)
    assert model.layers[2].output_shape == ((1, 1, 3) if keepdims else (3,))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5, 4, 2)), rng.integers(0, 3, 6)
    _gradient_check(model, x, y)
    alone = fastnn.Sequential([L.Input((5, 4, 2)), L.GlobalAveragePooling2D(keepdims=keepdims)], dtype="float64")
    means = x.mean(axis=(1, 2))
    np.testing.assert_allclose(alone.predict(x), means[:, None, None, :] if keepdims else means, rtol=1e-12)


def test_global_average_pooling_config_export_and_refusals(tmp_path):
    model = _pooled(dtype="float32")
    assert model.layers[2].get_config() == {"name": "global_average_pooling2d", "data_format": "channels_last",
                                            "keepdims": False}
    again = fastnn.models.model_from_json(model.to_json())
    assert again.get_config() == model.get_config()
    with pytest.raises(ValueError, match="channels-last only"):
        L.GlobalAveragePooling2D(data_format="channels_first")
    with pytest.raises(TypeError, match="keepdims"):
        L.GlobalAveragePooling2D(keepdims=1)
    with pytest.raises(ValueError):
        fastnn.Sequential([L.Input((4,)), L.GlobalAveragePooling2D()])
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    x = np.random.default_rng(2).normal(size=(4, 5, 4, 2)).astype(np.float32)
    model.export(tmp_path / "g.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), rtol=1e-5, atol=1e-6)
