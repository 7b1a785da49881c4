"""A small residual network written with the functional API: each block adds its input back to the
output of two convolutions (layers.add, or the Add layer) before the activation."""
# reaches >= 0.94 test accuracy
import fastnn as keras
from fastnn import layers

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(4)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)


def residual_block(x, filters):
    """Two 3x3 convolutions whose output is added to the block's input: shapes must match, so
    padding="same" and as many filters as the input has channels."""
    y = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    y = layers.add([x, y])
    return layers.Activation("relu")(y)


inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D(2)(x)                                        # 14x14x16
x = residual_block(x, 16)
x = layers.MaxPooling2D(2)(x)                                        # 7x7x16
shortcut = x
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.Activation("relu")(layers.Add()([shortcut, x]))           # the same idea, as a layer object
x = layers.Flatten()(x)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="small_resnet")
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=6, validation_split=0.1, verbose=2)

loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"test_accuracy={acc:.4f}")
