"""fastnn: train neural networks fast on a multicore CPU.

A Keras-style API (Sequential, layers, losses, optimizers, callbacks) over a backend registry: a readable
NumPy reference, and compiled Numba and Cython kernels. Start with:

    import fastnn
    model = fastnn.Sequential([fastnn.layers.Input((784,)), fastnn.layers.Dense(10, activation="softmax")])
"""
from . import callbacks, datasets, initializers, layers, losses, metrics, models, optimizers, utils
from .backend import (BackendUnavailableError, available_backends, backend_report, get_backend,
                      get_num_threads, set_backend, set_num_threads)
from .errors import CorruptFileError
from .layers import Input, KerasTensor
from .models import Model, Sequential
from .saving import load_model
from .utils import floatx, set_floatx, set_seed

__version__ = "0.1.0"


def __getattr__(name):
    # fastnn.digits imports scipy.ndimage and scikit-image (a second or two): load it on first use only
    if name == "digits":
        import importlib

        return importlib.import_module(".digits", __name__)
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")

__all__ = [
    "Sequential", "Model", "Input", "KerasTensor", "layers", "losses", "optimizers", "callbacks", "initializers",
    "metrics", "datasets", "models", "utils", "load_model", "set_backend", "get_backend", "available_backends",
    "backend_report", "set_num_threads", "get_num_threads", "set_seed", "floatx", "set_floatx",
    "BackendUnavailableError", "CorruptFileError",
]
