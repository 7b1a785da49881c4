"""Saving and loading whole models (fastnn.saving_lib describes the file): save_model, and load_model,
which rebuilds the model from the file's config, weights and compile settings."""
import os

import numpy as np

from . import losses, optimizers
from .errors import CorruptFileError
from .models.spec import model_from_config
from .saving_lib import load_weights, read_model_file, save_model, save_weights

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]


def load_model(filepath, compile=True):
    """Rebuild a model saved by Model.save: architecture, weights and (compile=True) loss and optimizer state.

    Raises FileNotFoundError for a missing file, and fastnn.CorruptFileError (a ValueError) naming the file
    and what is wrong for anything that is not a sound fastnn model file: truncated or damaged, modified after
    it was written, an architecture its arrays do not fit, non-finite weights or optimizer state. Nothing in
    the file is executed, and the model is allocated only once its arrays fit the architecture."""
    filepath = os.fspath(filepath)
    config, arrays = read_model_file(filepath)

    def invalid(what):
        return CorruptFileError(f"load_model: {filepath!r} describes an invalid model: {what}")

    cc = config.get("compile")
    try:
        model = model_from_config(config.get("model"), "the model's config", build=False)
        # the optimizer state the file must hold: all of its optimizer's state, or none
        optimizer = optimizers.get(cc["optimizer"]) if isinstance(cc, dict) else None
        state_names = optimizer.state_names if optimizer is not None else ()
    except _CONFIG_ERRORS as exc:
        raise invalid(f"{type(exc).__name__}: {exc}") from None
    specs = [(layer, w) for layer in model.layers for w in layer.weights_spec]
    dtype = np.dtype(model.dtype)
    n_trainable = sum(int(np.prod(w.shape)) for _, w in specs if w.trains)
    expected = {f"weights/{i}": w.shape for i, (_, w) in enumerate(specs)}
    if any(name.startswith("optimizer/") for name in arrays):
        expected.update({f"optimizer/{k}": (n_trainable,) for k in state_names})
    if set(arrays) != set(expected):
        raise invalid(f"its arrays do not match its architecture: missing {sorted(set(expected) - set(arrays))}, "
                      f"unexpected {sorted(set(arrays) - set(expected))}")
    for name, shape in expected.items():
        if arrays[name].shape != tuple(shape) or arrays[name].dtype != dtype:
            raise invalid(f"array {name!r} is {arrays[name].dtype} {arrays[name].shape}; the architecture "
                          f"expects {dtype} {tuple(shape)}")
    try:
        model.build()
        model.set_weights([arrays[f"weights/{i}"] for i in range(len(specs))])
        if compile and cc is not None:
            several = isinstance(cc["loss"], list)
            model.compile(optimizer=optimizer, metrics=cc["metrics"], loss_weights=cc.get("loss_weights"),
                          loss=[losses.get(c) for c in cc["loss"]] if several else losses.get(cc["loss"]))
            opt = model.optimizer
            if opt.uses_gradients and all(f"optimizer/{k}" in arrays for k in opt.state_names):
                opt.set_state({"iterations": cc.get("iterations", 0),
                               **{k: arrays[f"optimizer/{k}"] for k in opt.state_names}})
    except _CONFIG_ERRORS as exc:
        raise invalid(f"{type(exc).__name__}: {exc}") from None
    return model


# what building a model from a well-formed but hostile config can raise (a wrong type, a missing key, a
# number too large for a float, nesting too deep)
_CONFIG_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError, RecursionError, AttributeError)
