"""Model.save / fastnn.load_model: exact round trips (training resumes as if never stopped), atomic writes,
and refusal of damaged, tampered or code-bearing files with a ValueError that says what is wrong."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import layers, optimizers, saving_lib


pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype(np.float32), rng.integers(0, 3, size=n)


def _model(optimizer="adam", seed=0):
    model = fastnn.Sequential([
        layers.Input((5,)),
        layers.Dense(8, activation="relu"),
        layers.BatchNormalization(),          # non-trainable moving statistics travel too
        layers.Dense(3, activation="softmax"),
    ], seed=seed)
    model.compile(optimizers.get(optimizer), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build()
    return model


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


OPTIMIZERS = ["adam", "rmsprop", "adagrad", optimizers.SGD(0.05, momentum=0.9)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["adam", "rmsprop", "adagrad", "sgd-momentum"])
def test_training_resumes_exactly_after_save_and_load(tmp_path, optimizer):
    x, y = _data()
    straight = _model(optimizer)
    straight.train_on_batch(x, y)
    straight.train_on_batch(x, y)

    first = _model(optimizer if isinstance(optimizer, str) else optimizers.get(optimizer.get_config()))
    first.train_on_batch(x, y)
    first.save(tmp_path / "m.fastnn")
    resumed = fastnn.load_model(tmp_path / "m.fastnn")
    assert resumed.optimizer.iterations == 1
    resumed.train_on_batch(x, y)
    _assert_same_weights(resumed, straight)


def test_without_optimizer_state_the_resumed_run_differs(tmp_path):
    """The round trip above can fail: dropping the optimizer's state changes the next step."""
    x, y = _data()
    straight = _model()
    straight.train_on_batch(x, y)
    straight.train_on_batch(x, y)
    first = _model()
    first.train_on_batch(x, y)
    first.save(tmp_path / "m.fastnn", include_optimizer=False)
    resumed = fastnn.load_model(tmp_path / "m.fastnn")
    resumed.train_on_batch(x, y)
    assert not np.array_equal(resumed.get_weights()[0], straight.get_weights()[0])


def test_round_trip_keeps_architecture_predictions_and_compile_settings(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.fastnn")
    loaded = fastnn.load_model(tmp_path / "m.fastnn")
    assert loaded.get_config() == model.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics_names == ["accuracy"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    uncompiled = fastnn.load_model(tmp_path / "m.fastnn", compile=False)
    assert uncompiled.loss is None
    np.testing.assert_array_equal(uncompiled.predict(x), model.predict(x))


def test_a_failure_mid_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    x, y = _data()
    path = tmp_path / "m.fastnn"
    old = _model(seed=1)
    old.save(path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    newer = _model(seed=2)
    newer.train_on_batch(x, y)
    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        newer.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.fastnn"]      # no temporary file left behind
    _assert_same_weights(fastnn.load_model(path), old)


# -- damaged and hostile files -------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.fastnn"
    _model().save(path)
    return path


def _entries(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write_zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)


def _npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


@pytest.mark.parametrize("keep", [0, 10, 200, 0.5, -1])
def test_a_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) - 1 if keep == -1 else keep)
    saved.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="not a readable fastnn model file|not a fastnn model file"):
        fastnn.load_model(saved)


def test_a_byte_changed_inside_the_weights_is_refused(saved):
    data = bytearray(saved.read_bytes())
    kernel = np.ascontiguousarray(fastnn.load_model(saved).get_weights()[0]).tobytes()
    at = bytes(data).index(kernel) + len(kernel) // 2
    data[at] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt|checksum"):
        fastnn.load_model(saved)


def test_a_rewritten_weight_entry_fails_the_checksum(saved):
    entries = _entries(saved)
    weights = np.load(io.BytesIO(entries["weights/0.npy"]))
    entries["weights/0.npy"] = _npy(weights + 1)      # a well-formed zip and array, different numbers
    _write_zip(saved, entries)
    with pytest.raises(ValueError, match="failed its checksum"):
        fastnn.load_model(saved)


def test_a_rewritten_config_fails_the_checksum(saved):
    entries = _entries(saved)
    config = json.loads(str(np.load(io.BytesIO(entries["config.npy"]))))
    config["model"]["layers"][0]["config"]["units"] = 9
    entries["config.npy"] = _npy(np.array(json.dumps(config)))
    _write_zip(saved, entries)
    with pytest.raises(ValueError, match="failed its checksum"):
        fastnn.load_model(saved)


def test_a_consistent_file_naming_an_unknown_layer_is_refused(saved):
    """Even with a matching checksum, only fastnn's own layer classes are ever instantiated."""
    entries = _entries(saved)
    config = json.loads(str(np.load(io.BytesIO(entries["config.npy"]))))
    config["model"]["layers"][0]["class_name"] = "Lambda"
    config_json = json.dumps(config)
    arrays = {name[:-4]: np.load(io.BytesIO(data)) for name, data in entries.items()
              if name not in ("config.npy", "checksum.npy")}
    entries["config.npy"] = _npy(np.array(config_json))
    entries["checksum.npy"] = _npy(np.array(saving_lib._digest(config_json, arrays)))
    _write_zip(saved, entries)
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        fastnn.load_model(saved)


def _run_payload(path):
    """What a malicious pickle would run on load: it leaves a file behind."""
    with open(path, "w") as f:
        f.write("code ran")


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return _run_payload, (self.path,)


def test_a_pickle_bearing_npz_is_refused_without_running_code(saved, tmp_path):
    marker = tmp_path / "pwned"
    entries = _entries(saved)
    hostile = np.empty(1, dtype=object)
    hostile[0] = _Payload(str(marker))
    entries["weights/0.npy"] = _npy(hostile, allow_pickle=True)
    _write_zip(saved, entries)
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load_model(saved)
    assert not marker.exists()
    # the payload is real: unpickling it the unsafe way would have run it
    np.load(io.BytesIO(entries["weights/0.npy"]), allow_pickle=True)
    assert marker.exists()


def test_a_plain_pickle_file_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.fastnn"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"hello, not a model\n", b"PK\x03\x04 broken zip header"],
                         ids=["empty", "text", "fake-zip"])
def test_a_file_that_is_not_a_zip_archive_is_refused(tmp_path, content):
    path = tmp_path / "m.fastnn"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load_model(path)


def test_an_npz_without_a_fastnn_config_is_refused(tmp_path):
    path = tmp_path / "m.fastnn"
    np.savez(path.open("wb"), weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a fastnn model file"):
        fastnn.load_model(path)


def test_a_single_array_npy_file_is_refused(tmp_path):
    path = tmp_path / "m.fastnn"
    with path.open("wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ValueError, match="not a .*fastnn model file"):
        fastnn.load_model(path)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        fastnn.load_model(tmp_path / "nope.fastnn")
