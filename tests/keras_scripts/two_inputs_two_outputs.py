"""A functional model with two inputs and two outputs. It reads the image and, beside it, the digit's
ink profile (how much ink each row and each column holds), and answers twice: which digit (softmax,
sparse categorical cross-entropy) and whether it is even (sigmoid, binary cross-entropy). Losses and
metrics are dicts keyed by output name, the second loss counts half, and fit takes dicts of arrays."""
# reaches >= 0.94 test accuracy
import fastnn as keras
from fastnn import layers

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(5)

(x_train, y_train), (x_test, y_test) = load_digits()


def features(images, labels):
    pixels = images.astype("float32") / 255
    profile = np.concatenate([pixels.sum(axis=2), pixels.sum(axis=1)], axis=1) / 28   # (N, 56)
    inputs = {"image": pixels[..., None], "profile": profile}
    targets = {"digit": labels, "even": (labels % 2 == 0).astype("float32").reshape(-1, 1)}
    return inputs, targets


train_inputs, train_targets = features(x_train, y_train)
test_inputs, test_targets = features(x_test, y_test)

image = keras.Input(shape=(28, 28, 1), name="image")
profile = keras.Input(shape=(56,), name="profile")
x = layers.Conv2D(16, 3, activation="relu")(image)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Flatten()(x)
p = layers.Dense(32, activation="relu")(profile)
shared = layers.Dense(64, activation="relu")(layers.concatenate([x, p]))
digit = layers.Dense(10, activation="softmax", name="digit")(shared)
even = layers.Dense(1, activation="sigmoid", name="even")(shared)
model = keras.Model(inputs=[image, profile], outputs=[digit, even])
model.summary()

model.compile(
    optimizer="adam",
    loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
    loss_weights={"digit": 1.0, "even": 0.5},
    metrics={"digit": ["accuracy"], "even": ["accuracy"]},
)
model.fit(train_inputs, train_targets, batch_size=64, epochs=6, validation_split=0.1, verbose=2)

results = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
print(results)
print(f"even_accuracy={results['even_accuracy']:.4f}")
print(f"test_accuracy={results['digit_accuracy']:.4f}")
