"""A small convolutional network for handwritten digits: two convolution and pooling stages, then
dropout and a softmax classifier, trained with sparse categorical cross-entropy."""
# reaches >= 0.95 test accuracy
import fastnn as keras
from fastnn import layers

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(1)

(x_train, y_train), (x_test, y_test) = load_digits()
# pixels to [0, 1] and a channel axis: (N, 28, 28) -> (N, 28, 28, 1)
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(32, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Flatten(),
        layers.Dropout(0.4),
        layers.Dense(10, activation="softmax"),
    ]
)
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=8, validation_split=0.1, verbose=2)

loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"test_loss={loss:.4f}")
print(f"test_accuracy={acc:.4f}")
