"""fastnn.inference: image in -> the model's input -> probabilities and top-k out, as `fastnn predict` and the
drawing server use it. Untrained models: only the contract is tested, not the answers."""
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

import fastnn
from fastnn import inference, layers, models
from fastnn.digits import NoInkError, to_mnist

pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def seven(size=140):
    """A 7 drawn in black on a white canvas: a PIL image."""
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line([(30, 30), (110, 30), (60, 115)], fill=0, width=10)
    return img


@pytest.fixture(scope="module")
def digit_model():
    return models.mlp(seed=0)


def test_digit_models_read_with_to_mnist_and_name_digits(digit_model):
    classifier = inference.ImageClassifier(digit_model)
    assert classifier.reader is to_mnist
    assert classifier.class_names == [str(d) for d in range(10)]


def test_models_of_no_known_recipe_read_with_to_mnist():
    model = fastnn.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")],
                              seed=0)
    model.build()
    classifier = inference.ImageClassifier(model)
    assert classifier.reader is to_mnist and classifier.class_names == ["0", "1", "2"]


def test_fashion_models_read_the_whole_picture_and_name_clothes():
    classifier = inference.ImageClassifier(models.fashion_cnn(seed=0))
    assert classifier.reader is inference.resize_image
    assert classifier.class_names[:2] == ["T-shirt/top", "Trouser"] and len(classifier.class_names) == 10


def test_every_kind_of_image_gives_the_same_input(digit_model, tmp_path):
    classifier = inference.ImageClassifier(digit_model)
    img = seven()
    img.save(tmp_path / "seven.png")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    inputs = [classifier.read(image) for image in (img, np.asarray(img), buf.getvalue(), tmp_path / "seven.png",
                                                    str(tmp_path / "seven.png"))]
    for x in inputs:
        assert x.shape == (28, 28, 1) and x.dtype == np.float32
        np.testing.assert_array_equal(x, inputs[0])
    np.testing.assert_array_equal(inputs[0][:, :, 0], to_mnist(img))


def test_top_k_is_the_models_most_probable_classes_in_order(digit_model):
    classifier = inference.ImageClassifier(digit_model)
    x = classifier.read(seven())
    probs = classifier.probabilities(x)
    np.testing.assert_allclose(probs, digit_model.predict(x[None])[0], rtol=1e-6)
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    top = classifier.top(x, 4)
    order = np.argsort(-probs, kind="stable")[:4]
    assert [name for name, _ in top] == [str(c) for c in order]
    assert [p for _, p in top] == [float(probs[c]) for c in order] and all(isinstance(p, float) for _, p in top)
    assert len(classifier.top(x, 20)) == 10


def test_a_blank_canvas_is_no_ink(digit_model):
    with pytest.raises(NoInkError):
        inference.ImageClassifier(digit_model).read(Image.new("RGB", (50, 50), "white"))


def test_resize_image_reads_light_strokes_on_a_transparent_canvas(tmp_path):
    # the alpha is composited onto the colour that contrasts with the ink, as to_mnist does: white strokes
    # on a transparent canvas stay visible, light on dark
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 18:22] = (255, 255, 255, 255)
    x = inference.resize_image(Image.fromarray(rgba))
    assert x.shape == (28, 28) and x[0, 0] == pytest.approx(0.0, abs=0.02) and x[14, 14] > 0.9


def test_resize_image_names_itself_in_errors():
    with pytest.raises(ValueError, match=r"resize_image\(image=\.\.\.\) expects an image file Pillow can read"):
        inference.resize_image(b"not an image")


def test_a_model_that_does_not_take_784_values_is_refused():
    model = fastnn.Sequential([layers.Input((10,)), layers.Dense(2, activation="softmax")], seed=0)
    model.build()
    with pytest.raises(ValueError, match=r"must take 784 values per sample. Received: a model with input shape "
                                         r"\(None, 10\)"):
        inference.as_model_input(np.zeros((1, 28, 28, 1), np.float32), model)
