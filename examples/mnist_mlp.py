"""A multilayer perceptron on 10,000 real MNIST digits (shipped inside fastnn: no download).

Train on images 0..7999, test on 8000..9999 (the split every figure of this project uses). Pixels are
scaled to [0, 1]: unscaled 0..255 inputs saturate the first layer and training stalls. With only 8,000
digits the MLP overfits after a few epochs (about 96% at best); two randomly shifted, rotated and
re-stroked copies of each training digit (fastnn.digits.Augment) and a decaying learning rate
lift it to about 97-98%.

    python examples/mnist_mlp.py
"""
import numpy as np

import fastnn
from fastnn import layers
from fastnn.callbacks import LearningRateScheduler


def main(epochs=10, batch_size=64, seed=0, copies=2, verbose=2):
    from fastnn.digits import Augment

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist_10k.load_data()
    x_train = x_train.astype("float32") / 255
    augment = Augment(seed=seed)
    x_train = np.concatenate([x_train] + [augment(x_train) for _ in range(copies)]).reshape(-1, 784)
    y_train = np.tile(y_train, copies + 1)
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    model = fastnn.Sequential([
        layers.Input((784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], seed=seed)
    model.compile(optimizer=fastnn.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    decay = LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.8 ** epoch)
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, callbacks=[decay], verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) on the 2,000 held-out digits")
    return accuracy


if __name__ == "__main__":
    main()
