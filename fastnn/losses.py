"""Keras losses. Each resolves at compile time to one fused kernel that writes the per-sample loss and the
gradient together; a softmax (sigmoid) output followed by categorical (binary) cross-entropy is computed
from the logits, so its gradient is exactly softmax(a) - y (sigmoid(a) - y), however the user wrote it.
"""
import numpy as np

from . import backend


class Loss:
    """Base class. `target` is "sparse" (int labels (N,)), or "dense" (float targets shaped like the output)."""

    name = None
    target = "dense"
    fuses = None   # the output activation this loss absorbs when from_logits is False

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, bool):
            raise TypeError(f"{type(self).__name__}(from_logits=...) expects a bool. Received: {from_logits!r}")
        self.from_logits = from_logits

    def plan(self, output_activation, fused):
        """The kernel name for a model whose last activation is output_activation; fused: its tail was dropped."""
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}

    def __call__(self, y_true, y_pred):
        """Mean loss of a batch with the NumPy reference (for checks and scripts; fit uses the kernels)."""
        y_pred = np.ascontiguousarray(y_pred, dtype=np.float64)
        y_pred2 = y_pred.reshape(len(y_pred), -1)
        y = np.asarray(y_true)
        if self.target == "sparse":
            y = y.reshape(-1).astype(np.int64)
        else:
            y = y.astype(np.float64).reshape(y_pred2.shape)
        kernel = self.plan(None, False)
        if kernel == "categorical_ce_probs" and self.target == "sparse":
            y = np.eye(y_pred2.shape[1])[y]
        loss, grad = np.empty(len(y_pred2)), np.empty_like(y_pred2)
        clip = (-np.inf, np.inf) if kernel == "sparse_softmax_ce" else ()   # from logits: nothing is clipped
        backend.kernel(kernel, "numpy")(loss, grad, y_pred2, y, 1.0, *clip)
        return float(loss.mean())


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def __init__(self):
        super().__init__(False)

    def plan(self, output_activation, fused):
        return "mse"

    def get_config(self):
        return {"name": self.name}


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"
    fuses = "sigmoid"

    def plan(self, output_activation, fused):
        return "sigmoid_bce" if self.from_logits or fused else "binary_ce_probs"


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"
    fuses = "softmax"

    def plan(self, output_activation, fused):
        return "softmax_ce" if self.from_logits or fused else "categorical_ce_probs"


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"
    target = "sparse"
    fuses = "softmax"

    def plan(self, output_activation, fused):
        # on probabilities the labels are expanded to one-hot rows in a preallocated buffer
        return "sparse_softmax_ce" if self.from_logits or fused else "categorical_ce_probs"


_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
mse = mean_squared_error = "mean_squared_error"
binary_crossentropy, categorical_crossentropy = "binary_crossentropy", "categorical_crossentropy"
sparse_categorical_crossentropy = "sparse_categorical_crossentropy"


def get(identifier):
    """A Loss from a name ("mse", "categorical_crossentropy", ...), a config dict or a Loss instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        cls = _BY_NAME.get(config.pop("name", None))
        if cls is not None:
            return cls(**config)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown loss; expected one of {sorted(_BY_NAME)} or a fastnn.losses.Loss. "
                     f"Received: loss={identifier!r}")
