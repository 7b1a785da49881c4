"""Callbacks the API tests share."""
from fastnn import callbacks


class Script(callbacks.Callback):
    """Sets logs[monitor] to values[epoch] at each epoch end and keeps a copy of the weights then."""

    def __init__(self, monitor, values):
        super().__init__()
        self.monitor, self.values, self.weights = monitor, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.monitor] = self.values[epoch]
        self.weights.append(self.model.get_weights())
