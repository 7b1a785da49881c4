"""fastnn.datasets: the IDX reader/writer, the search for local files, downloads, the embedded set.

No test touches the network or the real cache: FASTNN_DATA and XDG_CACHE_HOME point into tmp_path,
Debian's folder is redirected, and pooch.retrieve is replaced where a download is exercised.
"""
import gzip
import importlib
from pathlib import Path

import numpy as np
import pooch
import pytest

import fastnn
from fastnn import datasets
from fastnn.datasets import DatasetNotFoundError, read_idx, write_idx

FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No FASTNN_DATA, an empty cache, no Debian folder: each test sets up what it needs."""
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets.fashion_mnist, "system_dir", tmp_path / "no-debian")


def fake_split(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_fake_set(directory, gz=True, n_train=6, n_test=4):
    """Write the four standard files into `directory`; return the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = fake_split(n_train, 0), fake_split(n_test, 1)
    for stem, array in zip(STEMS, (xtr, ytr, xte, yte)):
        write_idx(directory / (stem + (".gz" if gz else "")), array)
    return (xtr, ytr), (xte, yte)


def assert_same_data(got, want):
    for g, w in zip(got, want):
        for ga, wa in zip(g, w):
            assert ga.dtype == np.uint8
            np.testing.assert_array_equal(ga, wa)


# ---------------------------------------------------------------------------------------------------
# The package: one module per dataset, idx.py for the format


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "mnist_10k"])
def test_each_dataset_is_the_loader_its_module_defines(name):
    module = importlib.import_module(f"fastnn.datasets.{name}")
    loader = getattr(datasets, name)
    assert loader is getattr(module, name) and loader.name == name
    assert datasets.find(name) == loader.find() and callable(loader.load_data)


def test_the_idx_format_is_its_own_module():
    from fastnn.datasets import idx

    assert (datasets.read_idx, datasets.write_idx) == (idx.read_idx, idx.write_idx)
    assert (datasets.IMAGES_MAGIC, datasets.LABELS_MAGIC) == (2051, 2049)


# ---------------------------------------------------------------------------------------------------
# IDX reader and writer


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([0, 9, 3], dtype=np.uint8),
    np.zeros((0, 28, 28), dtype=np.uint8),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
    np.array([-5, 70000], dtype=">i4"),
])
def test_idx_round_trip(tmp_path, suffix, array):
    path = tmp_path / ("a.idx" + suffix)
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_mnist_layout(tmp_path):
    images, labels = tmp_path / "i", tmp_path / "l"
    write_idx(images, np.ones((2, 28, 28), np.uint8))
    write_idx(labels, np.ones(2, np.uint8))
    assert images.read_bytes()[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert labels.read_bytes()[:8] == bytes.fromhex("00000801" "00000002")
    assert len(images.read_bytes()) == 16 + 2 * 28 * 28
    assert read_idx(images, magic=2051).shape == (2, 28, 28)


def test_gz_output_is_reproducible(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "1.gz", a)
    write_idx(tmp_path / "2.gz", a)
    assert (tmp_path / "1.gz").read_bytes() == (tmp_path / "2.gz").read_bytes()


@pytest.mark.parametrize("array, fragment", [
    (np.zeros(3, np.int64), "dtype=int64"),
    (np.zeros(3, np.float16), "dtype=float16"),
    (np.uint8(3), "shape=()"),
])
def test_write_idx_rejects_what_idx_cannot_hold(tmp_path, array, fragment):
    with pytest.raises(ValueError, match="write_idx") as info:
        write_idx(tmp_path / "x", array)
    assert fragment in str(info.value)


def corrupt(path, data, gz):
    """Write `data` (bytes of a would-be IDX file) raw or gzipped; return the path."""
    path = Path(str(path) + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


GOOD = bytes.fromhex("00000803" "00000002" "00000002" "00000002") + bytes(range(8))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data, fragments", [
    (GOOD[:-1], ["truncated", "announces 8 data bytes", "(2, 2, 2)"]),
    (GOOD[:14], ["truncated header", "3 dims need 16 bytes", "received 14"]),
    (GOOD[:2], ["too short", "at least 4 bytes", "received 2"]),
    (GOOD + b"\x00", ["over-long", "announces 8 data bytes"]),
    (b"\x01\x02" + GOOD[2:], ["not an IDX file", "0x01020803"]),
    (bytes.fromhex("00000703") + GOOD[4:], ["unknown IDX type code", "0x07", "0x08 (uint8)"]),
    (bytes.fromhex("00000800") + GOOD[4:], ["0 dimensions", "at least 1"]),
    # a header announcing 4 GiB of pixels in a file of a few bytes: refused before allocating
    (bytes.fromhex("00000803" "00010000" "00010000" "00000100") + bytes(8), ["truncated or corrupt"]),
    # more dimensions than NumPy's arrays may have (1 each: a single value)
    (bytes.fromhex("00000828") + bytes.fromhex("00000001") * 40 + bytes(1), ["40 dimensions", "at most 32"]),
    # no data at all (a dimension of 0), in a shape too large for NumPy to index
    (bytes.fromhex("00000803" "00000000" "ffffffff" "ffffffff"), ["announces 0 data bytes", "NumPy refuses"]),
])
def test_read_idx_rejects_bad_files(tmp_path, gz, data, fragments):
    path = corrupt(tmp_path / "bad", data, gz)
    with pytest.raises(fastnn.CorruptFileError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_read_idx_checks_the_expected_magic(tmp_path):
    write_idx(tmp_path / "labels", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="wrong magic number") as info:
        read_idx(tmp_path / "labels", magic=2051)
    assert "expected 2051 = 0x00000803 (uint8, 3 dims)" in str(info.value)
    assert "Received: 2049 = 0x00000801 (uint8, 1 dim)" in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    good = gzip.compress(GOOD)
    not_gzip = corrupt(tmp_path / "plain", GOOD, gz=False).rename(tmp_path / "plain.gz")
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[:-6])  # stream ends before its trailer
    flipped = tmp_path / "flipped.gz"
    flipped.write_bytes(good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:])  # CRC no longer matches
    for path in (not_gzip, cut, flipped):
        with pytest.raises(ValueError, match="not valid gzip data") as info:
            read_idx(path)
        assert str(path) in str(info.value)


def test_read_idx_hints_at_gzip_without_gz_suffix(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(gzip.compress(GOOD))
    with pytest.raises(ValueError, match="name ending in .gz"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.gz")


# ---------------------------------------------------------------------------------------------------
# Finding local files


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_fastnn_data_subfolder(tmp_path, monkeypatch, gz):
    want = write_fake_set(tmp_path / "data" / "mnist", gz=gz)
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    assert datasets.find("mnist") == tmp_path / "data" / "mnist"
    assert_same_data(datasets.mnist.load_data(download=False), want)
    data, source = datasets.load("mnist", download=False, return_source=True)
    assert source == tmp_path / "data" / "mnist"
    assert_same_data(data, want)


def test_fastnn_data_may_be_the_dataset_folder_itself(tmp_path, monkeypatch):
    want = write_fake_set(tmp_path / "here")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "here"))
    data, source = datasets.load("fashion-mnist", download=False, return_source=True)
    assert source == tmp_path / "here"
    assert_same_data(data, want)


def test_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(datasets.fashion_mnist, "system_dir", "/usr/share/datasets/fashion-mnist")
    assert datasets.search_dirs("fashion_mnist") == [
        tmp_path / "data" / "fashion_mnist",
        tmp_path / "data",
        tmp_path / "cache" / "fastnn" / "fashion_mnist",
        Path("/usr/share/datasets/fashion-mnist"),
    ]
    assert datasets.search_dirs("mnist")[-1] == tmp_path / "cache" / "fastnn" / "mnist"
    assert datasets.search_dirs("mnist", path=tmp_path / "x") == [tmp_path / "x"]


def test_earlier_folder_wins_and_mixed_compression_is_fine(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "fastnn" / "mnist"
    write_fake_set(cache, n_train=3)
    want = write_fake_set(tmp_path / "data" / "mnist", n_train=5)
    (tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx(tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte", want[1][1])  # raw one
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    assert_same_data(datasets.mnist.load_data(download=False), want)


def test_incomplete_folder_is_skipped(tmp_path, monkeypatch):
    write_fake_set(tmp_path / "data" / "mnist")
    (tmp_path / "data" / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    want = write_fake_set(tmp_path / "cache" / "fastnn" / "mnist", n_train=2)
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    assert datasets.find("mnist") == tmp_path / "cache" / "fastnn" / "mnist"
    assert_same_data(datasets.mnist.load_data(download=False), want)


def test_not_found_offline_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("fashion_mnist", download=False)
    assert isinstance(info.value, DatasetNotFoundError)
    message = str(info.value)
    for place in datasets.search_dirs("fashion_mnist"):
        assert str(place) in message
    for fragment in ["download=False", "no such folder", "missing train-images-idx3-ubyte[.gz]",
                     "apt-get install dataset-fashion-mnist", "FASTNN_DATA", "download=True", "mnist_10k"]:
        assert fragment in message
    assert datasets.find("fashion_mnist") is None


def test_inconsistent_files_are_named(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    write_fake_set(directory)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))  # 6 images
    monkeypatch.setenv("FASTNN_DATA", str(directory))
    with pytest.raises(ValueError, match="holds 6 images but .*train-labels-idx1-ubyte.gz holds 5"):
        datasets.mnist.load_data(download=False)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.full(6, 10, np.uint8))
    with pytest.raises(ValueError, match="expected labels 0..9. Received: a label 10"):
        datasets.mnist.load_data(download=False)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(6, np.uint8))
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((6, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="28x28 pixels.*Received: dims \\(6, 32, 32\\)"):
        datasets.mnist.load_data(download=False)
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((6, 28 * 28), np.uint8))
    with pytest.raises(ValueError, match="wrong magic number"):
        datasets.mnist.load_data(download=False)


def test_unknown_name():
    with pytest.raises(ValueError, match="Received: name='cifar10'"):
        datasets.load("cifar10")


# ---------------------------------------------------------------------------------------------------
# Downloads (pooch.retrieve replaced: no network)


class FakeRetrieve:
    """Stands in for pooch.retrieve: records calls, fails for URLs under `dead`, else writes a file."""

    def __init__(self, arrays, dead=()):
        self.arrays = dict(zip([s + ".gz" for s in STEMS], arrays))
        self.dead = dead
        self.calls = []

    def __call__(self, url, known_hash, fname, path, progressbar=False):
        self.calls.append((url, known_hash, fname, Path(path)))
        if url.startswith(tuple(self.dead)):
            raise OSError(f"cannot reach {url}")
        Path(path).mkdir(parents=True, exist_ok=True)
        write_idx(Path(path) / fname, self.arrays[fname])
        return str(Path(path) / fname)


def flat(data):
    (xtr, ytr), (xte, yte) = data
    return [xtr, ytr, xte, yte]


def test_download_falls_through_to_the_second_mirror(tmp_path, monkeypatch):
    want = (fake_split(5, 2), fake_split(3, 3))
    first, second = datasets.mnist.mirrors
    fake = FakeRetrieve(flat(want), dead=[first])
    monkeypatch.setattr(pooch, "retrieve", fake)
    data, source = datasets.load("mnist", return_source=True)
    cache = tmp_path / "cache" / "fastnn" / "mnist"
    assert source == cache
    assert_same_data(data, want)
    # each file: the first mirror, then the second; into the cache, with the recorded checksum
    assert [c[0] for c in fake.calls] == [m + s + ".gz" for s in STEMS for m in (first, second)]
    assert all(c[3] == cache for c in fake.calls)
    assert [c[1] for c in fake.calls[1::2]] == [datasets.mnist.hashes[s + ".gz"] for s in STEMS]
    assert all(h.startswith("sha256:") for h in datasets.mnist.hashes.values())
    # the next load finds the cache and downloads nothing
    fake.calls.clear()
    assert_same_data(datasets.mnist.load_data(), want)
    assert fake.calls == []


def test_download_uses_the_first_mirror_when_it_works(monkeypatch):
    fake = FakeRetrieve(flat((fake_split(2, 0), fake_split(2, 1))))
    monkeypatch.setattr(pooch, "retrieve", fake)
    datasets.fashion_mnist.load_data()
    assert [c[0] for c in fake.calls] == [datasets.fashion_mnist.mirrors[0] + s + ".gz" for s in STEMS]


def test_download_into_path(tmp_path, monkeypatch):
    want = (fake_split(2, 0), fake_split(2, 1))
    fake = FakeRetrieve(flat(want))
    monkeypatch.setattr(pooch, "retrieve", fake)
    assert_same_data(datasets.mnist.load_data(path=tmp_path / "mine"), want)
    assert {c[3] for c in fake.calls} == {tmp_path / "mine"}


def test_every_mirror_failing_is_a_clear_error(tmp_path, monkeypatch):
    fake = FakeRetrieve([], dead=["http"])
    monkeypatch.setattr(pooch, "retrieve", fake)
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.fashion_mnist.load_data()
    message = str(info.value)
    assert "downloading train-images-idx3-ubyte.gz failed on every mirror" in message
    for mirror in datasets.fashion_mnist.mirrors:
        assert f"{mirror}train-images-idx3-ubyte.gz: OSError: cannot reach" in message
    assert str(tmp_path / "cache" / "fastnn" / "fashion_mnist") in message
    assert "check the internet connection" in message
    assert len(fake.calls) == len(datasets.fashion_mnist.mirrors)  # stops at the first file


def test_download_false_never_calls_pooch(monkeypatch):
    fake = FakeRetrieve([])
    monkeypatch.setattr(pooch, "retrieve", fake)
    with pytest.raises(DatasetNotFoundError):
        datasets.mnist.load_data(download=False)
    assert fake.calls == []


# ---------------------------------------------------------------------------------------------------
# The embedded set


def test_mnist_10k_embedded():
    (x_train, y_train), (x_test, y_test) = datasets.mnist_10k.load_data()
    assert x_train.shape == (8000, 28, 28) and y_train.shape == (8000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert len(counts) == 10
    np.testing.assert_array_equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
    assert np.bincount(y_test, minlength=10).min() > 150  # every class in the test split
    assert x_train.max() == 255 and x_train.min() == 0
    assert 20 < x_train.mean() < 50  # mostly background, as MNIST is (mean ~33)


def test_mnist_10k_names_and_source():
    data, source = datasets.load("mnist-10k", return_source=True, download=False)
    assert source == datasets.mnist_10k.directory == datasets.find("mnist_10k")
    assert (source / "README.md").is_file()
    assert data[0][0].shape == (8000, 28, 28)
    with pytest.raises(ValueError, match="ships inside fastnn"):
        datasets.load("mnist_10k", path="/tmp")


def test_mnist_10k_refuses_modified_files(tmp_path, monkeypatch):
    copy = tmp_path / "mnist-10k"
    copy.mkdir()
    for fname in datasets.mnist_10k.hashes:
        (copy / fname).write_bytes((datasets.mnist_10k.directory / fname).read_bytes())
    monkeypatch.setattr(datasets.mnist_10k, "directory", copy)
    assert datasets.mnist_10k.load_data()[1][0].shape == (2000, 28, 28)
    write_idx(copy / "labels-idx1-ubyte.gz", np.zeros(10000, np.uint8))
    with pytest.raises(ValueError, match="labels-idx1-ubyte.gz was modified or corrupted"):
        datasets.mnist_10k.load_data()
    (copy / "labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="reinstall fastnn"):
        datasets.mnist_10k.load_data()


# ---------------------------------------------------------------------------------------------------
# The real Fashion-MNIST from Debian's package, where installed


@pytest.mark.skipif(not FASHION_DEBIAN.is_dir(), reason="needs apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_debian(monkeypatch):
    monkeypatch.setattr(datasets.fashion_mnist, "system_dir", FASHION_DEBIAN)
    data, source = datasets.load("fashion_mnist", download=False, return_source=True)
    assert source == FASHION_DEBIAN
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
