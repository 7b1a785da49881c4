"""`fastnn info` (or `fastnn backends`: the kernels' CPU variant, the threads and the backend of each op) and
`fastnn warmup` (compile the Numba kernels once)."""
import time

import numpy as np

from .. import backend, models
from ..utils import make_rng


def no_arguments(p):
    """add_arguments of a command that takes none (backends, warmup)."""


def run_backends(args):
    print(backend.backend_report())
    return 0


def run_warmup(args):
    """Compile the Numba kernels of the built-in models (float32) into Numba's cache, for every later process,
    so that no first epoch waits for them: a tiny batch (the serial builds) and a training-sized one (the
    parallel builds of the kernels that have both)."""
    if "numba" not in backend.available_backends():
        raise backend.BackendUnavailableError(f"numba is not available: {backend.unavailable_reason('numba')}")
    selected = backend.get_backend()
    rng = make_rng(0)
    start = time.perf_counter()
    try:
        backend.set_backend("numba")
        for name, recipe in models.RECIPES.items():
            t0 = time.perf_counter()
            model = recipe.builder(seed=0)
            model.compile(recipe.optimizer, "sparse_categorical_crossentropy")
            for n in (4, 64):
                x = rng.random((n,) + model.input_shape[1:], dtype=np.float32)
                model.train_on_batch(x, np.arange(n) % model.output_shape[-1])   # forward, backward, update
                model.predict(x)                                                # inference (batch norm, dropout)
            print(f"{name:12s} {time.perf_counter() - t0:6.1f} s", flush=True)
    finally:
        backend.set_backend(selected)
    on_numba = [op for op in backend.OPS if backend.auto_choice(op) == "numba"]
    print(f"Numba kernels compiled and cached in {time.perf_counter() - start:.1f} s; "
          f"auto runs on Numba: {', '.join(on_numba) or 'none'}")
    return 0
