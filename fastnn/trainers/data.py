"""The data a model is fed: checks on x and y (Keras-style errors naming what was received), the validation
split, and the batch boundaries of a pass.

A model of one input takes x as an array; one of several, a list of arrays in the order of its inputs or a
dict keyed by their names, which the checks turn into a tuple. Targets and sample weights go likewise by
output (a single array of sample weights serves every output, as in Keras).
"""
import numpy as np

from ..utils import check_int


def check_x(model, x, name="x", finite=True):
    """x as a C-contiguous array of the model's dtype (a tuple of them for a model of several inputs); builds
    the model from x's shape if it is not built. finite=False leaves the NaN/inf check to the caller, which
    runs check_finite on each batch before its kernels (predict: the batch is then in cache)."""
    if isinstance(x, (list, tuple)) and len(x) > 1 and getattr(model, "_traces_at_first_data", False):
        model.build([np.shape(a)[1:] for a in x])   # a subclass whose call() takes a list of inputs
    names = model._input_names
    if len(names) > 1:
        parts = by_key(x, names, "input", name)
        xs = tuple(_check_x(model, a, shape, f"{name}[{key!r}]", finite)
                   for a, shape, key in zip(parts, model._input_shapes, names))
        same_length(xs, names, name)
        return xs
    x = _unwrap(x, names[0])
    return _check_x(model, x, None, name, finite)


def _check_x(model, x, shape, name, finite=True):
    """One input array checked against its per-sample shape (None: the model's, built from x if need be)."""
    if x is None:
        raise ValueError(f"`{name}` is required. Received: {name}=None")
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"`{name}` expects a non-empty batch of samples. Received: {name} with shape {x.shape}")
    if shape is None:
        if not model.built:
            model.build(x.shape[1:] if model.input_shape is None else None)
        shape = model.input_shape[1:]
    if x.shape[1:] != tuple(shape):
        raise ValueError(f"{model.name} expects {name} of shape {(None,) + tuple(shape)}. "
                         f"Received: {name} with shape {x.shape}")
    x = np.ascontiguousarray(x, dtype=model.dtype)
    if finite:
        check_finite(x, name)
    return x


def check_finite(x, name="x", lo=None, keys=None):
    """ValueError when x (an array, or a tuple of them keyed by keys; samples lo.. of the caller's data when lo
    is given) holds a NaN or inf."""
    for i, a in enumerate(x if type(x) is tuple else (x,)):
        if not all_finite(a):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            where = name if type(x) is not tuple else f"{name}[{keys[i]!r}]"
            rows = "" if lo is None else f" (in samples {lo}..{lo + len(a) - 1})"
            raise ValueError(f"`{where}` contains {bad} NaN or inf values{rows}; clean or impute the data first")


def _unwrap(value, key):
    """For a model of one input or output: value[key] when value is a dict of just that key, else value."""
    if isinstance(value, dict) and len(value) == 1 and key is not None and key in value:
        return value[key]
    return value


def by_key(value, keys, what, name, item="array"):
    """value, one item per model input or output (a list or tuple in their order, or a dict keyed by their
    names), as a list in keys' order; ValueError naming `name` otherwise."""
    if isinstance(value, dict):
        if set(value) != set(keys):
            raise ValueError(f"`{name}` expects a dict keyed by the model's {what} names {list(keys)}. "
                             f"Received: keys {list(value)}")
        return [value[k] for k in keys]
    if isinstance(value, (list, tuple)) and len(value) == len(keys):
        return list(value)
    got = (f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (list, tuple))
           else f"{type(value).__name__}")
    raise ValueError(f"`{name}` expects one {item} per model {what}: a list of {len(keys)} or a dict keyed by "
                     f"{list(keys)}. Received: {got}")


def same_length(arrays, keys, name):
    lengths = [len(a) for a in arrays if a is not None]
    if len(set(lengths)) > 1:
        raise ValueError(f"`{name}` expects arrays of the same number of samples. Received: "
                         + ", ".join(f"{k!r}: {len(a)}" for k, a in zip(keys, arrays) if a is not None))


def all_finite(a):
    """Whether every value of the float array a is finite, without an array of flags when they are: a sum
    of finite values is finite unless it overflows, and only then is each value looked at."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())


def check_y(heads, y, n, name="y"):
    """Targets for the compiled losses (heads: one LossHead per output): for a model of one output, int64
    labels (N,) for a sparse loss, else the output's shape and dtype; for one of several, a tuple of those."""
    if len(heads) > 1:
        if y is None:
            raise ValueError(f"`{name}` is required for training and evaluation. Received: {name}=None")
        keys = [head.key for head in heads]
        return tuple(_check_y(head, a, n, f"{name}[{head.key!r}]")
                     for head, a in zip(heads, by_key(y, keys, "output", name)))
    y = _unwrap(y, heads[0].key)
    return _check_y(heads[0], y, n, name)


def _check_y(head, y, n, name):
    if y is None:
        raise ValueError(f"`{name}` is required for training and evaluation. Received: {name}=None")
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` expects a numeric array. Received: {name} of dtype {y.dtype}")
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"`{name}` expects one target per sample ({n}). Received: {name} with shape {y.shape}")
    loss = head.loss_fn
    out_shape = head.out_shape
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
    y = np.ascontiguousarray(y, dtype=head.dtype)
    if not all_finite(y):
        raise ValueError(f"`{name}` contains NaN or inf values")
    return y


def sample_weights(heads, y, n, sample_weight=None, class_weight=None, name="sample_weight"):
    """Per-sample loss weights (N,) of the model's dtype, or None: sample_weight times the weight
    class_weight gives each sample's class (Keras's rule: a class a dict leaves out weighs 1). For a model
    of several outputs, a tuple with an entry (or None) per output, or None: sample_weight is one array for
    every output, or a list or dict of them, one per output; class_weight is refused, as in Keras."""
    if len(heads) > 1:
        if class_weight is not None:
            raise ValueError("`class_weight` is supported for models of one output only, as in Keras; give the "
                             f"outputs sample_weight=... instead. Received: class_weight={class_weight!r}")
        if sample_weight is None:
            return None
        if not isinstance(sample_weight, (dict, list, tuple)):   # one array for every output, checked once
            return (_sample_weight(heads[0], sample_weight, n, name),) * len(heads)
        parts = by_key(sample_weight, [head.key for head in heads], "output", name)
        checked = [None if w is None else _sample_weight(head, w, n, f"{name}[{head.key!r}]")
                   for head, w in zip(heads, parts)]
        return tuple(checked) if any(w is not None for w in checked) else None
    sample_weight = _unwrap(sample_weight, heads[0].key)
    head = heads[0]
    w = None if sample_weight is None else _sample_weight(head, sample_weight, n, name)
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
        classes = y if head.loss_fn.target == "sparse" else class_of(y.reshape(n, -1))
        table = np.ones(max(int(classes.max()), max(class_weight)) + 1)
        for k, v in class_weight.items():
            table[k] = v
        cw = table[classes].astype(head.dtype)
        w = cw if w is None else w * cw
    return w


def _sample_weight(head, sample_weight, n, name):
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
    return np.array(w, dtype=head.dtype)


def check_batch_size(batch_size):
    return 32 if batch_size is None else check_int("batch_size", batch_size, minimum=1)


def check_validation_data(model, heads, validation_data):
    """(x_val, y_val, weights or None) from (x_val, y_val) or (x_val, y_val, sample_weight_val), as Keras."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("`validation_data` expects a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). "
                         f"Received: {type(validation_data).__name__}"
                         + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""))
    xv = check_x(model, validation_data[0], "validation_data[0]")
    n = rows(xv)
    yv = check_y(heads, validation_data[1], n, "validation_data[1]")
    wv = (sample_weights(heads, yv, n, validation_data[2], name="validation_data[2]")
          if len(validation_data) == 3 else None)
    return xv, yv, wv


def rows(a):
    """The number of samples of a batch part: an array, or a tuple of arrays (several inputs or outputs)."""
    return len(a[0]) if type(a) is tuple else len(a)


def select(a, idx):
    """The samples idx of a part (None, an array, or a tuple of arrays or None)."""
    if a is None:
        return None
    if type(a) is tuple:
        return tuple(None if b is None else b[idx] for b in a)
    return a[idx]


def strata(heads, y):
    """A class id per sample to stratify a validation split by: the first output's labels or classes."""
    first = y[0] if type(y) is tuple else y
    return first if heads[0].loss_fn.target == "sparse" else class_of(first.reshape(len(first), -1))


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
