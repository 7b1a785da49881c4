"""Fashion-MNIST: 60,000 training and 10,000 test images of clothes in 10 classes (Zalando Research), found
locally (also in Debian's package dataset-fashion-mnist) or downloaded.

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.fashion_mnist.load_data()
"""
from .download import Downloadable

fashion_mnist = Downloadable(
    "fashion_mnist",
    "Fashion-MNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
     "Ankle boot"),
    # Zalando's own locations (HTTPS first: the S3 website endpoint has plain HTTP only). Their README
    # publishes MD5 sums only, so those are what pooch checks.
    mirrors=[
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    hashes={
        "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
    # Debian recompresses the files, so they differ from the hashes above: read_idx validates them.
    system_dir="/usr/share/datasets/fashion-mnist",
    hint="install Debian's package: sudo apt-get install dataset-fashion-mnist",
)
