"""The images the train and evaluate commands use, and the lines saying which data it is.

Legend: N images; images are 28x28, one channel.
"""
import numpy as np

from .. import datasets


def load(name, limit):
    """(x_train, y_train), (x_test, y_test) with x float32 (N,28,28,1) in [0,1], the dataset's name, and the
    lines saying which data it is. name None: full MNIST when found locally (never downloaded for a default),
    else mnist_10k."""
    note = []
    if name is None:
        found = datasets.find("mnist")
        name = "mnist" if found is not None else "mnist_10k"
        if found is None:
            looked = ", ".join(str(d) for d in datasets.search_dirs("mnist"))
            note = [f"      (full MNIST was not found locally; looked in {looked}. Set FASTNN_DATA to a folder "
                    "holding its four IDX files, or pass --dataset mnist to download it)"]
    ((x, y), (xt, yt)), source = datasets.load(name, return_source=True)
    if limit is not None:
        x, y, xt, yt = x[:limit], y[:limit], xt[:limit], yt[:limit]
    title = getattr(datasets, name).title
    lines = [f"Data: {title}: {len(x):,} training and {len(xt):,} test images, from {source}"] + note
    return (scale(x), y), (scale(xt), yt), name, lines


def scale(images):
    """uint8 (N,28,28) -> float32 (N,28,28,1) in [0,1]."""
    return (images.astype(np.float32) / 255.0)[..., None]
