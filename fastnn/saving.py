"""Saving and loading whole models (fastnn.saving_lib describes the file): save_model, and load_model,
which rebuilds the model from the file's config, weights and compile settings."""
import os

from .models.spec import model_from_config
from .saving_lib import read_model_file, save_model

__all__ = ["save_model", "load_model"]


def load_model(filepath, compile=True):
    """Rebuild a model saved by Model.save: architecture, weights and (compile=True) loss and optimizer state."""
    filepath = os.fspath(filepath)
    config, arrays = read_model_file(filepath)
    try:
        model = model_from_config(config["model"], "the model's config")
        n = len(model.get_weights())
        model.set_weights([arrays[f"weights/{i}"] for i in range(n)])
        if compile and "compile" in config:
            cc = config["compile"]
            model.compile(optimizer=cc["optimizer"], loss=cc["loss"], metrics=cc["metrics"])
            opt = model.optimizer
            if opt.uses_gradients and all(f"optimizer/{k}" in arrays for k in opt.state_names):
                opt.set_state({"iterations": cc.get("iterations", 0),
                               **{k: arrays[f"optimizer/{k}"] for k in opt.state_names}})
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"load_model: {filepath!r} describes an invalid model: {type(exc).__name__}: {exc}") from None
    return model
