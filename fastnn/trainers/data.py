"""The data a model is fed: checks on x and y (Keras-style errors naming what was received), the validation
split, and the batch boundaries of a pass."""
import numpy as np

from ..utils import check_int


def check_x(model, x, name="x"):
    """x as a C-contiguous array of the model's dtype; builds the model from x's shape if it is not built."""
    if x is None:
        raise ValueError(f"`{name}` is required. Received: {name}=None")
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"`{name}` expects a non-empty batch of samples. Received: {name} with shape {x.shape}")
    if not model.built:
        model.build(x.shape[1:] if model.input_shape is None else None)
    shape = model.input_shape[1:]
    if x.shape[1:] != shape:
        raise ValueError(f"{model.name} expects {name} of shape {(None,) + shape}. "
                         f"Received: {name} with shape {x.shape}")
    x = np.ascontiguousarray(x, dtype=model.dtype)
    if not all_finite(x):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"`{name}` contains {bad} NaN or inf values; clean or impute the data first")
    return x


def all_finite(a):
    """Whether every value of the float array a is finite, without an array of flags when they are: a sum
    of finite values is finite unless it overflows, and only then is each value looked at."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())


def check_y(model, y, n, name="y"):
    """Targets for the compiled loss: int64 labels (N,) for sparse losses, else the output's shape and dtype."""
    if y is None:
        raise ValueError(f"`{name}` is required for training and evaluation. Received: {name}=None")
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {y.dtype}")
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"`{name}` expects one target per sample ({n}). Received: {name} with shape {y.shape}")
    loss = model.loss
    out_shape = model.output_shape[1:]
    if loss.target == "sparse":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        k = out_shape[0]
        if y.ndim != 1:
            raise ValueError(f"{loss.name} expects integer labels of shape ({n},). Received: {name} with "
                             f"shape {y.shape} (one-hot targets go with categorical_crossentropy)")
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise ValueError(f"`{name}` expects integer class labels. Received: non-integer values")
        lo, hi = (y.min(), y.max())
        if lo < 0 or hi >= k:
            raise ValueError(f"`{name}` expects labels in [0, {k - 1}] for a model with {k} outputs. "
                             f"Received: labels in [{lo:g}, {hi:g}]")
        return np.ascontiguousarray(y, dtype=np.int64)
    flat = int(np.prod(out_shape))
    if y.ndim == 1 and flat == 1:
        y = y[:, None]
    if y.shape[1:] != out_shape:
        hint = (" (integer labels go with sparse_categorical_crossentropy)"
                if y.ndim == 1 and loss.name == "categorical_crossentropy" else "")
        raise ValueError(f"{loss.name} expects {name} of shape {(n,) + out_shape}. Received: {name} with "
                         f"shape {y.shape}{hint}")
    y = np.ascontiguousarray(y, dtype=model.dtype)
    if not all_finite(y):
        raise ValueError(f"`{name}` contains NaN or inf values")
    return y


def sample_weights(model, y, n, sample_weight=None, class_weight=None, name="sample_weight"):
    """Per-sample loss weights (N,) of the model's dtype, or None: sample_weight times the weight
    class_weight gives each sample's class (Keras's rule: a class a dict leaves out weighs 1)."""
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"`{name}` expects numbers. Received: {name} of dtype {w.dtype}")
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.shape != (n,):
            raise ValueError(f"`{name}` expects one weight per sample, shape ({n},). Received: shape {w.shape}")
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError(f"`{name}` expects finite weights >= 0. Received: values in "
                             f"[{w.min():g}, {w.max():g}]")
        w = np.array(w, dtype=model.dtype)
    if class_weight is not None:
        if not isinstance(class_weight, dict) or not class_weight or not all(
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 0 for k in class_weight):
            raise TypeError(f"`class_weight` expects a non-empty dict of class index (>= 0) -> weight. "
                            f"Received: {class_weight!r}")
        if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                   for v in class_weight.values()):
            raise TypeError(f"`class_weight` expects numbers as weights. Received: {class_weight!r}")
        values = np.array(list(class_weight.values()), dtype=np.float64)
        if not (np.isfinite(values).all() and (values >= 0).all()):
            raise ValueError(f"`class_weight` expects finite weights >= 0. Received: {class_weight!r}")
        classes = y if model.loss.target == "sparse" else class_of(y.reshape(n, -1))
        table = np.ones(max(int(classes.max()), max(class_weight)) + 1)
        for k, v in class_weight.items():
            table[k] = v
        cw = table[classes].astype(model.dtype)
        w = cw if w is None else w * cw
    return w


def check_batch_size(batch_size):
    return 32 if batch_size is None else check_int("batch_size", batch_size, minimum=1)


def check_validation_data(model, validation_data):
    """(x_val, y_val, weights or None) from (x_val, y_val) or (x_val, y_val, sample_weight_val), as Keras."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("`validation_data` expects a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). "
                         f"Received: {type(validation_data).__name__}"
                         + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""))
    xv = check_x(model, validation_data[0], "validation_data[0]")
    yv = check_y(model, validation_data[1], len(xv), "validation_data[1]")
    wv = (sample_weights(model, yv, len(xv), validation_data[2], name="validation_data[2]")
          if len(validation_data) == 3 else None)
    return xv, yv, wv


def class_of(y):
    """A class id per row of dense targets (argmax; for one output, the rounded value) for stratifying."""
    return y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0.5).astype(np.int64)


def stratified_split(labels, fraction, rng):
    """Shuffled train/validation indices with each class split in the same proportion."""
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.append(idx[:int(round(fraction * len(idx)))])
    val = np.sort(np.concatenate(val))
    if len(val) == 0 or len(val) == len(labels):
        raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                         f"for {len(labels)} samples")
    train = np.setdiff1d(np.arange(len(labels)), val)
    return rng.permutation(train), val
