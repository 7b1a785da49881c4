"""Datasets of 28x28 grey images with labels 0..9, Keras-style, plus an IDX reader and writer.

    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist.load_data()
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.load("fashion_mnist")
    data, source = fastnn.datasets.load("mnist_10k", return_source=True)

Every loader returns uint8 arrays: x (N,H,W) with H = W = 28, y (N,) with values 0..9.

- `mnist`, `fashion_mnist`: the full sets (60,000 train, 10,000 test), read from local IDX files, or
  downloaded once into the cache with pooch (checksummed, written atomically).
- `mnist_10k`: 10,000 real MNIST digits shipped inside fastnn (8,000 train, 2,000 test), for offline
  use and quick checks; see fastnn/data/mnist-10k/README.md.

Where `mnist` and `fashion_mnist` look, in order (`search_dirs(name)` lists them):

1. `$FASTNN_DATA/<name>`, then `$FASTNN_DATA` itself (so FASTNN_DATA may point straight at a folder
   holding one dataset's four files, e.g. /usr/share/datasets/fashion-mnist);
2. the cache, `$XDG_CACHE_HOME/fastnn/<name>`, else `~/.cache/fastnn/<name>` (downloads go there);
3. for `fashion_mnist`, Debian's package `dataset-fashion-mnist`: /usr/share/datasets/fashion-mnist.

A folder counts when it holds all four standard files, `train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each gzipped (`.gz`)
or raw. Both sets use these names, so a bare `$FASTNN_DATA` folder serves whichever set is asked for:
point it at one set's folder, or give each set its `<name>/` subfolder. `find(name)` says which folder
would be used, without downloading anything; `load(name, return_source=True)` says which one was.
When no folder has the files, `load_data()` downloads them (pass download=False to forbid it); the
error raised when that is impossible lists every folder looked at and how to get the files.

IDX (the MNIST file format): a big-endian header, magic number 0x0000TTDD (TT the type code, 0x08 for
uint8; DD the number of dimensions), then one uint32 per dimension, then the data in C order.
MNIST images have magic 2051 = 0x00000803 and dims (N,28,28); labels 2049 = 0x00000801 and dims (N,).

Legend: N images, H rows, W columns.
"""
import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetNotFoundError",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "fashion_mnist",
    "find",
    "load",
    "mnist",
    "mnist_10k",
    "read_idx",
    "search_dirs",
    "write_idx",
]

# ----------------------------------------------------------------------------------------------------
# IDX reader and writer

# IDX type code -> big-endian NumPy dtype (the codes the format defines)
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dims (N,H,W)
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dim (N,)

# Deflate cannot compress better than about 1032:1, so a gzip file of S bytes holds at most ~1032*S
# bytes: a header announcing more is corrupt, and is refused before anything is allocated.
_GZIP_MAX_RATIO = 1032


def _describe_magic(magic):
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dtype = _IDX_DTYPES.get(code)
    kind = dtype.newbyteorder("=").name if dtype is not None else f"unknown type 0x{code:02x}"
    return f"{magic} = 0x{magic:08x} ({kind}, {ndim} dim{'s' if ndim != 1 else ''})"


def _read_fully(f, buf):
    """Fill the C-contiguous array `buf` from `f`; return the number of bytes read (short at EOF)."""
    view = memoryview(buf.reshape(-1).view(np.uint8))
    n = 0
    while n < len(view):
        got = f.readinto(view[n:])
        if not got:
            break
        n += got
    return n


def read_idx(path, magic=None):
    """Read an IDX file (gzipped if `path` ends with `.gz`) into a NumPy array in native byte order.

    Args:
        path: the file.
        magic: the magic number the file must have, e.g. 2051 for MNIST images (uint8, 3 dims) or 2049
            for labels (uint8, 1 dim); None accepts any valid IDX type code and number of dimensions.

    Returns:
        An array of shape `dims` from the header and dtype from its type code (uint8 for MNIST).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: naming the file, what was expected and what was received, when the file is not IDX
            (bad magic, unknown type code, no dimensions, short header), does not have `magic`, holds
            fewer or more data bytes than its header announces, or is not valid gzip.
    """
    path = Path(path)
    size = path.stat().st_size  # FileNotFoundError, as is, when missing
    gzipped = path.name.endswith(".gz")
    with (gzip.open if gzipped else open)(path, "rb") as f:
        try:
            return _read_idx_stream(f, path, size, gzipped, magic)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            if not gzipped:
                raise
            raise ValueError(
                f"read_idx: {path} is not valid gzip data (expected a gzip-compressed IDX file "
                f"because the name ends with .gz). Received: {type(exc).__name__}: {exc}"
            ) from exc


def _read_idx_stream(f, path, size, gzipped, expected_magic):
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(f"read_idx: {path} is too short for an IDX header: expected at least 4 bytes, "
                         f"received {len(head)}")
    magic = int.from_bytes(head, "big")
    if head[:2] != b"\x00\x00":
        hint = ""
        if head[:2] == b"\x1f\x8b" and not gzipped:
            hint = "; it looks gzip-compressed, so give it a name ending in .gz"
        raise ValueError(f"read_idx: {path} is not an IDX file: expected a magic number whose first two "
                         f"bytes are zero (2051 for images, 2049 for labels). Received: 0x{magic:08x}{hint}")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"read_idx: {path} has the wrong magic number: expected "
                         f"{_describe_magic(expected_magic)}. Received: {_describe_magic(magic)}")
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02x} ({d.newbyteorder('=').name})" for c, d in _IDX_DTYPES.items())
        raise ValueError(f"read_idx: {path} has an unknown IDX type code: expected one of {known}. "
                         f"Received: 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions: expected at least 1. "
                         f"Received: magic 0x{magic:08x}")
    header_len = 4 + 4 * ndim
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(f"read_idx: {path} has a truncated header: {ndim} dims need {header_len} bytes, "
                         f"received {4 + len(raw_dims)}")
    dims = tuple(int.from_bytes(raw_dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    what = f"header (magic {magic}, dims {dims}) announces {expected} data bytes"

    # Refuse a header that cannot fit in the file before allocating for it.
    room = _GZIP_MAX_RATIO * size if gzipped else size - header_len
    if expected > room:
        found = f"a gzip file of {size} bytes holds at most ~{room}" if gzipped else f"{room} found"
        raise ValueError(f"read_idx: {path} is truncated or corrupt: its {what}; {found}")

    out = np.empty(dims, dtype=dtype)
    got = _read_fully(f, out)
    if got < expected:
        raise ValueError(f"read_idx: {path} is truncated: its {what}; received only {got}")
    if f.read(1):
        raise ValueError(f"read_idx: {path} is over-long: its {what}; received more data after them")
    return out if dtype.isnative else out.astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write `array` as an IDX file, gzip-compressed when `path` ends with `.gz`, raw otherwise.

    The inverse of `read_idx`. A uint8 array of shape (N,28,28) gets magic 2051 (MNIST images), one of
    shape (N,) magic 2049 (labels). Compressed output is reproducible (the gzip timestamp is 0).

    Args:
        path: the file to create or overwrite.
        array: an array of dtype uint8, int8, int16, int32, float32 or float64 with 1 to 255 dims, each
            below 2**32.

    Raises:
        ValueError: the dtype, number of dims or a dim is not representable in IDX.
    """
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(d.newbyteorder("=").name for d in _IDX_DTYPES.values())
        raise ValueError(f"write_idx(array=...) expects an array of dtype {names}. "
                         f"Received: dtype={array.dtype}")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx(array=...) expects 1 to 255 dims, each below 2**32. "
                         f"Received: shape={array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as raw:
        # no file name and mtime=0 in the gzip header: the same array always gives the same bytes
        gzipped = str(path).endswith(".gz")
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gzipped else raw as f:
            f.write(header)
            f.write(np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes())


# ----------------------------------------------------------------------------------------------------
# Loaders

_SPLIT_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the places searched and could not be downloaded.

    The message lists every place looked at, every download tried, and how to fix it.
    """


def _cache_root():
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "fastnn"


def _check_split(images, labels, images_path, labels_path):
    """Check images (N,28,28) and labels (N,) in 0..9 read from the two files (dtypes: by magic)."""
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected images of 28x28 pixels, dims (N, 28, 28). "
                         f"Received: dims {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                         f"{len(labels)} labels: expected the same count")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: expected labels 0..9. Received: a label {labels.max()}")


class _Dataset:
    """Attributes: name (as `load` takes it), title (for people), class_names (label -> class name)."""

    def __init__(self, name, title, class_names):
        self.name = name
        self.title = title
        self.class_names = class_names

    def __repr__(self):
        return f"<fastnn.datasets.{self.name}: {self.title}>"


class _Downloadable(_Dataset):
    """A dataset in the four standard IDX files, found locally or downloaded (`mnist`, `fashion_mnist`).

    Attributes, besides name, title and class_names:
        mirrors: base URLs, tried in order; each file is `mirror + filename + ".gz"`.
        hashes: file name -> pooch `known_hash` ("sha256:..." or "md5:...").
        system_dir: a folder an OS package installs the files in, or None.
        hint: how to get the files without a download, shown when they are not found.
    """

    def __init__(self, name, title, class_names, mirrors, hashes, system_dir=None, hint=None):
        super().__init__(name, title, class_names)
        self.mirrors = mirrors
        self.hashes = hashes
        self.system_dir = system_dir
        self.hint = hint

    def search_dirs(self, path=None):
        """The folders searched, in order: [path] when given, else see the module docstring."""
        if path is not None:
            return [Path(path)]
        dirs = []
        env = os.environ.get("FASTNN_DATA", "")
        if env:
            dirs += [Path(env) / self.name, Path(env)]
        dirs.append(_cache_root() / self.name)
        if self.system_dir is not None:
            dirs.append(Path(self.system_dir))
        return dirs

    def _files_in(self, directory):
        """({split: path} of the files present, .gz preferred; [names of the files missing])."""
        files, missing = {}, []
        for split, stem in _SPLIT_FILES.items():
            found = [directory / f for f in (stem + ".gz", stem) if (directory / f).is_file()]
            if found:
                files[split] = found[0]
            else:
                missing.append(stem + "[.gz]")
        return files, missing

    def find(self, path=None):
        """The first folder of `search_dirs(path)` holding all four files, or None. Never downloads."""
        for directory in self.search_dirs(path):
            if not self._files_in(directory)[1]:
                return directory
        return None

    def load_data(self, path=None, download=True):
        """Load the dataset: `(x_train, y_train), (x_test, y_test)`, uint8, x (N,28,28), y (N,).

        Args:
            path: a folder to use instead of the default search (see `search_dirs`); files are looked
                for, and downloaded to, there only.
            download: download the files (with pooch, checksummed, mirrors tried in order) into the
                cache, or into `path`, when no folder holds them.

        Raises:
            DatasetNotFoundError: not found locally and download=False or every mirror failed; the
                message lists the places looked at and the downloads tried.
            ValueError: a file found is corrupt or inconsistent (names the file).
        """
        return self._load(path, download)[0]

    def _load(self, path, download):
        directory = self.find(path)
        if directory is None:
            if not download:
                raise DatasetNotFoundError(self._not_found_message(path, "download=False", False))
            directory = self._download(path)
        return _read_dir(self._files_in(directory)[0]), directory

    def _target(self, path):
        """The folder downloads go to."""
        return Path(path) if path is not None else _cache_root() / self.name

    def _download(self, path):
        """Fetch the four files into the cache (or `path`); return that folder."""
        # Imported here: pooch pulls in requests, slow to import and only needed for downloads.
        import pooch

        target = self._target(path)
        for stem in _SPLIT_FILES.values():
            fname = stem + ".gz"
            failures = []
            for mirror in self.mirrors:
                url = mirror + fname
                try:
                    pooch.retrieve(url, known_hash=self.hashes[fname], fname=fname, path=target,
                                   progressbar=True)
                    break
                except (OSError, ValueError) as exc:  # network errors (requests' are OSErrors), bad hash
                    failures.append(f"{url}: {type(exc).__name__}: {exc}")
            else:
                tried = "\n".join(f"  {line}" for line in failures)
                raise DatasetNotFoundError(self._not_found_message(
                    path, f"downloading {fname} failed on every mirror:\n{tried}", True))
        return target

    def _not_found_message(self, path, reason, download_tried):
        lines = [f"{self.title} not found, and {reason}", "Looked in:"]
        for directory in self.search_dirs(path):
            if not directory.is_dir():
                lines.append(f"  {directory}  (no such folder)")
            else:
                lines.append(f"  {directory}  (missing {', '.join(self._files_in(directory)[1])})")
        files = ", ".join(stem + "[.gz]" for stem in _SPLIT_FILES.values())
        target = self._target(path)
        lines.append("To fix it, do one of:")
        if self.hint:
            lines.append(f"  - {self.hint}")
        if path is None:
            lines.append(f"  - put the four files ({files}) in a folder and set FASTNN_DATA to it, "
                         f"or to a folder holding it as '{self.name}/'")
        else:
            lines.append(f"  - put the four files ({files}) in {path}")
        if download_tried:
            lines.append(f"  - check the internet connection (or proxy) and retry; the files go to {target}")
        else:
            lines.append(f"  - go online and load with download=True; the files go to {target}")
        lines.append("  - or, offline, use the 10,000 digits shipped with fastnn: fastnn.datasets.mnist_10k")
        return "\n".join(lines)


def _read_dir(files):
    """{split: path} of the four files -> ((x_train, y_train), (x_test, y_test)), checked."""
    arrays = {}
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        arrays[images] = read_idx(files[images], magic=IMAGES_MAGIC)
        arrays[labels] = read_idx(files[labels], magic=LABELS_MAGIC)
        _check_split(arrays[images], arrays[labels], files[images], files[labels])
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


class _Embedded(_Dataset):
    """The digits shipped inside fastnn (`mnist_10k`): one IDX pair, split by index, sha256-checked.

    Attributes, besides name, title and class_names:
        directory: the folder in the installed package holding the files.
        hashes: file name -> sha256 hex digest, checked on every load.
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
        if self.find(path) is None:
            raise DatasetNotFoundError(f"{self.title}: the files {', '.join(self.hashes)} are missing from "
                                       f"{self.directory}; reinstall fastnn")
        for fname, want in self.hashes.items():
            got = hashlib.sha256((self.directory / fname).read_bytes()).hexdigest()
            if got != want:
                raise ValueError(f"{self.directory / fname} was modified or corrupted: expected sha256 "
                                 f"{want}. Received: {got}. Reinstall fastnn")
        images_path, labels_path = (self.directory / f for f in self.hashes)
        x = read_idx(images_path, magic=IMAGES_MAGIC)
        y = read_idx(labels_path, magic=LABELS_MAGIC)
        _check_split(x, y, images_path, labels_path)
        k = self.n_train
        return ((x[:k], y[:k]), (x[k:], y[k:])), self.directory


_DIGITS = tuple(str(d) for d in range(10))

mnist = _Downloadable(
    "mnist",
    "MNIST",
    _DIGITS,
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

fashion_mnist = _Downloadable(
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

mnist_10k = _Embedded(
    "mnist_10k",
    "mnist-10k (10,000 MNIST digits shipped with fastnn)",
    _DIGITS,
    directory=Path(__file__).resolve().parent / "data" / "mnist-10k",
    hashes={  # images first, then labels
        "images-idx3-ubyte.gz": "a090c2282edbd1488caf66217b9a1e636152aee7b13f26d1cb858b383c5e9a04",
        "labels-idx1-ubyte.gz": "76648c832626fc5ab5518d272fc2d243de90a2bc35bfdd95461a37f7fef65fad",
    },
    n_train=8000,
)

_DATASETS = {d.name: d for d in (mnist, fashion_mnist, mnist_10k)}


def _get(name):
    key = str(name).lower().replace("-", "_")
    if key not in _DATASETS:
        raise ValueError(f"Expected a dataset name among {', '.join(map(repr, _DATASETS))} "
                         f"(or with '-' for '_'). Received: name={name!r}")
    return _DATASETS[key]


def load(name, path=None, download=True, return_source=False):
    """Load a dataset by name: `(x_train, y_train), (x_test, y_test)`, uint8, x (N,28,28), y (N,).

    Args:
        name: "mnist", "fashion_mnist" or "mnist_10k" ("fashion-mnist", "mnist-10k" also work).
        path: for mnist and fashion_mnist, a folder to use instead of the default search.
        download: whether mnist and fashion_mnist may be downloaded when not found.
        return_source: also return the folder the files were read from, so that a caller can report
            which data it used.

    Returns:
        The data, or `(data, source)` with `source` a `pathlib.Path` when `return_source` is true.
    """
    data, source = _get(name)._load(path, download)
    return (data, source) if return_source else data


def find(name, path=None):
    """The folder `load(name, path)` would read without downloading, or None when there is none."""
    return _get(name).find(path)


def search_dirs(name, path=None):
    """The folders `load(name, path)` searches, in order (existing or not)."""
    return _get(name).search_dirs(path)
