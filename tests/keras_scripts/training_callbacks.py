"""Callbacks: EarlyStopping ends training when the validation loss stops improving and restores the
best weights, ModelCheckpoint keeps the best model on disk, a custom Callback records the loss of every
batch, and the History that fit() returns holds each epoch's logs."""
# reaches >= 0.92 test accuracy
import fastnn as keras
from fastnn import layers

import os
import tempfile

from _digits import load_digits

keras.utils.set_random_seed(6)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255


class BatchLosses(keras.callbacks.Callback):
    """Keeps every batch's running loss and says when each epoch ends."""

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        print(f"end of epoch {epoch + 1}: {len(self.losses)} batches so far, val_loss {logs['val_loss']:.4f}")


model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

with tempfile.TemporaryDirectory() as folder:
    best_path = os.path.join(folder, "best.keras")
    batch_losses = BatchLosses()
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, verbose=1),
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", save_best_only=True),
        batch_losses,
    ]
    history = model.fit(
        x_train, y_train, batch_size=64, epochs=30, validation_split=0.15, callbacks=callbacks, verbose=0
    )
    best = keras.models.load_model(best_path)
    _, best_acc = best.evaluate(x_test, y_test, verbose=0)

assert isinstance(history, keras.callbacks.History)
epochs_run = len(history.history["loss"])
print(f"trained {epochs_run} of 30 epochs; logged {sorted(history.history)}")
first_loss, last_loss = batch_losses.losses[0], batch_losses.losses[-1]
print(f"{len(batch_losses.losses)} batch losses, from {first_loss:.3f} to {last_loss:.3f}")
print(f"checkpoint with the best val_accuracy: test accuracy {best_acc:.4f}")

loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"test_accuracy={acc:.4f}")
