"""fastnn.plots: each function returns a Figure with the expected panels, writes a PNG when given a path,
checks its input, and says how to install matplotlib when it is missing."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import fastnn  # noqa: E402
from fastnn import layers, plots  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as img:
        return img.size


@pytest.fixture(scope="module")
def history():
    previous = fastnn.get_backend()
    fastnn.set_backend("numpy")
    try:
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(30, 4)).astype(np.float32), rng.integers(0, 3, size=30)
        model = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")], seed=0)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(x, y, epochs=3, batch_size=10, validation_split=0.2, verbose=0)
    finally:
        fastnn.set_backend(previous)


def _lines(ax):
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


# -- plot_history -------------------------------------------------------------------------------------------
def test_plot_history_draws_training_and_validation_per_metric(history, tmp_path):
    fig = plots.plot_history(history, path=tmp_path / "history.png")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, name in zip(axes, ["loss", "accuracy"]):
        lines = _lines(ax)
        assert lines["training"] == pytest.approx(history.history[name])
        assert lines["validation"] == pytest.approx(history.history["val_" + name])
        assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    width, height = _png_size(tmp_path / "history.png")
    assert width > 600 and height > 250


def test_plot_history_takes_a_dict_and_chosen_metrics(history):
    logs = {k: v for k, v in history.history.items() if not k.startswith("val_")}
    fig = plots.plot_history(logs, metrics="loss")
    (ax,) = fig.get_axes()
    assert set(_lines(ax)) == {"training"}        # no validation curve without val_ logs


def test_history_plot_uses_plot_history(history, tmp_path):
    fig = history.plot(path=tmp_path / "h.png", metrics=["accuracy"])
    assert [ax.get_title() for ax in fig.get_axes()] == ["accuracy"]
    assert (tmp_path / "h.png").is_file()


@pytest.mark.parametrize("bad", [{}, None, "loss"])
def test_plot_history_refuses_what_is_not_a_history(bad):
    with pytest.raises(ValueError, match="plot_history expects a History"):
        plots.plot_history(bad)


def test_plot_history_names_the_available_metrics(history):
    with pytest.raises(ValueError, match=r"names among \['loss', 'accuracy'\]. Received: \['acc'\]"):
        plots.plot_history(history, metrics=["acc"])


# -- plot_confusion_matrix ------------------------------------------------------------------------------------
def test_plot_confusion_matrix_annotates_every_count(tmp_path):
    m = np.array([[50, 0, 2], [1, 40, 0], [0, 7, 30]])
    fig = plots.plot_confusion_matrix(m, class_names=["cat", "dog", "owl"], path=tmp_path / "c.png")
    ax = fig.get_axes()[0]
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["50", "2", "1", "40", "7", "30"])   # zeros off the diagonal stay blank
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "owl"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "owl"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert "92.31% correct of 130" in ax.get_title()
    _png_size(tmp_path / "c.png")


def test_plot_confusion_matrix_of_metrics_confusion_matrix():
    y_true = np.array([0, 1, 2, 2, 1])
    y_pred = np.array([0, 2, 2, 2, 1])
    fig = plots.plot_confusion_matrix(fastnn.metrics.confusion_matrix(y_true, y_pred))
    assert [t.get_text() for t in fig.get_axes()[0].get_xticklabels()] == ["0", "1", "2"]


@pytest.mark.parametrize("matrix,names,match", [
    (np.zeros((2, 3)), None, "square matrix"),
    (np.zeros((0, 0)), None, "square matrix"),
    (np.array([["a"]]), None, "square matrix"),
    (np.eye(3), ["a", "b"], "expects 3 class_names"),
])
def test_plot_confusion_matrix_checks_its_input(matrix, names, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_confusion_matrix(matrix, class_names=names)


# -- plot_misclassified -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    (x, y), _ = fastnn.datasets.load("mnist_10k")
    return x[:40], y[:40]


def _titles(fig):
    return [ax.get_title() for ax in fig.get_axes() if ax.get_images()]


def test_plot_misclassified_shows_only_the_mistakes_titled_true_to_pred(digits, tmp_path):
    x, y = digits
    pred = y.copy()
    wrong = [3, 10, 11, 25]
    pred[wrong] = (pred[wrong] + 1) % 10
    fig = plots.plot_misclassified(x / 255.0, y, pred, path=tmp_path / "m.png")
    assert _titles(fig) == [f"{y[i]}→{pred[i]}" for i in wrong]
    _png_size(tmp_path / "m.png")


def test_plot_misclassified_puts_the_most_confident_mistakes_first_and_caps_the_count(digits):
    x, y = digits
    pred = (y + 1) % 10                                   # all wrong
    probs = np.full((len(y), 10), 0.01)
    probs[np.arange(len(y)), pred] = np.linspace(0.2, 0.9, len(y))
    fig = plots.plot_misclassified(x[..., None], y, pred, probs=probs, max_images=5)
    titles = _titles(fig)
    assert len(titles) == 5
    order = np.arange(len(y))[::-1][:5]                  # highest confidence last in linspace
    assert titles == [f"{y[i]}→{pred[i]}\n{probs[i, pred[i]]:.0%}" for i in order]


def test_plot_misclassified_uses_class_names(digits):
    x, y = digits[0][:10], digits[1][:10]
    pred = y.copy()
    pred[0] = (y[0] + 1) % 10
    names = fastnn.datasets.fashion_mnist.class_names
    fig = plots.plot_misclassified(x, y, pred, class_names=names)
    assert _titles(fig) == [f"{names[y[0]]}\n→{names[pred[0]]}"]


def test_plot_misclassified_with_no_mistakes_says_so(digits):
    x, y = digits[0][:10], digits[1][:10]
    fig = plots.plot_misclassified(x, y, y)
    assert [t.get_text() for ax in fig.get_axes() for t in ax.texts] == ["no misclassified images"]


@pytest.mark.parametrize("kwargs,match", [
    ({"y_pred": np.zeros(9, int)}, "N labels"),
    ({"x": np.zeros((10, 784))}, r"images \(N, H, W\)"),
    ({"max_images": 0}, "max_images"),
    ({"probs": np.zeros((10, 10, 1))}, "probs of shape"),
])
def test_plot_misclassified_checks_its_input(kwargs, match):
    args = {"x": np.zeros((10, 28, 28)), "y_true": np.zeros(10, int), "y_pred": np.ones(10, int)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plots.plot_misclassified(**args)


# -- matplotlib ------------------------------------------------------------------------------------------
def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "fastnn\[plot\]"'):
        plots.plot_confusion_matrix(np.eye(2))


def test_plotting_leaves_pyplot_alone():
    """Figures are drawn on an Agg canvas directly: a user's pyplot backend and figure list are untouched."""
    root = Path(fastnn.__file__).resolve().parent.parent
    code = ("import sys, numpy as np; from fastnn import plots; plots.plot_confusion_matrix(np.eye(3)); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
