"""Stroke width: why an MNIST model that scores 98% fails on a drawing, and how to_mnist fixes it.

The 2,000 held-out digits of mnist-10k (images 8000..9999) are redrawn as a person would draw them in
an app: dark ink on a white 128x128 canvas, with a round brush 2, 4, 8, 16 or 32 px wide. One LeNet-5,
trained on images 0..7999 with random shifts, rotations and stroke thickening/thinning
(fastnn.preprocess.Augment), then reads each canvas through

- the naive pipeline (grey, invert, resize the canvas to 28x28): fine for thin brushes, it collapses
  on fat ones, which MNIST never showed the model;
- fastnn.preprocess.to_mnist (crop, stroke width redrawn to MNIST's, 20x20 box, centre of mass).

The trained model is cached (see `model_path`), so a rerun only redraws and reads the digits.

    python examples/stroke_width.py              # the table; about 3 min the first time on 2 cores
    python examples/stroke_width.py --limit 200  # a quick look on the first 200 digits
"""
import argparse
import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import fastnn
from fastnn import models
from fastnn.preprocess import Augment, augmented_epochs, naive_to_mnist, render_stroke_digit, to_mnist

WIDTHS = (2, 4, 8, 16, 32)
CANVAS = 128
PIPELINES = {"naive": naive_to_mnist, "to_mnist": to_mnist}
# How the model is trained; any change here gives a new cache file.
TRAINING = {"model": "lenet5", "seed": 0, "epochs": 10, "batch_size": 64, "learning_rate": 2e-3,
            "lr_decay": 0.8, "augment": {"shift": 2.0, "rotation": 10.0, "scale": [0.9, 1.1],
                                         "thickness": [-0.5, 1.0], "seed": 0}}


def model_path(training=TRAINING):
    """Where the trained model is cached: $FASTNN_CACHE, else $XDG_CACHE_HOME/fastnn, else
    ~/.cache/fastnn; the file name carries a hash of `training` and of fastnn's version."""
    root = os.environ.get("FASTNN_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fastnn"
    key = hashlib.sha256(json.dumps([training, fastnn.__version__], sort_keys=True).encode()).hexdigest()[:12]
    return Path(root) / "models" / f"stroke-width-{training['model']}-{key}.npz"


def as_input(images):
    """uint8 (N,28,28) 0..255 or float (N,28,28) in [0,1] -> float32 (N,28,28,1) in [0,1]."""
    images = np.asarray(images)
    scale = 1 / 255 if images.dtype == np.uint8 else 1
    return (images.astype(np.float32) * scale)[..., None]


def train(x_train, y_train, training=TRAINING, verbose=2):
    """LeNet-5 trained with augmentation and a per-epoch learning-rate decay."""
    model = getattr(models, training["model"])(seed=training["seed"])
    model.compile(fastnn.optimizers.Adam(training["learning_rate"]), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    lr, decay = training["learning_rate"], training["lr_decay"]
    schedule = fastnn.callbacks.LearningRateScheduler(lambda epoch, _: lr * decay ** epoch)
    augment = Augment(**{k: tuple(v) if isinstance(v, list) else v for k, v in training["augment"].items()})
    augmented_epochs(model, as_input(x_train), y_train, augment, training["epochs"],
                     batch_size=training["batch_size"], callbacks=[schedule], verbose=verbose)
    return model


def trained_model(x_train, y_train, training=TRAINING, cache=True, verbose=2):
    """The cached model if there is one, else a freshly trained one (then cached)."""
    path = model_path(training)
    if cache and path.is_file():
        return fastnn.load_model(path), path
    model = train(x_train, y_train, training, verbose)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    return model, path


def read_drawn(digits, width):
    """Redraw each digit at `width` and read it through every pipeline: {name: float32 (N,28,28)}."""
    out = {name: np.empty((len(digits), 28, 28), np.float32) for name in PIPELINES}
    for i, digit in enumerate(digits):
        canvas = render_stroke_digit(digit, width, CANVAS)
        for name, pipeline in PIPELINES.items():
            out[name][i] = pipeline(canvas)
    return out


def drawn_inputs(digits, widths=WIDTHS, workers=None):
    """{width: {pipeline: (N,28,28)}} for every width, the digits split over worker processes."""
    workers = workers or os.cpu_count() or 1
    chunks = np.array_split(digits, workers * 4)
    result = {}
    with ProcessPoolExecutor(workers) as pool:
        for width in widths:
            parts = list(pool.map(read_drawn, chunks, [width] * len(chunks)))
            result[width] = {name: np.concatenate([p[name] for p in parts]) for name in PIPELINES}
    return result


def accuracy(model, images, labels):
    return float(np.mean(model.predict(as_input(images), batch_size=500).argmax(axis=1) == labels))


def run(limit=None, cache=True, verbose=2):
    """Train (or load) the model, redraw the test digits, and measure: a dict of accuracies."""
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist_10k.load_data()
    if limit is not None:
        x_test, y_test = x_test[:limit], y_test[:limit]
    model, path = trained_model(x_train, y_train, cache=cache, verbose=verbose)
    inputs = drawn_inputs(x_test)
    return {
        "model_file": str(path),
        "n": len(x_test),
        "original": accuracy(model, x_test, y_test),
        "widths": {w: {name: accuracy(model, inputs[w][name], y_test) for name in PIPELINES} for w in WIDTHS},
    }


def format_table(results):
    lines = [f"LeNet-5 on {results['n']} held-out mnist-10k digits redrawn on a {CANVAS}x{CANVAS} canvas",
             f"accuracy on the original 28x28 digits: {100 * results['original']:.1f}%",
             "",
             f"{'brush':>6} | {'naive':>7} | {'to_mnist':>8}",
             f"{'-' * 6}-+-{'-' * 7}-+-{'-' * 8}"]
    for width, acc in results["widths"].items():
        lines.append(f"{width:>4}px | {100 * acc['naive']:>6.1f}% | {100 * acc['to_mnist']:>7.1f}%")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first LIMIT test digits only")
    parser.add_argument("--no-cache", action="store_true", help="retrain and do not write the cache")
    args = parser.parse_args(argv)
    results = run(limit=args.limit, cache=not args.no_cache)
    print(format_table(results))
    print(f"model: {results['model_file']}")
    return results


if __name__ == "__main__":
    main()
