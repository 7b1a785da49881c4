"""Ready-made models for 28x28 grey images, and the recipes that train them.

    model = fastnn.models.lenet5()                      # the LeNet-5 of the benchmarks, plain
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

Each builder returns a built, uncompiled Sequential (weights initialised from `seed`), ready for compile().
RECIPES holds the training defaults (optimizer, learning rate and its decay, epochs, batch size, augmentation,
dataset) that `python -m fastnn train` uses and its --help lists, one set of numbers for the CLI and the docs.

Legend: inputs are (H, W, C) = (28, 28, 1), pixel values scaled to [0, 1].
"""
from dataclasses import dataclass

from .. import layers
from .sequential import Sequential

MNIST_SHAPE = (28, 28, 1)


def _built(model):
    model.build()
    return model


def _classifier(hidden, num_classes):
    """The dense head the models end with: Flatten, a relu Dense per width in hidden, a softmax over classes."""
    return ([layers.Flatten()] + [layers.Dense(units, activation="relu") for units in hidden]
            + [layers.Dense(num_classes, activation="softmax")])


def mlp(input_shape=MNIST_SHAPE, num_classes=10, seed=None):
    """Flatten, Dense 256 relu, Dense 128 relu, Dense num_classes softmax (235,146 parameters on MNIST)."""
    return _built(Sequential([layers.Input(input_shape), *_classifier((256, 128), num_classes)],
                             name="mlp", seed=seed))


def lenet5(input_shape=MNIST_SHAPE, num_classes=10, seed=None):
    """LeNet-5 as the benchmarks use it (61,706 parameters on MNIST), nothing added:

    Conv 6@5x5 same relu, MaxPool 2, Conv 16@5x5 valid relu, MaxPool 2, Flatten,
    Dense 120 relu, Dense 84 relu, Dense num_classes softmax.
    """
    return _built(Sequential([
        layers.Input(input_shape),
        layers.Conv2D(6, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        *_classifier((120, 84), num_classes),
    ], name="lenet5", seed=seed))


def fashion_cnn(input_shape=MNIST_SHAPE, num_classes=10, seed=None):
    """A small CNN for Fashion-MNIST (98,778 parameters), three blocks that halve the image each time:

    [Conv 3x3 same (no bias), BatchNorm, relu, MaxPool 2] with 16, 32, then 64 filters (28 -> 14 -> 7 -> 3),
    Flatten, Dropout 0.3, Dense 128 relu, Dropout 0.3, Dense num_classes softmax.

    Pooling after every convolution keeps the cost near 2.0M multiply-adds per image (conv32-conv32 at full
    resolution would cost about 11M), so an epoch of 54,000 images fits in minutes on two cores; BatchNorm lets
    Adam run at a high learning rate, Dropout curbs the overfitting of the dense layer.
    """
    def block(filters):
        return [layers.Conv2D(filters, 3, padding="same", use_bias=False),   # BatchNorm's beta is the bias
                layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(2)]

    return _built(Sequential([
        layers.Input(input_shape),
        *block(16), *block(32), *block(64),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(num_classes, activation="softmax"),
    ], name="fashion_cnn", seed=seed))


# -- training recipes ----------------------------------------------------------------------------
# Below this many training images (the embedded mnist-10k has 8,000), a recipe's augmented copies are added:
# LeNet-5 overfits 7,200 digits (99.9% train accuracy by epoch 10, test ~98.1%); on 60,000 it does not.
SMALL_TRAINING_SET = 20_000


@dataclass(frozen=True)
class Recipe:
    """How `fastnn train` trains a model by default.

    builder: returns the model (takes seed=); dataset: the set it is meant for ("digits": full MNIST if
    found locally, else the embedded mnist-10k); lr_decay: the learning rate is multiplied by this at
    the start of every epoch after the first (1.0: constant); augment: how many copies of a small training
    set (< SMALL_TRAINING_SET images), shifted, rotated, scaled and re-stroked by fastnn.preprocess.Augment,
    are added to it before training.
    """
    builder: object
    optimizer: str
    learning_rate: float
    epochs: int
    batch_size: int
    lr_decay: float = 1.0
    augment: int = 0
    dataset: str = "digits"

    def learning_rate_at(self, epoch, learning_rate=None):
        """The scheduled learning rate for a 0-based epoch, from `learning_rate` (default: the recipe's)."""
        return (self.learning_rate if learning_rate is None else learning_rate) * self.lr_decay ** epoch

    def augment_copies(self, n_train):
        """Augmented copies to add to a training set of n_train images."""
        return self.augment if n_train < SMALL_TRAINING_SET else 0


# name (as `fastnn train --model` takes it) -> Recipe
RECIPES = {
    "mlp": Recipe(mlp, "adam", 1e-3, epochs=10, batch_size=64, lr_decay=0.8),
    "lenet": Recipe(lenet5, "adam", 2e-3, epochs=5, batch_size=32, lr_decay=0.7, augment=2),
    "fashion_cnn": Recipe(fashion_cnn, "adam", 2e-3, epochs=6, batch_size=64, lr_decay=0.7,
                          dataset="fashion_mnist"),
}

# Defaults for a model read from a JSON spec (builder None: from_spec builds it).
SPEC_RECIPE = Recipe(None, "adam", 1e-3, epochs=10, batch_size=32)
