"""The model file: architecture as JSON, weights and optimizer state as arrays, in one NumPy .npz archive
read with allow_pickle=False (loading never executes code). This module knows the file, not the model
classes: it writes any model through get_config/get_weights and hands back what it read; fastnn.saving
builds the model from that.

The archive holds "config" (a JSON string), "weights/<i>", "optimizer/<name>", and "checksum": the sha256
of the config and every array, so a truncated or tampered file is refused with a clear error. The file is
written next to its destination and renamed over it, so a crash mid-save leaves the previous file intact.
"""
import hashlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "fastnn-model-1"


def _digest(config_json, arrays):
    h = hashlib.sha256(config_json.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_model(model, filepath, include_optimizer=True):
    """Write model to filepath atomically (a temporary file in the same folder, then os.replace)."""
    filepath = os.fspath(filepath)
    model._require_built("save")
    config = {"format": FORMAT, "model": model.get_config()}
    arrays = {f"weights/{i}": w for i, w in enumerate(model.get_weights())}
    if model.loss is not None:
        config["compile"] = {"loss": model.loss.get_config(), "optimizer": model.optimizer.get_config(),
                             "metrics": list(model.metrics_names)}
        if include_optimizer and model.optimizer.uses_gradients:
            state = model.optimizer.get_state()
            config["compile"]["iterations"] = state.pop("iterations")
            arrays.update({f"optimizer/{k}": v for k, v in state.items()})
    config_json = json.dumps(config)
    arrays["config"] = np.array(config_json)
    arrays["checksum"] = np.array(_digest(config_json, {k: v for k, v in arrays.items() if k != "config"}))
    folder = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file private (0600); give it the mode an ordinary new file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_model_file(filepath):
    """(config, arrays) of a model file, after its format and checksum were verified."""
    try:
        with open(filepath, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_model: no such file: {filepath!r}") from None
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a bare .npy array, not an .npz archive")
        with loaded as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"load_model: {filepath!r} is not a readable fastnn model file (truncated or corrupt: "
                         f"{type(exc).__name__}: {exc})") from None
    for key in ("config", "checksum"):
        if key not in arrays or arrays[key].dtype.kind != "U" or arrays[key].ndim != 0:
            raise ValueError(f"load_model: {filepath!r} is not a fastnn model file (no {key!r} entry)")
    config_json = str(arrays.pop("config"))
    checksum = str(arrays.pop("checksum"))
    if _digest(config_json, arrays) != checksum:
        raise ValueError(f"load_model: {filepath!r} failed its checksum: the file was modified or damaged")
    try:
        config = json.loads(config_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"load_model: {filepath!r} has an unreadable config: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"load_model: {filepath!r} has format {config.get('format') if isinstance(config, dict) else None!r}; "
                         f"expected {FORMAT!r}")
    return config, arrays
