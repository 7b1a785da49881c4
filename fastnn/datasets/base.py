"""What every dataset shares: its names, the error raised when its files are missing, and reading one
images/labels pair of IDX files with the checks every loader makes.

Legend: N images, H = W = 28 pixels.
"""
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

DIGITS = tuple(str(d) for d in range(10))   # the class names of the digit sets


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the places searched and could not be downloaded.

    The message lists every place looked at, every download tried, and how to fix it.
    """


class Dataset:
    """Attributes: name (as `fastnn.datasets.load` takes it), title (for people), class_names (label -> class
    name)."""

    def __init__(self, name, title, class_names):
        self.name = name
        self.title = title
        self.class_names = class_names

    def __repr__(self):
        return f"<fastnn.datasets.{self.name}: {self.title}>"


def read_pair(images_path, labels_path):
    """Images uint8 (N,28,28) and labels uint8 (N,) in 0..9 from their two IDX files, checked.

    Raises:
        ValueError: naming the file, when a file is not IDX of the right magic, the images are not 28x28,
            the counts differ or a label is above 9.
    """
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected images of 28x28 pixels, dims (N, 28, 28). "
                         f"Received: dims {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                         f"{len(labels)} labels: expected the same count")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: expected labels 0..9. Received: a label {labels.max()}")
    return images, labels
