"""Ctrl-C during fit: finish the batch in progress, keep the weights, return the history."""
import signal
import threading


class Interrupt:
    """Within `with`, Ctrl-C sets .requested instead of raising, so fit stops between batches."""

    def __init__(self):
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        if self.requested:   # a second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False
