"""mnist_10k: 10,000 real MNIST digits shipped inside fastnn (8,000 train, 2,000 test), for offline use and
quick checks; see fastnn/data/mnist-10k/README.md.

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist_10k.load_data()
"""
import hashlib
from pathlib import Path

from .base import DIGITS, Dataset, DatasetNotFoundError, read_pair


class Embedded(Dataset):
    """Digits shipped inside fastnn: one IDX pair, split by index, sha256-checked.

    Attributes, besides name, title and class_names:
        directory: the folder in the installed package holding the files.
        hashes: file name -> sha256 hex digest, checked on every load; images first, then labels.
        n_train: images [0, n_train) are the training set, the rest the test set.
    """

    def __init__(self, name, title, class_names, directory, hashes, n_train):
        super().__init__(name, title, class_names)
        self.directory = directory
        self.hashes = hashes
        self.n_train = n_train

    def _no_path(self, path):
        if path is not None:
            raise ValueError(f"{self.name} ships inside fastnn and is read from {self.directory} only; "
                             f"expected path=None. Received: path={path!r}")

    def search_dirs(self, path=None):
        """[the package folder]: the only place this set is read from (`path` must be None)."""
        self._no_path(path)
        return [self.directory]

    def find(self, path=None):
        """The package folder holding the files, or None if the installation lacks them."""
        self._no_path(path)
        return self.directory if all((self.directory / f).is_file() for f in self.hashes) else None

    def load_data(self, download=True):
        """Load the set: `(x_train, y_train), (x_test, y_test)`, uint8, x (N,28,28), y (N,).

        Args:
            download: accepted so that every loader takes the same arguments; nothing is downloaded.

        Raises:
            DatasetNotFoundError: the installation lacks the files.
            ValueError: a file's sha256 differs from the one recorded (modified or corrupted).
        """
        return self._load(None, download)[0]

    def _load(self, path, download):
        """(the data, the folder it was read from)."""
        if self.find(path) is None:
            raise DatasetNotFoundError(f"{self.title}: the files {', '.join(self.hashes)} are missing from "
                                       f"{self.directory}; reinstall fastnn")
        for fname, want in self.hashes.items():
            got = hashlib.sha256((self.directory / fname).read_bytes()).hexdigest()
            if got != want:
                raise ValueError(f"{self.directory / fname} was modified or corrupted: expected sha256 "
                                 f"{want}. Received: {got}. Reinstall fastnn")
        x, y = read_pair(*(self.directory / f for f in self.hashes))
        k = self.n_train
        return ((x[:k], y[:k]), (x[k:], y[k:])), self.directory


mnist_10k = Embedded(
    "mnist_10k",
    "mnist-10k (10,000 MNIST digits shipped with fastnn)",
    DIGITS,
    directory=Path(__file__).resolve().parent.parent / "data" / "mnist-10k",
    hashes={  # images first, then labels
        "images-idx3-ubyte.gz": "a090c2282edbd1488caf66217b9a1e636152aee7b13f26d1cb858b383c5e9a04",
        "labels-idx1-ubyte.gz": "76648c832626fc5ab5518d272fc2d243de90a2bc35bfdd95461a37f7fef65fad",
    },
    n_train=8000,
)
