"""Preprocessing inside the model: raw pixels (0..255, flat rows of 784) go in, and the model rescales
them with Rescaling, shapes them into images with Reshape, and ends its convolutions with global average
pooling instead of flattening, so predict() takes images exactly as they were stored."""
# reaches >= 0.90 test accuracy
import fastnn as keras
from fastnn import layers

from _digits import load_digits

keras.utils.set_random_seed(4)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = x_train.reshape(len(x_train), 784).astype("float32")   # raw pixel values, no scaling here
x_test = x_test.reshape(len(x_test), 784).astype("float32")

inputs = keras.Input(shape=(784,))
x = layers.Rescaling(1.0 / 255)(inputs)
x = layers.Reshape((28, 28, 1))(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(64, 3, activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=8, validation_split=0.1, verbose=2)

results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print(f"test_accuracy={results['sparse_categorical_accuracy']:.4f}")
