"""Transfer learning with frozen layers: a convolutional base learns the digits 0-4; frozen
(trainable = False), it then serves a new classifier head for the digits 5-9; finally its last
convolution is unfrozen and the model is compiled again and fine-tuned at a low learning rate."""
# reaches >= 0.93 test accuracy
import fastnn as keras
from fastnn import layers

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(8)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
low_train, low_test = y_train < 5, y_test < 5
high_train, high_test = ~low_train, ~low_test

base = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", name="conv_1"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu", name="conv_2"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
    ],
    name="base",
)

# 1. the base and a first head learn the digits 0-4
inputs = keras.Input(shape=(28, 28, 1))
outputs = layers.Dense(5, activation="softmax")(base(inputs))
first = keras.Model(inputs, outputs)
first.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
first.fit(x_train[low_train], y_train[low_train], batch_size=64, epochs=3, verbose=2)

# 2. the base frozen, a new head learns the digits 5-9 (labels 0-4 here)
base.trainable = False
inputs = keras.Input(shape=(28, 28, 1))
x = base(inputs, training=False)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(5, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary(show_trainable=True)
frozen = base.get_weights()
model.fit(x_train[high_train], y_train[high_train] - 5, batch_size=64, epochs=3, verbose=2)
assert all(np.array_equal(a, b) for a, b in zip(frozen, base.get_weights())), "a frozen weight changed"

# 3. unfreeze the last convolution only; a trainable change counts from the next compile
base.trainable = True
base.get_layer("conv_1").trainable = False
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-4),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train[high_train], y_train[high_train] - 5, batch_size=64, epochs=2, verbose=2)
assert np.array_equal(frozen[0], base.get_layer("conv_1").get_weights()[0])

_, first_acc = first.evaluate(x_test[low_test], y_test[low_test], verbose=0)
print(f"digits 0-4 with the first head: {first_acc:.4f}")
loss, acc = model.evaluate(x_test[high_test], y_test[high_test] - 5, verbose=0)
print(f"test_accuracy={acc:.4f}")
