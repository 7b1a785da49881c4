"""A multilayer perceptron on 10,000 real MNIST digits (shipped inside fastnn: no download).

Train on images 0..7999, test on 8000..9999 (the split every figure of this project uses). Pixels are
scaled to [0, 1]: unscaled 0..255 inputs saturate the first layer and training stalls.

    python examples/mnist_mlp.py
"""
import fastnn
from fastnn import layers


def main(epochs=10, batch_size=64, seed=0, verbose=2):
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist_10k.load_data()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    model = fastnn.Sequential([
        layers.Input((784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], seed=seed)
    model.compile(optimizer=fastnn.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) on the 2,000 held-out digits")
    return accuracy


if __name__ == "__main__":
    main()
