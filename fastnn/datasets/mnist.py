"""MNIST: 60,000 training and 10,000 test handwritten digits (LeCun et al.), found locally or downloaded.

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist.load_data()
"""
from .base import DIGITS
from .download import Downloadable

mnist = Downloadable(
    "mnist",
    "MNIST",
    DIGITS,
    # The original files (yann.lecun.com) as mirrored for torchvision (ossci-datasets) and TensorFlow
    # (cvdf-datasets).
    mirrors=[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    hashes={
        "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
)
