"""Training from a keras.utils.PyDataset: a class that says how many batches it has (__len__), builds
any one of them on demand (__getitem__) and reshuffles after each epoch (on_epoch_end). The same class
without shuffling feeds evaluate()."""
# reaches >= 0.93 test accuracy
import fastnn as keras
from fastnn import layers

import math

import numpy as np
from _digits import load_digits

keras.utils.set_random_seed(10)

(x_train, y_train), (x_test, y_test) = load_digits()


class DigitBatches(keras.utils.PyDataset):
    def __init__(self, images, labels, batch_size, shuffle=False, **kwargs):
        super().__init__(**kwargs)
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.order = np.arange(len(images))
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        # scaled here, batch by batch, so the uint8 images are never copied whole as floats
        return self.images[rows].reshape(-1, 784).astype("float32") / 255, self.labels[rows]

    def on_epoch_end(self):
        if self.shuffle:
            np.random.shuffle(self.order)


train_batches = DigitBatches(x_train, y_train, batch_size=64, shuffle=True)
test_batches = DigitBatches(x_test, y_test, batch_size=250)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train_batches, epochs=8, validation_data=test_batches, verbose=2)

loss, acc = model.evaluate(test_batches, verbose=0)
print(f"test_accuracy={acc:.4f}")
