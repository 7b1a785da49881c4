"""Datasets of 28x28 grey images with labels 0..9, Keras-style, and the IDX file format they come in.

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist.load_data()
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.load("fashion_mnist")
    data, source = fastnn.datasets.load("mnist_10k", return_source=True)

Every loader returns uint8 arrays: x (N,H,W) with H = W = 28, y (N,) with values 0..9. One module per
dataset, each defining the loader of its name (`mnist.py` defines `mnist`), which this package exposes:

- `mnist`, `fashion_mnist`: the full sets (60,000 train, 10,000 test), read from local IDX files, or
  downloaded once into the cache with pooch (checksummed, written atomically): see `download.py`.
- `mnist_10k`: 10,000 real MNIST digits shipped inside fastnn (8,000 train, 2,000 test), for offline
  use and quick checks; see fastnn/data/mnist-10k/README.md.

`idx.py` reads and writes the file format (`read_idx`, `write_idx`).

Where `mnist` and `fashion_mnist` look, in order (`search_dirs(name)` lists them):

1. `$FASTNN_DATA/<name>`, then `$FASTNN_DATA` itself (so FASTNN_DATA may point straight at a folder
   holding one dataset's four files, e.g. /usr/share/datasets/fashion-mnist);
2. the cache, `$XDG_CACHE_HOME/fastnn/<name>`, else `~/.cache/fastnn/<name>` (downloads go there);
3. for `fashion_mnist`, Debian's package `dataset-fashion-mnist`: /usr/share/datasets/fashion-mnist.

A folder counts when it holds all four standard files, `train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each gzipped (`.gz`)
or raw. Both sets use these names, so a bare `$FASTNN_DATA` folder serves whichever set is asked for:
point it at one set's folder, or give each set its `<name>/` subfolder. `find(name)` says which folder
would be used, without downloading anything; `load(name, return_source=True)` says which one was.
When no folder has the files, `load_data()` downloads them (pass download=False to forbid it); the
error raised when that is impossible lists every folder looked at and how to get the files.

Legend: N images, H rows, W columns.
"""
from .base import DatasetNotFoundError
from .fashion_mnist import fashion_mnist
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, write_idx
from .mnist import mnist
from .mnist_10k import mnist_10k

__all__ = [
    "DatasetNotFoundError",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "fashion_mnist",
    "find",
    "load",
    "mnist",
    "mnist_10k",
    "read_idx",
    "search_dirs",
    "write_idx",
]

_DATASETS = {d.name: d for d in (mnist, fashion_mnist, mnist_10k)}


def _get(name):
    key = str(name).lower().replace("-", "_")
    if key not in _DATASETS:
        raise ValueError(f"Expected a dataset name among {', '.join(map(repr, _DATASETS))} "
                         f"(or with '-' for '_'). Received: name={name!r}")
    return _DATASETS[key]


def load(name, path=None, download=True, return_source=False):
    """Load a dataset by name: `(x_train, y_train), (x_test, y_test)`, uint8, x (N,28,28), y (N,).

    Args:
        name: "mnist", "fashion_mnist" or "mnist_10k" ("fashion-mnist", "mnist-10k" also work).
        path: for mnist and fashion_mnist, a folder to use instead of the default search.
        download: whether mnist and fashion_mnist may be downloaded when not found.
        return_source: also return the folder the files were read from, so that a caller can report
            which data it used.

    Returns:
        The data, or `(data, source)` with `source` a `pathlib.Path` when `return_source` is true.
    """
    data, source = _get(name)._load(path, download)
    return (data, source) if return_source else data


def find(name, path=None):
    """The folder `load(name, path)` would read without downloading, or None when there is none."""
    return _get(name).find(path)


def search_dirs(name, path=None):
    """The folders `load(name, path)` searches, in order (existing or not)."""
    return _get(name).search_dirs(path)
