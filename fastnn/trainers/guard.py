"""WeightsGuard: inference reads a model's weights while training changes them, and each inference batch
sees the weights either before or after a training step, never a mix of the two.

Any number of inference batches read at once; a training step waits until those in progress are done and
then runs alone. A waiting step goes first (new readers wait for it), so a stream of predict calls cannot
starve training. A step costs two lock round trips (about a microsecond); an inference batch likewise.
"""
import threading


class _Hold:
    """A `with` block between two calls (no state: one serves every thread)."""

    __slots__ = ("_begin", "_end")

    def __init__(self, begin, end):
        self._begin, self._end = begin, end

    def __enter__(self):
        self._begin()

    def __exit__(self, *exc):
        self._end()


class WeightsGuard:
    """`with guard.reading:` around an inference batch, `with guard.writing:` around a training step."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0        # inference batches reading now
        self._writing = False    # a training step is changing the weights
        self._waiting = 0        # training steps waiting for the readers to finish
        self.reading = _Hold(self.begin_read, self.end_read)
        self.writing = _Hold(self.begin_write, self.end_write)

    def begin_read(self):
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1

    def end_read(self):
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def begin_write(self):
        with self._cond:
            self._waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:   # also when Ctrl-C interrupts the wait: readers must not wait for a step that never runs
                self._waiting -= 1
                self._cond.notify_all()
            self._writing = True

    def end_write(self):
        with self._cond:
            self._writing = False
            self._cond.notify_all()
