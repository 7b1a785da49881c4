"""Fuzzing the readers of files a user may be handed: saved models (fastnn.load_model) and IDX datasets
(fastnn.datasets.read_idx). Hypothesis mutates valid files (flipped and replaced bytes, cuts, insertions,
repeats) for a bounded number of examples; the only error that may come out is fastnn.CorruptFileError, and
a file that still loads must give what its intact bytes describe (a mutation nothing depends on)."""
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import layers
from fastnn.datasets import read_idx, write_idx

pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _model_bytes():
    model = fastnn.Sequential([layers.Input((6,)), layers.Dense(4, activation="relu"), layers.BatchNormalization(),
                               layers.Dense(3, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.normal(size=(8, 6)).astype(np.float32), rng.integers(0, 3, 8))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.fastnn")
        model.save(path)
        with open(path, "rb") as f:
            return f.read(), model.get_weights()


MODEL, MODEL_WEIGHTS = _model_bytes()


@st.composite
def mutated(draw, data):
    """`data` with 1-8 edits: a byte xor-ed or replaced, a range cut out, random bytes inserted, a range
    repeated, or the end cut off."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "repeat", "truncate"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and out:
            out[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, ord("("), ord("'"), ord("9")]))
        elif kind == "cut":
            del out[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "repeat":
            out[at:at] = out[at:at + draw(st.integers(1, 256))]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


def _write(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


@FUZZ
@given(data=mutated(MODEL))
def test_a_mutated_model_file_loads_intact_or_raises_corrupt_file_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, "m.fastnn", data)
        try:
            model = fastnn.load_model(path)
        except fastnn.CorruptFileError as exc:
            assert repr(path) in str(exc)
            return
        for got, want in zip(model.get_weights(), MODEL_WEIGHTS, strict=True):
            np.testing.assert_array_equal(got, want)


IMAGES = np.random.default_rng(1).integers(0, 256, size=(5, 7, 6), dtype=np.uint8)


@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_a_mutated_idx_file_reads_as_its_header_says_or_raises_corrupt_file_error(name):
    with tempfile.TemporaryDirectory() as folder:
        intact = _write(folder, "intact-" + name, b"")
        write_idx(intact, IMAGES)
        with open(intact, "rb") as f:
            original = f.read()

    @FUZZ
    @given(data=mutated(original))
    def check(data):
        with tempfile.TemporaryDirectory() as folder:
            path = _write(folder, name, data)
            try:
                out = read_idx(path)
            except fastnn.CorruptFileError as exc:
                assert path in str(exc)
                return
            # it read: the array is exactly what the (possibly changed) header declares, no more
            assert out.size * out.itemsize <= max(len(data) * 1032, len(data))

    check()
