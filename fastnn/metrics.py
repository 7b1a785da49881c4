"""Metrics on predictions: accuracy, top-k accuracy and the confusion matrix (NumPy; not on the hot path)."""
import numpy as np


def _labels(y, name):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


def accuracy(y_true, y_pred):
    """Fraction of rows whose argmax (or, for one output, whose value > 0.5) matches y_true."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1 or y_pred.ndim == 1:
        return float(((y_pred.reshape(-1) > 0.5) == np.asarray(y_true).reshape(-1).astype(bool)).mean())
    return float((y_pred.argmax(axis=1) == _labels(y_true, "y_true")).mean())


def top_k_accuracy(y_true, y_pred, k=5):
    """Fraction of rows whose true class is among the k highest scores."""
    y_pred = np.asarray(y_pred)
    if not 1 <= k <= y_pred.shape[1]:
        raise ValueError(f"top_k_accuracy expects 1 <= k <= {y_pred.shape[1]}. Received: k={k}")
    labels = _labels(y_true, "y_true")
    top = np.argpartition(-y_pred, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(y_true, y_pred, num_classes=None):
    """counts[i, j] = how many samples of true class i were predicted as j. y_pred: labels or scores."""
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix expects as many predictions as labels. Received: {t.shape} and {p.shape}")
    k = int(num_classes or max(t.max(initial=0), p.max(initial=0)) + 1)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def most_confused(matrix, top=5):
    """The off-diagonal cells with the most samples: [(true, predicted, count), ...], largest first."""
    m = np.array(matrix, copy=True)
    np.fill_diagonal(m, 0)
    order = np.argsort(m, axis=None)[::-1][:top]
    return [(int(i), int(j), int(m[i, j])) for i, j in zip(*np.unravel_index(order, m.shape)) if m[i, j] > 0]
