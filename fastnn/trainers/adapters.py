"""Batches from what Keras's fit, evaluate and predict take besides arrays: a Python generator (any
iterator) of batches, a keras.utils.PyDataset (fastnn.utils.PyDataset), or an iterable of batches such as
torch's DataLoader. Each batch is (x, y), (x, y, sample_weight), or x alone for predict.

As Keras: a generator goes on from where the last epoch stopped, so an endless one needs steps_per_epoch
(and validation_steps); a PyDataset is read by index, its on_epoch_end() called after each epoch; an
iterable (a DataLoader) is iterated afresh every epoch. A pass that gets no batch, or fewer than the steps
asked for, says so in a warning; in fit, training ends there. Each batch is checked as arrays are (shapes, labels, NaN/inf); a
batch of another dtype or layout is converted into a buffer kept between batches, so fastnn allocates
nothing per batch once the largest batch has been seen.
"""
import itertools
import warnings

import numpy as np

from ..utils import PyDataset
from .data import by_key, check_x, check_y, rows, sample_weights


def is_stream(x):
    """Whether x is a source of batches rather than an array (or something np.asarray reads as one)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "__array__"):
        return False
    return isinstance(x, PyDataset) or hasattr(x, "__next__") or hasattr(x, "__iter__")


class StreamBatches:
    """The batches of a stream for fit (y and weights required), evaluate, or predict (x only).

    epoch() yields (step, x, y, weights or None); `steps` is the number of batches per epoch when known."""

    def __init__(self, model, source, steps, what, targets=True, class_weight=None):
        self.model, self.source, self.what, self.targets = model, source, what, targets
        self.class_weight = class_weight
        length = len(source) if hasattr(source, "__len__") else None
        self.steps = steps if steps is not None else length
        self.exhausted = False
        self._iterator = source if hasattr(source, "__next__") else None
        self._pending = None   # a batch read ahead from an iterator (first_shape), yielded first
        self._buffers = {}
        self.batch_size, self.n = None, None

    def first_shape(self):
        """The shape of the first batch's x, read ahead (to build a model that has not met data yet); a
        batch taken from an iterator is kept and yielded first."""
        source = self.source
        try:
            if isinstance(source, PyDataset):
                batch = source[0]
            elif self._iterator is not None:
                batch = self._pending = next(self._iterator)
            else:
                batch = next(iter(source))
        except (StopIteration, IndexError):
            raise ValueError(f"{self.what}(x=...) got no batches: the stream is empty") from None
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return np.shape(_numpy(x))

    def epoch(self):
        source = self.source
        if isinstance(source, PyDataset):
            source.on_epoch_begin()
            batches = (source[i] for i in range(len(source)))
        elif self._iterator is not None:
            batches = self._iterator if self._pending is None else itertools.chain([self._pending], self._iterator)
            self._pending = None
        else:
            batches = iter(source)
        step = 0
        while self.steps is None or step < self.steps:
            try:
                batch = next(batches)
            except StopIteration:
                if step == 0 or self.steps is not None:
                    self._ran_out(step)
                break
            yield (step, *self._unpack(batch, step))
            step += 1
        if isinstance(source, PyDataset):
            source.on_epoch_end()

    def _ran_out(self, step):
        """Warn that a pass got `step` batches where it expected more; in fit, training ends after it."""
        self.exhausted = True
        wanted = "" if self.steps is None else f" of {self.steps}"
        hint = {"fit": "give a generator at least steps_per_epoch x epochs batches",
                "validation": "give validation_steps, or a PyDataset or iterable, which restart every pass"}.get(
                    self.what, "give it steps= batches at least")
        kind = " (a generator is not restarted: it goes on where the last pass stopped)" \
            if self._iterator is not None else ""
        warnings.warn(f"{self.what}: the input ran out of data after {step}{wanted} batches{kind}; {hint}",
                      RuntimeWarning, stacklevel=4)

    def _unpack(self, batch, step):
        where = f"{self.what} batch {step}"
        if not self.targets:
            x = batch[0] if isinstance(batch, tuple) else batch
            return self._inputs(x, where), None, None
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise ValueError(f"{where} expects a tuple (x, y) or (x, y, sample_weight). "
                             f"Received: {type(batch).__name__}")
        x = self._inputs(batch[0], where)
        n = rows(x)
        heads = self.model._trainer.heads
        if len(heads) > 1:
            y = tuple(self._target(head, _numpy(part), f"y{k}") for k, (head, part) in
                      enumerate(zip(heads, by_key(batch[1], [h.key for h in heads], "output", f"{where}: y"))))
        else:
            y = self._target(heads[0], _numpy(batch[1]), "y")
        y = check_y(heads, y, n, name=f"{where}: y")
        w = sample_weights(heads, y, n, _numpy_parts(batch[2]) if len(batch) == 3 else None, self.class_weight,
                           name=f"{where}: sample_weight")
        return x, y, w

    def _target(self, head, y, key):
        """Labels as int64, other targets in the model's dtype (_converted), where they are numbers."""
        sparse = head.loss_fn.target == "sparse"
        if y is None:   # check_y says what is missing
            return y
        if y.dtype.kind in "iu" if sparse else y.dtype.kind == "f":
            y = self._converted(y, key, np.int64 if sparse else self.model.dtype)
        return y

    def _inputs(self, x, where):
        """x checked, in the model's dtype and C order (_converted); a tuple for a model of several inputs."""
        names = self.model._input_names
        if len(names) > 1:
            x = tuple(self._array(part, f"x{i}") for i, part in enumerate(by_key(x, names, "input", f"{where}: x")))
        else:
            x = self._array(x, "x")
        return check_x(self.model, x, name=f"{where}: x")

    def _array(self, x, key):
        x = _numpy(x)
        if x is not None and x.dtype.kind in "biuf" and self.model.built:
            x = self._converted(x, key, self.model.dtype)
        return x

    def _converted(self, a, key, dtype):
        """a in dtype and C order: as it is when it already is, else copied into a buffer kept for the next
        batches (allocated again only for a larger batch or another shape)."""
        if a.ndim and (a.dtype != dtype or not a.flags.c_contiguous):
            buf = self._buffers.get(key)
            if buf is None or len(buf) < len(a) or buf.shape[1:] != a.shape[1:] or buf.dtype != dtype:
                buf = self._buffers[key] = np.empty(a.shape, dtype)
            np.copyto(buf[:len(a)], a, casting="unsafe")
            a = buf[:len(a)]
        return a


def _numpy_parts(value):
    """_numpy of each value of a list or dict (per-output sample weights), or of value itself."""
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numpy(v) for v in value]
    return _numpy(value)


def _numpy(value):
    """A batch part as NumPy sees it (torch tensors and other array-likes through np.asarray)."""
    return value if value is None or isinstance(value, np.ndarray) else np.asarray(value)
