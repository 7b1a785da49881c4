"""One-hot labels: keras.utils.to_categorical turns each digit into a row of ten 0/1 values, and the
model trains with categorical (not sparse) cross-entropy, here with SGD and momentum and a
he_normal initialisation suited to relu."""
# reaches >= 0.93 test accuracy
import fastnn as keras
from fastnn import layers

from _digits import load_digits

keras.utils.set_random_seed(13)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = keras.utils.to_categorical(y_train, 10)   # (8000,) -> (8000, 10)
y_test = keras.utils.to_categorical(y_test, 10)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=32, epochs=8, validation_split=0.1, verbose=2)

loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"test_accuracy={acc:.4f}")
