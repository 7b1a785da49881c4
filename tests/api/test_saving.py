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
    assert loaded.metrics_names == ["loss", "accuracy"]
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


# -- malformed files: only CorruptFileError, and nothing allocated before the file is checked ---------------
def _rewrite(path, entries, config=None, arrays=None):
    """Rewrite a saved model with a new config and/or arrays and a matching checksum (a consistent file)."""
    config_json = json.dumps(config) if config is not None else str(np.load(io.BytesIO(entries["config.npy"])))
    arrays = arrays if arrays is not None else {
        name[:-4]: np.load(io.BytesIO(data)) for name, data in entries.items()
        if name not in ("config.npy", "checksum.npy")}
    entries = {"config.npy": _npy(np.array(config_json)),
               "checksum.npy": _npy(np.array(saving_lib._digest(config_json, arrays))),
               **{f"{name}.npy": data if isinstance(data, bytes) else _npy(data) for name, data in arrays.items()}}
    _write_zip(path, entries)


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _peak_bytes(fn):
    """(what fn raised, the peak of traced Python and NumPy memory while it ran)."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(fastnn.CorruptFileError) as info:
            fn()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_every_single_byte_flipped_either_loads_unchanged_or_raises_corrupt_file_error(saved):
    """Exhaustive over the file: a flip in the zip directory, an array header, the data or the checksum
    gives CorruptFileError (never TokenError, NotImplementedError, MemoryError...); flips in fields nothing
    depends on (timestamps) load the same model."""
    good = fastnn.load_model(saved)
    data = saved.read_bytes()
    loaded = refused = 0
    for at in range(len(data)):
        for mask in (0x01, 0x80):
            mutated = bytearray(data)
            mutated[at] ^= mask
            saved.write_bytes(bytes(mutated))
            try:
                model = fastnn.load_model(saved)
            except fastnn.CorruptFileError:
                refused += 1
                continue
            _assert_same_weights(model, good)
            loaded += 1
    assert refused > 0.9 * 2 * len(data) and loaded > 0


def test_an_array_header_declaring_a_huge_shape_is_refused_without_allocating(saved):
    entries = _entries(saved)
    entries["weights/0.npy"] = _npy_header((10**6, 10**6)) + bytes(12)
    _write_zip(saved, entries)
    exc, peak = _peak_bytes(lambda: fastnn.load_model(saved))
    assert "'weights/0'" in str(exc) and peak < 4 << 20


def test_an_architecture_its_arrays_do_not_fit_is_refused_before_the_model_is_allocated(saved):
    """A consistent (checksummed) file whose config declares Dense(200000) and Dense(10**12)."""
    entries = _entries(saved)
    config = json.loads(str(np.load(io.BytesIO(entries["config.npy"]))))
    for units in (200_000, 10**12):
        config["model"]["layers"][0]["config"]["units"] = units
        _rewrite(saved, entries, config=config)
        exc, peak = _peak_bytes(lambda: fastnn.load_model(saved))
        assert "do not match its architecture" in str(exc) or "the architecture expects" in str(exc)
        assert peak < 4 << 20


def test_a_compressed_entry_that_inflates_far_beyond_the_file_is_refused_without_inflating(saved):
    entries = _entries(saved)
    header = _npy_header((1 << 24,))
    with zipfile.ZipFile(saved, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            if name != "weights/0.npy":
                z.writestr(name, data)
        with z.open("weights/0.npy", "w") as f:     # 64 MiB of zeros, deflated to ~64 KB
            f.write(header)
            zeros = bytes(1 << 20)
            for _ in range(64):
                f.write(zeros)
    assert saved.stat().st_size < 1 << 20
    exc, peak = _peak_bytes(lambda: fastnn.load_model(saved))
    assert "compressed" in str(exc) and peak < 4 << 20


def test_entries_declaring_more_bytes_than_the_file_holds_are_refused(saved):
    data = bytearray(saved.read_bytes())
    directory = data.index(b"PK\x01\x02")           # the first central-directory record
    data[directory + 20:directory + 28] = (1 << 30).to_bytes(4, "little") * 2   # compressed and plain sizes
    saved.write_bytes(bytes(data))
    exc, peak = _peak_bytes(lambda: fastnn.load_model(saved))
    assert "more than the file holds" in str(exc) and peak < 4 << 20


@pytest.mark.parametrize("kind", ["folder", "device", "fifo"])
def test_what_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, kind):
    path = {"folder": tmp_path, "device": "/dev/zero", "fifo": tmp_path / "pipe"}[kind]
    if kind == "fifo":
        os.mkfifo(path)          # opening it for reading would block forever: it must not be opened
    with pytest.raises(fastnn.CorruptFileError, match="not a regular file"):
        fastnn.load_model(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_optimizer_state_is_refused(saved, bad):
    entries = _entries(saved)
    arrays = {name[:-4]: np.load(io.BytesIO(data)) for name, data in entries.items()
              if name not in ("config.npy", "checksum.npy")}
    name = next(n for n in arrays if n.startswith("optimizer/"))
    arrays[name][3] = bad
    _rewrite(saved, entries, arrays=arrays)
    with pytest.raises(fastnn.CorruptFileError, match=r"optimizer state .* must be finite"):
        fastnn.load_model(saved)
    model = fastnn.load_model(saved, compile=False)       # the weights themselves are sound
    assert model.loss is None


def test_set_state_refuses_non_finite_values_and_changes_nothing():
    model = _model()
    x, y = _data()
    model.train_on_batch(x, y)
    before = model.optimizer.get_state()
    state = model.optimizer.get_state()
    state["m"][0] = np.nan
    with pytest.raises(ValueError, match="'m' must be finite. Received: 1 NaN or inf"):
        model.optimizer.set_state(state)
    after = model.optimizer.get_state()
    assert after["iterations"] == before["iterations"]
    np.testing.assert_array_equal(after["m"], before["m"])


# -- interrupted saves and symbolic links -------------------------------------------------------------
def test_a_save_killed_mid_write_leaves_a_temporary_file_that_the_next_save_removes(saved):
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent(f"""
        import os, signal, numpy as np, fastnn
        model = fastnn.load_model({str(saved)!r})
        def dies_midway(f, **arrays):
            f.write(b"PK partial archive")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        np.savez = dies_midway
        model.save({str(saved)!r})
    """)
    before = saved.read_bytes()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert result.returncode == -9
    stale = [n for n in os.listdir(saved.parent) if n.endswith(".tmp")]
    assert len(stale) == 1 and saved.read_bytes() == before
    fastnn.load_model(saved).save(saved)             # a fresh temporary file is not touched ...
    assert stale[0] in os.listdir(saved.parent)
    old = saved.stat().st_mtime - 3600
    os.utime(saved.parent / stale[0], (old, old))    # ... one left an hour ago by a dead writer is
    fastnn.load_model(saved).save(saved)
    assert sorted(os.listdir(saved.parent)) == ["m.fastnn"]


@pytest.mark.skipif(saving_lib.fcntl is None, reason="advisory locks are POSIX")
def test_a_temporary_file_that_a_live_save_holds_is_not_removed(tmp_path):
    import fcntl
    live = tmp_path / ".fastnn-live.tmp"
    live.write_bytes(b"being written")
    old = live.stat().st_mtime - 3600
    os.utime(live, (old, old))
    with open(live, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        assert saving_lib.remove_stale_temporaries(tmp_path) == []
    assert live.exists()
    assert saving_lib.remove_stale_temporaries(tmp_path) == [live.name]


def test_saving_to_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path):
    target_dir = tmp_path / "store"
    target_dir.mkdir()
    _model(seed=1).save(target_dir / "real.fastnn")
    link = tmp_path / "current.fastnn"
    link.symlink_to(os.path.join("store", "real.fastnn"))
    newer = _model(seed=2)
    newer.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("store", "real.fastnn")
    _assert_same_weights(fastnn.load_model(target_dir / "real.fastnn"), newer)
    assert sorted(os.listdir(tmp_path)) == ["current.fastnn", "store"]
    dangling = tmp_path / "next.fastnn"
    dangling.symlink_to(os.path.join("store", "next.fastnn"))
    newer.save(dangling)
    assert dangling.is_symlink() and (target_dir / "next.fastnn").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_named_like_a_temporary_file_does_not_block_a_save(tmp_path):
    import threading
    os.mkfifo(tmp_path / ".fastnn-trap.tmp")
    old = os.stat(tmp_path).st_mtime - 3600
    os.utime(tmp_path / ".fastnn-trap.tmp", (old, old))
    saver = threading.Thread(target=_model().save, args=(tmp_path / "m.fastnn",), daemon=True)
    saver.start()
    saver.join(30)
    assert not saver.is_alive() and (tmp_path / "m.fastnn").is_file()
    assert (tmp_path / ".fastnn-trap.tmp").exists()   # not a file a save made: left alone


@pytest.mark.parametrize("change", ["unknown", "partial"])
def test_optimizer_state_must_be_exactly_the_optimizers(saved, change):
    """A consistent file with an optimizer array its optimizer does not have, or with half of its state."""
    entries = _entries(saved)
    arrays = {name[:-4]: np.load(io.BytesIO(data)) for name, data in entries.items()
              if name not in ("config.npy", "checksum.npy")}
    if change == "unknown":
        arrays["optimizer/velocity"] = arrays["optimizer/m"].copy()
    else:
        del arrays["optimizer/v"]
    _rewrite(saved, entries, arrays=arrays)
    with pytest.raises(fastnn.CorruptFileError, match="do not match its architecture"):
        fastnn.load_model(saved)
