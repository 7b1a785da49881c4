"""Batches of a pass over the data: slices in order, or a shuffled epoch gathered into preallocated buffers."""
import numpy as np

from .data import rows, select


def num_batches(n, batch_size):
    """How many batches a pass over n samples takes (the last one may be short)."""
    return -(-n // batch_size)


def batch_bounds(n, batch_size):
    """(lo, hi) of each batch of a pass over n samples in order."""
    for lo in range(0, n, batch_size):
        yield lo, min(n, lo + batch_size)


class EpochIterator:
    """The batches of every epoch of one fit. Shuffled epochs gather their samples (and weights) into
    buffers allocated here, once, so a step copies the batch but allocates nothing. x, y and w are arrays,
    or tuples of them for models of several inputs or outputs (w: None, or a tuple with None entries)."""

    def __init__(self, x, y, batch_size, shuffle, rng, w=None, steps=None):
        """steps: at most this many batches an epoch (fit's steps_per_epoch), each epoch from the start."""
        self.x, self.y, self.w, self.batch_size, self.shuffle, self.rng = x, y, w, batch_size, shuffle, rng
        self.n = rows(x)
        self.steps = num_batches(self.n, batch_size) if steps is None else min(steps, num_batches(self.n, batch_size))
        if shuffle:
            m = min(batch_size, self.n)
            self._xbuf, self._ybuf, self._wbuf = _buffers(x, m), _buffers(y, m), _buffers(w, m)

    def epoch(self):
        """Yield (step, x batch, y batch, weights batch or None); a shuffled epoch draws its order when
        iteration starts."""
        x, y, w = self.x, self.y, self.w
        bounds = list(batch_bounds(self.n, self.batch_size))[:self.steps]
        if not self.shuffle:
            for step, (lo, hi) in enumerate(bounds):
                part = slice(lo, hi)
                yield step, select(x, part), select(y, part), select(w, part)
            return
        order = self.rng.permutation(self.n)
        xbuf, ybuf, wbuf = self._xbuf, self._ybuf, self._wbuf
        for step, (lo, hi) in enumerate(bounds):
            idx = order[lo:hi]
            yield step, _take(x, idx, xbuf), _take(y, idx, ybuf), _take(w, idx, wbuf)


def _buffers(a, m):
    """Buffers of m samples for a part (None, an array, or a tuple of arrays or None)."""
    if a is None:
        return None
    if type(a) is tuple:
        return tuple(_buffers(b, m) for b in a)
    return np.empty((m,) + a.shape[1:], a.dtype)


def _take(a, idx, buf):
    """The samples idx (in range: a permutation's) of a part, gathered into its buffers. mode="clip": with
    out= and the default mode="raise", NumPy gathers into a temporary and copies it to out, which takes half
    again the time (50 against 33 us, the MLP's batch of 64 digits)."""
    if a is None:
        return None
    if type(a) is tuple:
        return tuple(_take(b, idx, c) for b, c in zip(a, buf))
    return np.take(a, idx, axis=0, out=buf[:len(idx)], mode="clip")
