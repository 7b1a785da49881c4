"""Saving and loading, three ways: the whole model (model.save to a .keras file, then
keras.models.load_model, optimizer state included, so training can go on), the weights alone
(save_weights / load_weights with a .weights.h5 file) and the architecture alone (to_json /
model_from_json). Each round trip must give back the same predictions."""
# reaches >= 0.93 test accuracy
import fastnn as keras
from fastnn import layers

import os
import tempfile

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(11)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)

inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, activation="relu")(inputs)
x = layers.MaxPooling2D(2)(x)
x = layers.Flatten()(x)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=5, verbose=2)
expected = model.predict(x_test, verbose=0)

with tempfile.TemporaryDirectory() as folder:
    # the whole model
    model_path = os.path.join(folder, "digits.keras")
    model.save(model_path)
    restored = keras.models.load_model(model_path)
    np.testing.assert_allclose(restored.predict(x_test, verbose=0), expected, rtol=1e-5, atol=1e-6)

    # the weights alone, into a model rebuilt from the architecture alone
    weights_path = os.path.join(folder, "digits.weights.h5")
    model.save_weights(weights_path)
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.load_weights(weights_path)
    np.testing.assert_allclose(rebuilt.predict(x_test, verbose=0), expected, rtol=1e-5, atol=1e-6)

# the restored model goes on training where the saved one stopped
restored.fit(x_train, y_train, batch_size=64, epochs=2, verbose=2)

loss, acc = restored.evaluate(x_test, y_test, verbose=0)
print(f"test_accuracy={acc:.4f}")
