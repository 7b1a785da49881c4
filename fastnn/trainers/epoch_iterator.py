"""Batches of a pass over the data: slices in order, or a shuffled epoch gathered into preallocated buffers."""
import numpy as np


def num_batches(n, batch_size):
    """How many batches a pass over n samples takes (the last one may be short)."""
    return -(-n // batch_size)


def batch_bounds(n, batch_size):
    """(lo, hi) of each batch of a pass over n samples in order."""
    for lo in range(0, n, batch_size):
        yield lo, min(n, lo + batch_size)


class EpochIterator:
    """The batches of every epoch of one fit. Shuffled epochs gather their samples (and weights) into
    buffers allocated here, once, so a step copies the batch but allocates nothing."""

    def __init__(self, x, y, batch_size, shuffle, rng, w=None, steps=None):
        """steps: at most this many batches an epoch (fit's steps_per_epoch), each epoch from the start."""
        self.x, self.y, self.w, self.batch_size, self.shuffle, self.rng = x, y, w, batch_size, shuffle, rng
        self.n = len(x)
        self.steps = num_batches(self.n, batch_size) if steps is None else min(steps, num_batches(self.n, batch_size))
        if shuffle:
            rows = min(batch_size, self.n)
            self._xbuf = np.empty((rows,) + x.shape[1:], x.dtype)
            self._ybuf = np.empty((rows,) + y.shape[1:], y.dtype)
            self._wbuf = None if w is None else np.empty(rows, w.dtype)

    def epoch(self):
        """Yield (step, x batch, y batch, weights batch or None); a shuffled epoch draws its order when
        iteration starts."""
        x, y, w = self.x, self.y, self.w
        bounds = list(batch_bounds(self.n, self.batch_size))[:self.steps]
        if not self.shuffle:
            for step, (lo, hi) in enumerate(bounds):
                yield step, x[lo:hi], y[lo:hi], None if w is None else w[lo:hi]
            return
        order = self.rng.permutation(self.n)
        for step, (lo, hi) in enumerate(bounds):
            idx = order[lo:hi]
            yield (step, np.take(x, idx, axis=0, out=self._xbuf[:hi - lo]),
                   np.take(y, idx, axis=0, out=self._ybuf[:hi - lo]),
                   None if w is None else np.take(w, idx, out=self._wbuf[:hi - lo]))
