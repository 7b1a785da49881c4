"""keras.utils's to_categorical and set_random_seed; and the seeds, dtypes and argument checks shared by the
API modules."""
import numbers
import random

import numpy as np

_floatx = "float32"
_global_seed = None
_seed_draws = 0


def floatx():
    """The default float type of new models: "float32" unless set_floatx changed it (as keras.config.floatx)."""
    return _floatx


def set_floatx(value):
    """Set the default float type: "float32" (fast) or "float64" (gradient checks)."""
    global _floatx
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64'. Received: value={value!r}")
    _floatx = value


def set_seed(seed):
    """Make everything that follows reproducible: initial weights, shuffling, dropout masks."""
    global _global_seed, _seed_draws
    _global_seed = check_int("seed", seed, minimum=0)
    _seed_draws = 0


def set_random_seed(seed):
    """As keras.utils.set_random_seed: seed Python's `random`, NumPy's global generator and fastnn's own
    streams (set_seed: initial weights, shuffling, dropout), so a script runs the same every time."""
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    set_seed(seed)


def to_categorical(x, num_classes=None):
    """As keras.utils.to_categorical: class indices (any shape; a trailing axis of 1 is dropped) -> one-hot
    float64 rows, shape x.shape + (num_classes,). num_classes defaults to the largest index + 1.

    Raises ValueError naming what is wrong: indices that are not whole numbers, negative, or not below
    num_classes; num_classes below 1.
    """
    x = np.asarray(x)
    if x.dtype.kind == "f" and not (np.isfinite(x).all() and (x == np.round(x)).all()):
        raise ValueError("to_categorical(x=...) expects whole-number class indices. Received: non-integer values")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"to_categorical(x=...) expects class indices. Received: dtype {x.dtype}")
    shape = x.shape[:-1] if x.ndim > 1 and x.shape[-1] == 1 else x.shape
    flat = x.reshape(-1).astype(np.int64)
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = check_int("num_classes", num_classes, minimum=1, owner="to_categorical")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(f"to_categorical(x=...) expects class indices in [0, {num_classes}). Received: range "
                         f"[{flat.min()}, {flat.max()}]")
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def make_rng(seed=None):
    """A numpy Generator: from seed if given, else the next one derived from set_seed, else fresh entropy."""
    global _seed_draws
    if seed is not None:
        return np.random.default_rng(check_int("seed", seed, minimum=0))
    if _global_seed is not None:
        _seed_draws += 1
        return np.random.default_rng([_global_seed, _seed_draws])
    return np.random.default_rng()


def check_int(name, value, minimum=None, owner=None):
    where = f"{owner}({name}=...)" if owner else f"`{name}`"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where} expects an integer. Received: {name}={value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{where} expects an integer >= {minimum}. Received: {name}={value}")
    return value


def check_float(name, value, low=None, high=None, low_open=False, high_open=False, owner=None):
    """A finite real number within [low, high] (open ends when asked)."""
    where = f"{owner}({name}=...)" if owner else f"`{name}`"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} expects a number. Received: {name}={value!r} of type {type(value).__name__}")
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{where} expects a finite number in {lo}, {hi}. Received: {name}={value}")
    return value


def pair(name, value, owner):
    """An int or a pair of ints, as Keras accepts for kernel_size, strides and pool_size."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ValueError(f"{owner}({name}=...) expects a positive int or a tuple of 2 positive ints. "
                         f"Received: {name}={value!r}")
    return int(value[0]), int(value[1])


class PyDataset:
    """keras.utils.PyDataset: subclass it with __len__ (batches per epoch) and __getitem__(index) -> a
    batch; on_epoch_begin() and on_epoch_end() are called around each epoch. workers, use_multiprocessing
    and max_queue_size are accepted for Keras's signature; fastnn reads the batches in the calling thread
    (its kernels already use every core)."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __len__(self):
        raise NotImplementedError("a PyDataset subclass defines __len__: its number of batches")

    def __getitem__(self, index):
        raise NotImplementedError("a PyDataset subclass defines __getitem__(index): its batch number index")

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)


from .visualization import model_to_dot, plot_model  # noqa: E402,F401  (keras.utils's names)
