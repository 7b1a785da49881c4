"""Training from a Python generator: an endless stream of shuffled batches, each image shifted by up to
two pixels at random (a simple augmentation), so fit() needs steps_per_epoch to know where an epoch
ends. Validation and evaluation read plain arrays."""
# reaches >= 0.94 test accuracy
import fastnn as keras
from fastnn import layers

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(9)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)


def shifted_batches(images, labels, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = images[order[start : start + batch_size]]
            dy, dx = rng.integers(-2, 3, size=2)
            yield np.roll(batch, (dy, dx), axis=(1, 2)), labels[order[start : start + batch_size]]


model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

batch_size = 64
model.fit(
    shifted_batches(x_train, y_train, batch_size),
    steps_per_epoch=len(x_train) // batch_size,
    epochs=6,
    validation_data=(x_test[:500], y_test[:500]),
    verbose=2,
)

loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"test_accuracy={acc:.4f}")
