"""Keras's utilities under their Keras names: utils.to_categorical, utils.set_random_seed, Model.get_layer,
each as Keras 3 documents it."""
import random

import numpy as np
import pytest

import fastnn
from fastnn import layers

pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def test_to_categorical_gives_float_one_hot_rows():
    out = fastnn.utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert out.dtype == np.float64


@pytest.mark.parametrize("x,num_classes,shape", [
    (np.array([[1], [3]]), None, (2, 4)),          # a trailing axis of 1 is dropped, as Keras does
    (np.array([[1, 0], [2, 2]]), 5, (2, 2, 5)),
    (np.array(3), 4, (4,)),
    (np.array([1.0, 2.0]), None, (2, 3)),          # whole-number floats, as labels often come
])
def test_to_categorical_shapes(x, num_classes, shape):
    out = fastnn.utils.to_categorical(x, num_classes)
    assert out.shape == shape
    np.testing.assert_array_equal(out.argmax(-1), np.asarray(x).reshape(shape[:-1]))


@pytest.mark.parametrize("x,num_classes,match", [
    ([0, 3], 3, r"class indices in \[0, 3\). Received: range \[0, 3\]"),
    ([-1, 0], None, r"range \[-1, 0\]"),
    ([0.5], None, "whole-number"),
    (["a"], None, "class indices"),
    ([0, 1], 0, "num_classes"),
])
def test_to_categorical_refuses_what_is_not_a_class_index(x, num_classes, match):
    with pytest.raises(ValueError, match=match):
        fastnn.utils.to_categorical(x, num_classes)


def test_set_random_seed_makes_python_numpy_and_fastnn_repeat():
    def draw():
        fastnn.utils.set_random_seed(7)
        model = fastnn.Sequential([layers.Input((3,)), layers.Dense(2)])
        model.build()
        return random.random(), np.random.rand(), model.get_weights()[0]
    (a1, b1, w1), (a2, b2, w2) = draw(), draw()
    assert a1 == a2 and b1 == b2
    np.testing.assert_array_equal(w1, w2)
    with pytest.raises(ValueError):
        fastnn.utils.set_random_seed(-1)


def test_get_layer_by_name_and_index():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, name="hidden"), layers.Dense(2)])
    model.build()
    hidden, last = model.layers
    assert model.get_layer("hidden") is hidden and model.get_layer(name="dense") is last
    assert model.get_layer(index=0) is hidden and model.get_layer(index=-1) is last


@pytest.mark.parametrize("kwargs,match", [
    ({}, "not neither"), ({"name": "hidden", "index": 0}, "not both"),
    ({"name": "nope"}, r"no such layer. Received: name='nope'; the layers are \['hidden', 'dense'\]"),
    ({"index": 2}, "below the model's 2 layers"),
])
def test_get_layer_refuses_as_keras_does(kwargs, match):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, name="hidden"), layers.Dense(2)])
    model.build()
    with pytest.raises(ValueError, match=match):
        model.get_layer(**kwargs)


# -- plot_model --------------------------------------------------------------------------------------
def _graph_model():
    from fastnn import layers as L
    inputs = L.Input((4,))
    a = L.Dense(4, activation="tanh")(inputs)
    return fastnn.Model(inputs, L.Dense(2, activation="softmax")(L.concatenate([a, L.Dense(3)(a)])), name="g")


def test_model_to_dot_has_a_box_per_layer_and_an_arrow_per_connection():
    text = fastnn.utils.model_to_dot(_graph_model(), show_shapes=True, show_layer_activations=True,
                                     show_trainable=True, rankdir="LR")
    assert text.startswith('digraph "g" {') and "rankdir=LR" in text
    assert text.count("[label=") == 5 and text.count(" -> ") == 5
    assert "concatenate (Concatenate)|Input shape: [(None, 4), (None, 3)]|Output shape: (None, 7)" in text
    assert "Activation: tanh" in text and "Trainable: True" in text
    with pytest.raises(ValueError, match="rankdir"):
        fastnn.utils.model_to_dot(_graph_model(), rankdir="BT")


def test_plot_model_writes_dot_text_and_images_through_graphviz(tmp_path, monkeypatch):
    model = _graph_model()
    fastnn.utils.plot_model(model, to_file=tmp_path / "m.dot")
    assert (tmp_path / "m.dot").read_text() == fastnn.utils.model_to_dot(model)
    import shutil
    if shutil.which("dot"):
        fastnn.utils.plot_model(model, to_file=tmp_path / "m.png", show_shapes=True)
        assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setenv("PATH", str(tmp_path))   # no Graphviz
    with pytest.raises(ImportError, match="needs Graphviz's `dot` program"):
        fastnn.utils.plot_model(model, to_file=tmp_path / "m.svg")
