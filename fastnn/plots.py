"""Plots of training and of mistakes: learning curves, confusion matrix, misclassified images.

Needs matplotlib, an optional extra: pip install "fastnn[plot]". Figures are drawn on matplotlib's Agg
canvas without pyplot, so nothing here changes the backend of a user's session or keeps figures
alive; each function returns its Figure (Jupyter displays it) and writes a PNG when given a path.
"""
import os

import numpy as np

_SKIP = ("learning_rate",)   # logged per epoch, but not a curve to compare


def _new_figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError('fastnn.plots needs matplotlib, an optional extra: pip install "fastnn[plot]" '
                          f"({exc})") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, path):
    if path is not None:
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        fig.savefig(path, format="png")
    return fig


def plot_history(history, path=None, metrics=None):
    """Learning curves, one panel per metric ("loss", "accuracy"), training beside validation.

    history: a History (what fit returns) or its .history dict. metrics: names to plot (default:
    every logged metric that has no "val_" prefix). A widening gap between the curves is overfitting.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history expects a History returned by fit() (or its .history dict) with at least "
                         f"one epoch. Received: {history!r}")
    available = [k for k in logs if not k.startswith("val_") and k not in _SKIP]
    if metrics is None:
        metrics = available
    elif isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in logs]
    if unknown or not metrics:
        raise ValueError(f"plot_history(metrics=...) expects names among {available}. Received: {metrics!r}")
    epochs = [e + 1 for e in getattr(history, "epoch", [])] or list(range(1, len(logs[metrics[0]]) + 1))
    fig = _new_figure(4.6 * len(metrics), 3.6)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, name in zip(axes, metrics):
        style = {"marker": "o", "markersize": 4} if len(epochs) <= 30 else {}
        ax.plot(epochs[:len(logs[name])], logs[name], label="training", color="tab:blue", **style)
        if "val_" + name in logs:
            ax.plot(epochs[:len(logs["val_" + name])], logs["val_" + name], label="validation",
                    color="tab:orange", **style)
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    return _finish(fig, path)


def plot_confusion_matrix(matrix, class_names=None, path=None):
    """The confusion matrix as a grid of counts: rows true class, columns predicted.

    Correct counts (the diagonal) are shaded blue by the fraction of their row; mistakes are shaded red,
    darkest for the most frequent one, so the confusions stand out even when they are few.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0 or m.dtype.kind not in "iuf":
        raise ValueError(f"plot_confusion_matrix expects a square matrix of counts. Received: shape {m.shape}, "
                         f"dtype {m.dtype}")
    k = m.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"plot_confusion_matrix expects {k} class_names. Received: {len(names)}")
    diag = np.eye(k, dtype=bool)
    rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
    off = np.where(diag, 0, m)
    size = max(4.5, 0.55 * k + 2.5)
    fig = _new_figure(size, size * 0.92)
    ax = fig.add_subplot()
    ax.imshow(np.ma.masked_where(~diag, m / rows), cmap="Blues", vmin=0, vmax=1.6)
    ax.imshow(np.ma.masked_where(diag | (m == 0), off), cmap="Reds", vmin=0, vmax=max(1, off.max()) * 1.25)
    small = k > 12
    for i in range(k):
        for j in range(k):
            if m[i, j] == 0 and not diag[i, j]:
                continue
            # white text on the darker shades: Blues beyond ~45% of its range, Reds beyond ~45%
            dark = (m[i, j] / rows[i, 0] > 0.75) if diag[i, j] else (off[i, j] > 0.55 * off.max())
            ax.text(j, i, f"{m[i, j]:g}", ha="center", va="center", fontsize=7 if small else 9,
                    color="white" if dark else "black")
    slanted = max(map(len, names)) > 2
    ax.set_xticks(range(k), names, rotation=45 if slanted else 0, ha="right" if slanted else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = m.sum()
    ax.set_title(f"confusion matrix: {np.trace(m) / max(total, 1):.2%} correct of {total:g}")
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.85", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    return _finish(fig, path)


def plot_misclassified(x, y_true, y_pred, probs=None, path=None, max_images=36, class_names=None):
    """A grid of the images the model got wrong, each titled "true→pred" (with the probability given to
    the predicted class when `probs` is given; then the most confident mistakes come first).

    x: images (N, H, W) or (N, H, W, 1), pixel values in [0, 1] or 0..255; y_true, y_pred: labels (N,);
    probs: predicted probabilities (N, K) or None.
    """
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = np.asarray(y_pred).reshape(-1)
    if x.ndim != 3 or not len(x) == len(y_true) == len(y_pred):
        raise ValueError("plot_misclassified expects images (N, H, W) or (N, H, W, 1) and N labels in y_true and "
                         f"y_pred. Received: x {x.shape}, y_true {y_true.shape}, y_pred {y_pred.shape}")
    if isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer)) or max_images < 1:
        raise ValueError(f"plot_misclassified(max_images=...) expects a positive int. Received: {max_images!r}")
    wrong = np.flatnonzero(y_true != y_pred)
    confidence = None
    if probs is not None:
        probs = np.asarray(probs)
        if probs.ndim != 2 or len(probs) != len(x):
            raise ValueError(f"plot_misclassified expects probs of shape (N, K) with N = {len(x)}. "
                             f"Received: {probs.shape}")
        confidence = probs[np.arange(len(x)), y_pred]
        wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    wrong = wrong[:max_images]

    def name(c):
        return str(class_names[c]) if class_names is not None else str(c)

    cols = int(min(6, max(1, len(wrong))))
    rows = max(1, -(-len(wrong) // cols))
    long_names = class_names is not None and max(len(str(c)) for c in class_names) > 3
    fig = _new_figure(1.9 * cols if long_names else 1.45 * cols + 0.4, 1.75 * rows + 0.5)
    if not len(wrong):
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center", fontsize=12)
        return _finish(fig, path)
    vmax = 255 if x.dtype.kind in "iu" or x.max() > 1.0 else 1.0
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong):
        ax.imshow(x[i], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        title = name(y_true[i]) + ("\n→" if long_names else "→") + name(y_pred[i])
        if confidence is not None:
            title += f"\n{confidence[i]:.0%}"
        ax.set_title(title, fontsize=9 if long_names else 10, color="firebrick")
    fig.suptitle(f"misclassified: true→predicted ({len(wrong)} shown of {np.count_nonzero(y_true != y_pred)})",
                 fontsize=11)
    return _finish(fig, path)
