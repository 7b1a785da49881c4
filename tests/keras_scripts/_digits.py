"""The 10,000 MNIST digits shipped in fastnn/data/mnist-10k, read with NumPy alone.

Plain NumPy and gzip (not fastnn, not Keras), so a script reads the same data under both.
load_digits() returns what keras.datasets.mnist.load_data() does, smaller:
((x_train, y_train), (x_test, y_test)), uint8, images (N, 28, 28), labels (N,); the split is the
data's README's, images 0..7999 for training and 8000..9999 for testing.
"""
import gzip
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "fastnn" / "data" / "mnist-10k"
TRAIN = 8000


def _read_idx(path):
    """An IDX file: magic (2 zero bytes, dtype code 0x08 = uint8, number of dims), big-endian dims, data."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not a uint8 IDX file. Received magic bytes: {raw[:4]!r}")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    # a writable copy, as keras.datasets.mnist.load_data() gives
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


def load_digits():
    images = _read_idx(DATA / "images-idx3-ubyte.gz")
    labels = _read_idx(DATA / "labels-idx1-ubyte.gz")
    return (images[:TRAIN], labels[:TRAIN]), (images[TRAIN:], labels[TRAIN:])
