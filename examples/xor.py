"""XOR with a 2-n-1 sigmoid network trained by gradient descent on the mean squared error.

The network learns from noisy samples scattered around the four corners, not only the four points,
and is then asked about the exact corners. With n >= 4 hidden units it converges for almost every
seed; with n = 2 (the textbook minimum) some seeds end in a local minimum: run this to see both.

    python examples/xor.py
"""
import numpy as np

import fastnn
from fastnn import layers

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = np.array([0, 1, 1, 0], dtype=np.float32)


def noisy_xor(n=200, noise=0.1, seed=0):
    """n points: a random corner plus Gaussian noise, labelled with that corner's XOR."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, 4, size=n)
    x = CORNERS[which] + rng.normal(0, noise, size=(n, 2)).astype(np.float32)
    return x, TARGETS[which]


def train_xor(hidden, seed, epochs=300, learning_rate=2.0):
    """Train a 2-hidden-1 sigmoid net; return (model, predictions at the four corners)."""
    x, y = noisy_xor(seed=seed)
    model = fastnn.Sequential([
        layers.Input((2,)),
        layers.Dense(hidden, activation="sigmoid"),
        layers.Dense(1, activation="sigmoid"),
    ], seed=seed)
    model.compile(optimizer=fastnn.optimizers.SGD(learning_rate, momentum=0.9), loss="mse")
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    return model, model.predict(CORNERS)[:, 0]


def solves(predictions):
    return bool(((predictions > 0.5) == (TARGETS > 0.5)).all())


def main(seeds=range(10)):
    results = {}
    for hidden in (2, 4):
        ok = [solves(train_xor(hidden, seed)[1]) for seed in seeds]
        results[hidden] = ok
        print(f"2-{hidden}-1 sigmoid net: solved XOR for {sum(ok)}/{len(ok)} seeds")
    model, pred = train_xor(4, seed=0)
    for corner, p in zip(CORNERS, pred):
        print(f"  {corner.astype(int)} -> {p:.3f}")
    return results


if __name__ == "__main__":
    main()
