"""Fuzzing the readers of files a user may be handed: saved models (fastnn.load_model) and IDX datasets
(fastnn.datasets.read_idx). Hypothesis mutates valid files (flipped and replaced bytes, cuts, insertions,
repeats) for a bounded number of examples; the only error that may come out is fastnn.CorruptFileError, and
a file that still loads must give what its intact bytes describe (a mutation nothing depends on)."""
import os
import sys
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


def _leaves(node, path=()):
    """Every path to a value inside a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, path + (i,))
    yield path


def _consistent(config):
    """MODEL's arrays with `config` and a checksum that matches it: what someone who edits a file writes."""
    import io
    import json
    import zipfile

    from fastnn import saving_lib
    with zipfile.ZipFile(io.BytesIO(MODEL)) as z:
        arrays = {n[:-4]: np.load(io.BytesIO(z.read(n))) for n in z.namelist() if n not in ("config.npy", "checksum.npy")}
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)   # so that the file can hold a 5000-digit number for the reader to meet
    try:
        text = json.dumps(config)
    finally:
        sys.set_int_max_str_digits(limit)
    buf = io.BytesIO()
    np.savez(buf, config=np.array(text), checksum=np.array(saving_lib._digest(text, arrays)), **arrays)
    return buf.getvalue()


def _config():
    import io
    import json
    import zipfile
    with zipfile.ZipFile(io.BytesIO(MODEL)) as z:
        return json.loads(str(np.load(io.BytesIO(z.read("config.npy")))))


CONFIG = _config()


def _nested(depth):
    """[[[...[1]...]]]: a list `depth` deep."""
    value = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.just(10**5000) if hasattr(sys, 'set_int_max_str_digits') else st.just(10**300), st.just(-1), st.just(0),
    st.floats(allow_nan=True, allow_infinity=True), st.just(1e308), st.text(max_size=20),
    st.lists(st.integers(-3, 10**6), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just(_nested(30)),
    st.sampled_from(["Lambda", "Dense", "relu", "softmax", "adam", "__import__", "float16", "int8"]))


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(sorted(set(_leaves(CONFIG)), key=str)), HOSTILE_VALUES),
                      min_size=1, max_size=3))
def test_a_consistent_file_with_a_hostile_config_loads_or_raises_corrupt_file_error(edits):
    """The checksum matches, so every value of the config reaches the code that builds the model."""
    import copy
    config = copy.deepcopy(CONFIG)
    for path, value in edits:
        if not path:
            config = value
            continue
        node = config
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue   # an earlier edit changed the shape above this path
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, "m.fastnn", _consistent(config))
        try:
            fastnn.load_model(path)
        except fastnn.CorruptFileError as exc:
            assert repr(path) in str(exc)
