"""What train and evaluate print about a model on the test set, and the PNGs --plots writes.

Legend: N test images, K classes.
"""
import importlib.util
import os

import numpy as np

from .. import metrics, plots
from ..inference import as_model_input

# pairs of digits that look alike, (true, predicted): the confusions a digit model is judged by
DIGIT_TROUBLE = ((1, 7), (7, 1), (4, 9), (9, 4), (1, 4), (4, 1), (7, 4), (4, 7))


def format_matrix(matrix, labels):
    """The confusion matrix as aligned text: rows true class, columns predicted."""
    width = max(len(f"{matrix.max():,}"), *(len(s) for s in labels), 3)
    corner = "true\\pred"
    first = max(len(corner), *(len(s) for s in labels))
    lines = [corner.rjust(first) + "".join(s.rjust(width + 1) for s in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.rjust(first) + "".join(f"{v:,}".rjust(width + 1) for v in row))
    return "\n".join(lines)


def print_test_report(model, x_test, y_test, class_names, plots_dir, full):
    """Print test accuracy (and, when full, the confusion matrix and the worst confusions); write the
    confusion and misclassified PNGs into plots_dir. x_test float32 (N,28,28,1), y_test (N,)."""
    probs = model.predict(as_model_input(x_test, model), batch_size=256)
    pred = probs.argmax(axis=1)
    k = probs.shape[1]
    acc = metrics.accuracy(y_test, probs)
    print(f"Test accuracy: {acc:.2%} ({int(np.count_nonzero(pred == y_test)):,} of {len(y_test):,})")
    matrix = metrics.confusion_matrix(y_test, pred, num_classes=k)
    if full:
        digits = class_names == [str(i) for i in range(k)]
        labels = class_names if digits else [str(i) for i in range(k)]
        print("\nConfusion matrix (rows: true class, columns: predicted):")
        print(format_matrix(matrix, labels))
        if not digits:
            print("Classes: " + ", ".join(f"{i} {name}" for i, name in enumerate(class_names)))
        worst = metrics.most_confused(matrix, top=5)
        print("\nMost confused (true → predicted: count):")
        for t, p, count in worst or []:
            print(f"  {class_names[t]} → {class_names[p]}: {count}")
        if not worst:
            print("  none: every test image is classified correctly")
        if digits and k == 10:
            print("\nThe 1/4/7 trouble spot (digits that look alike; true → predicted: count):")
            print("  " + "   ".join(f"{t}→{p}: {matrix[t, p]}" for t, p in DIGIT_TROUBLE))
    if plots_dir:
        plots.plot_confusion_matrix(matrix, class_names, path=os.path.join(plots_dir, "confusion.png"))
        plots.plot_misclassified(x_test, y_test, pred, probs=probs, class_names=class_names,
                                 path=os.path.join(plots_dir, "misclassified.png"))


def require_matplotlib():
    """Fail before a long training run, not after it, when --plots cannot be honoured."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError('--plots needs matplotlib, an optional extra: pip install "fastnn[plot]"')
