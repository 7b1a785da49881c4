"""Logistic regression by gradient descent: is a student with marks (m, p) admitted?

The rule to discover is "admitted when a*m + b*p + c > 0". We generate students from a hidden line,
then fit a, b, c by gradient descent on E(a, b, c) = sum_i (c_i - sigmoid(a*m_i + b*p_i + c))^2, which is
a one-unit sigmoid Dense layer trained with the squared error. Marks are normalised first (mean 0, std 1):
without that, gradient descent crawls. The learnt line is mapped back to raw marks and compared.

    python examples/admission.py
"""
import numpy as np

import fastnn
from fastnn import layers

TRUE_LINE = (1.0, 2.0, -180.0)   # admitted when m + 2p > 180


def students(n=500, seed=0, line=TRUE_LINE):
    rng = np.random.default_rng(seed)
    marks = rng.uniform(0, 100, size=(n, 2))
    a, b, c = line
    admitted = (a * marks[:, 0] + b * marks[:, 1] + c > 0).astype(np.float32)
    return marks.astype(np.float32), admitted


def fit_line(marks, admitted, epochs=200, seed=0):
    """Return (a, b, c) in raw-mark units, the model, and the normalisation used."""
    mean, std = marks.mean(axis=0), marks.std(axis=0)
    z = (marks - mean) / std
    model = fastnn.Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")], seed=seed)
    model.compile(optimizer=fastnn.optimizers.SGD(learning_rate=5.0), loss="mse", metrics=["accuracy"])
    model.fit(z, admitted, batch_size=len(z), epochs=epochs, verbose=0)   # full-batch gradient descent
    w, c = model.get_weights()
    a, b = w[:, 0] / std
    c = float(c[0] - (w[:, 0] * mean / std).sum())
    return (float(a), float(b), c), model, (mean, std)


def main():
    marks, admitted = students()
    (a, b, c), model, (mean, std) = fit_line(marks, admitted)
    accuracy = model.evaluate((marks - mean) / std, admitted, verbose=0)[1]
    print(f"learnt boundary: {a:.3f} m + {b:.3f} p + {c:.2f} > 0   (training accuracy {accuracy:.3f})")
    print(f"normalised:      m + {b / a:.3f} p > {-c / a:.1f}   (true: m + 2 p > 180)")
    return (a, b, c), accuracy


if __name__ == "__main__":
    main()
