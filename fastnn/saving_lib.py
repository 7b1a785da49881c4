"""The model file: architecture as JSON, weights and optimizer state as arrays, in one NumPy .npz archive.
This module knows the file, not the model classes: it writes any model through get_config/get_weights, and
read_model_file returns a file's config and arrays, which fastnn.saving compares with the architecture the
config describes before it allocates the model.

The archive holds "config" (a JSON string), "weights/<i>", "optimizer/<name>", and "checksum": the sha256
of the config and every array, so a truncated or tampered file is refused. Entries are stored uncompressed
(np.savez), and a reader never executes code (no pickle) and allocates no more than about twice the file's
size: every entry must lie within the file, after the one before it, and hold exactly the bytes its array
header declares. Every malformed
file is refused with fastnn.CorruptFileError (a ValueError) naming the file and what is wrong.

The file is written next to its destination (through a symbolic link, to the link's target) and renamed over
it, so a crash mid-save leaves the previous file intact; the temporary file is locked while it is written, and
the next save to that folder deletes temporary files whose writer died (kill -9, power loss).
"""
import hashlib
import json
import math
import os
import stat
import tempfile
import time
import warnings
import zipfile

import numpy as np

from .errors import CorruptFileError

try:
    import fcntl
except ImportError:   # Windows: no advisory locks; stale temporary files are recognised by age alone
    fcntl = None

FORMAT = "fastnn-model-1"
_CONFIG_LIMIT = 16 << 20       # bytes a config entry may hold (a model's JSON is a few KB)
_HEADER_LIMIT = 10000          # bytes an array header may hold (NumPy's own default limit)
_TMP_PREFIX, _TMP_SUFFIX = ".fastnn-", ".tmp"
_STALE_AFTER = 60 if fcntl is not None else 3600   # seconds: a younger temporary file may still be written


def _digest(config_json, arrays):
    h = hashlib.sha256(config_json.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


# -- writing ----------------------------------------------------------------------------------------
def save_model(model, filepath, include_optimizer=True):
    """Write model to filepath atomically (a temporary file in the same folder, then os.replace). When
    filepath is a symbolic link, its target is replaced and the link kept."""
    filepath = os.fspath(filepath)
    model._require_built("save")
    config = {"format": FORMAT, "model": model.get_config()}
    arrays = {f"weights/{i}": w for i, w in enumerate(model.get_weights())}
    if model.loss is not None:
        targets = model._targets
        if len(targets) == 1:
            compiled = {"loss": targets[0].loss.get_config(), "metrics": targets[0].metrics}
            if targets[0].weight != 1.0:
                compiled["loss_weights"] = targets[0].weight
        else:   # per output, in order
            compiled = {"loss": [t.loss.get_config() for t in targets], "metrics": [t.metrics for t in targets],
                        "loss_weights": [t.weight for t in targets]}
        config["compile"] = {**compiled, "optimizer": model.optimizer.get_config()}
        if include_optimizer and model.optimizer.uses_gradients and model._placed != model._trains():
            warnings.warn(f"save: a layer's trainable changed since compile(), so the optimizer state (sized for "
                          f"the weights compile() set to train) is not saved in {filepath!r}; compile() again to "
                          "save it", RuntimeWarning, stacklevel=3)
        elif include_optimizer and model.optimizer.uses_gradients:
            state = model.optimizer.get_state()
            config["compile"]["iterations"] = state.pop("iterations")
            arrays.update({f"optimizer/{k}": v for k, v in state.items()})
    config_json = json.dumps(config)
    arrays["config"] = np.array(config_json)
    arrays["checksum"] = np.array(_digest(config_json, {k: v for k, v in arrays.items() if k != "config"}))
    atomic_write(filepath, lambda f: np.savez(f, **arrays))


def atomic_write(filepath, write):
    """write(f) into a temporary file beside filepath (through a symbolic link, beside its target), then
    renamed over it: a crash mid-write leaves the previous file intact. The temporary file is locked while it
    is written, so that remove_stale_temporaries leaves it alone."""
    target = os.path.realpath(os.fspath(filepath))
    folder = os.path.dirname(target)
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)   # held until the rename: the file is being written
            write(f)
            f.flush()
            os.fsync(f.fileno())
            # mkstemp creates the file private (0600); give it the mode an ordinary new file would get
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            if fcntl is not None:
                os.replace(tmp, target)   # while still locked
        if fcntl is None:
            os.replace(tmp, target)       # Windows renames only a closed file
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


WEIGHTS_SUFFIX = ".weights.h5"


def save_weights(model, filepath, overwrite=True):
    """model.save_weights: Keras 3's name, `<name>.weights.h5`, holding fastnn's model file (the weights and
    the architecture they belong to, no optimizer state): not HDF5, and not readable by Keras."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"save_weights(filepath=...) expects a name ending in {WEIGHTS_SUFFIX!r}, as Keras 3. "
                         f"Received: filepath={filepath!r}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
    save_model(model, filepath, include_optimizer=False)


def load_weights(model, filepath):
    """model.load_weights: the weights of a file written by save_weights or save (any fastnn model file),
    checked against the model's weights one by one before any is set."""
    filepath = os.fspath(filepath)
    _, arrays = read_model_file(filepath)
    weights, i = [], 0
    while f"weights/{i}" in arrays:
        weights.append(arrays[f"weights/{i}"])
        i += 1
    try:
        model.set_weights(weights)
    except ValueError as exc:
        raise ValueError(f"load_weights: {filepath!r} does not fit this model: {exc}") from None


def remove_stale_temporaries(folder):
    """Delete the temporary files of saves to `folder` that never finished (the process was killed): those
    older than a minute that no live save holds locked (without advisory locks, Windows: older than an hour).
    Returns the names deleted."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(_TMP_PREFIX) and n.endswith(_TMP_SUFFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = os.path.join(folder, name)
        try:   # O_NONBLOCK: a FIFO of that name must not block the save
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            stale = stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime >= _STALE_AFTER
            if stale and fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # OSError when a live save holds it
            stale = stale and os.lstat(path).st_ino == st.st_ino
        except OSError:
            stale = False
        finally:
            os.close(fd)   # before unlinking: Windows deletes only a closed file
        if stale:
            try:
                os.unlink(path)
                removed.append(name)
            except OSError:
                pass
    return removed


# -- reading ----------------------------------------------------------------------------------------
class ModelFile:
    """A model file open for reading. Opening checks that it is a regular file and that its archive
    directory is sound (every entry stored, within the file, no duplicates), and reads its config (`config`,
    a dict of the right format); read_arrays() reads the arrays and verifies the checksum."""

    def __init__(self, filepath):
        self.path = os.fspath(filepath)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise FileNotFoundError(f"load_model: no such file: {self.path!r}") from None
        if not stat.S_ISREG(st.st_mode):
            raise self._corrupt("it is not a regular file (a folder, device or pipe)")
        # opened without blocking and checked again: the name may have become a pipe since the stat
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        self._file = os.fdopen(fd, "rb")
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self._corrupt("it is not a regular file (a folder, device or pipe)")
            self.size = st.st_size
            self._open_archive()
            self.config_json = self._read_text("config", _CONFIG_LIMIT)
            self._checksum = self._read_text("checksum", 256)
            self.config = self._parse_config()
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    @property
    def array_names(self):
        """The names of the file's arrays (its entries but the config and the checksum)."""
        return [n for n in self._entries if n not in ("config", "checksum")]

    def _corrupt(self, what, kind="not a readable fastnn model file"):
        return CorruptFileError(f"load_model: {self.path!r} is {kind}: {what}")

    def _open_archive(self):
        try:
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except Exception as exc:   # zipfile raises many kinds for a damaged directory
            raise self._corrupt(f"truncated or corrupt ({type(exc).__name__}: {exc})") from None
        self._entries, total = {}, 0
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or name[:-4] in self._entries:
                raise self._corrupt(f"unexpected or repeated entry {name!r}")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise self._corrupt(f"entry {name!r} is compressed or encrypted (fastnn stores entries as they are)")
            total += info.compress_size
            if info.file_size != info.compress_size or info.header_offset + info.compress_size > self.size:
                raise self._corrupt(f"entry {name!r} declares {info.file_size} bytes, more than the file holds")
            self._entries[name[:-4]] = info
        if total > self.size:
            raise self._corrupt(f"its entries declare {total} bytes in all, more than its {self.size} bytes")
        # one after another: each entry (a local header of 30 bytes and its name, then its data) ends before
        # the next begins
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for a, b in zip(ordered, ordered[1:]):
            if a.header_offset + 30 + len(a.filename.encode()) + a.compress_size > b.header_offset:
                raise self._corrupt(f"entries {a.filename!r} and {b.filename!r} overlap")
        for key in ("config", "checksum"):
            if key not in self._entries:
                raise self._corrupt(f"no {key!r} entry", kind="not a fastnn model file")

    def _read_entry(self, name, check):
        """The array of entry `name`; check(shape, dtype) raises on an unexpected header, before allocating."""
        info = self._entries[name]
        try:
            with self._zip.open(info) as f:
                shape, dtype = self._header(f, name)
                check(shape, dtype)
                nbytes = math.prod(shape) * dtype.itemsize
                if info.file_size - f.tell() != nbytes:
                    raise self._corrupt(f"entry {name!r} holds {info.file_size - f.tell()} bytes of data; its "
                                        f"header declares {dtype} {shape}, {nbytes} bytes")
                out = np.empty(shape, dtype)
                view = memoryview(out.reshape(-1).view(np.uint8))
                got = 0
                while got < nbytes:
                    n = f.readinto(view[got:])
                    if not n:
                        raise self._corrupt(f"entry {name!r} is truncated")
                    got += n
                f.read(1)   # reaches the end of the entry, where zipfile checks its CRC
        except CorruptFileError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise self._corrupt(f"entry {name!r} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
        return out

    def _header(self, f, name):
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_HEADER_LIMIT)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_HEADER_LIMIT)
            else:
                raise ValueError(f"array format version {version}; expected 1.0 or 2.0")
        except (zipfile.BadZipFile, EOFError, OSError):   # the entry's bytes, not its header: _read_entry says so
            raise
        except Exception as exc:   # NumPy's header parser lets through what its tokenizer raises
            raise self._corrupt(f"entry {name!r} has an unreadable array header ({type(exc).__name__}: {exc})") from None
        if fortran_order:
            raise self._corrupt(f"entry {name!r} is in Fortran order; fastnn writes C order")
        return shape, dtype

    def _read_text(self, name, limit):
        def check(shape, dtype):
            if dtype.kind != "U" or shape != () or dtype.itemsize > limit:
                raise self._corrupt(f"entry {name!r} expects a string of at most {limit // 4} characters. "
                                    f"Received: {dtype} {shape}", kind="not a fastnn model file")
        return str(self._read_entry(name, check)[()])

    def _parse_config(self):
        try:
            config = json.loads(self.config_json)
        except (ValueError, RecursionError) as exc:   # JSONDecodeError, and an integer of over 4300 digits
            raise self._corrupt(f"an unreadable config ({type(exc).__name__}: {exc})") from None
        found = config.get("format") if isinstance(config, dict) else None
        if found != FORMAT:
            raise self._corrupt(f"format {found!r}; expected {FORMAT!r}", kind="not a fastnn model file")
        return config

    def read_arrays(self):
        """{name: array} of every array in the file (floating-point, at most the file's size in all), once
        the file passed its checksum."""
        def check(shape, dtype):
            if dtype.kind != "f":
                raise self._corrupt(f"an array of {dtype}; fastnn's weights are floating-point")
        arrays = {name: self._read_entry(name, check) for name in self.array_names}
        if _digest(self.config_json, arrays) != self._checksum:
            raise self._corrupt("the file was modified or damaged", kind="a fastnn model file that failed its checksum")
        return arrays


def read_model_file(filepath):
    """(config, arrays) of a model file, once its format and checksum were verified; reading allocates no
    more than about twice the file's size. Raises FileNotFoundError, or CorruptFileError naming what is wrong."""
    with ModelFile(filepath) as f:
        return f.config, f.read_arrays()
