"""Rosenblatt's perceptron learning rule on a linearly separable set.

The rule: for each misclassified sample (x, t) with t in {-1, +1}, w <- w + t x (bias folded into w as
a constant input). On linearly separable data it stops after finitely many mistakes (Novikoff's
theorem). This is not gradient descent, so it is written out here in NumPy; the learnt weights are then
loaded into a fastnn Dense layer to show the same decision function.

    python examples/perceptron.py
"""
import numpy as np

import fastnn
from fastnn import layers


def separable(n=200, margin=0.1, seed=0):
    """Points in [-1, 1]^2 labelled by a random line through the origin region, with a margin."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=2)
    w_true /= np.linalg.norm(w_true)
    b_true = rng.uniform(-0.2, 0.2)
    x = rng.uniform(-1, 1, size=(4 * n, 2))
    s = x @ w_true + b_true
    keep = np.abs(s) > margin
    x, s = x[keep][:n], s[keep][:n]
    return x.astype(np.float32), np.where(s > 0, 1, -1)


def train_perceptron(x, t, max_epochs=1000):
    """Returns (w, b, mistakes made, epochs used). Stops at the first epoch without a mistake."""
    w, b, mistakes = np.zeros(x.shape[1]), 0.0, 0
    for epoch in range(1, max_epochs + 1):
        errors = 0
        for xi, ti in zip(x, t):
            if ti * (xi @ w + b) <= 0:
                w += ti * xi
                b += ti
                errors += 1
        mistakes += errors
        if errors == 0:
            return w, b, mistakes, epoch
    return w, b, mistakes, max_epochs


def main():
    x, t = separable()
    w, b, mistakes, epochs = train_perceptron(x, t)
    model = fastnn.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.build()
    model.set_weights([w[:, None], np.array([b])])
    predicted = np.where(model.predict(x)[:, 0] > 0, 1, -1)
    print(f"converged after {epochs} epochs and {mistakes} updates; training accuracy {np.mean(predicted == t):.3f}")
    return w, b, np.mean(predicted == t), epochs


if __name__ == "__main__":
    main()
