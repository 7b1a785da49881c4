"""The sets kept as the four standard IDX files (`mnist`, `fashion_mnist`): where they are looked for,
the cache, and downloads with pooch (checksummed, written atomically, mirrors tried in order).

A folder counts when it holds all four files, `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each gzipped (`.gz`) or raw. The search order is in
the docstring of fastnn.datasets.

Legend: N images, H = W = 28 pixels.
"""
import os
from pathlib import Path

from .base import Dataset, DatasetNotFoundError, read_pair

SPLIT_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def cache_root():
    """$XDG_CACHE_HOME/fastnn when that is an absolute path, else ~/.cache/fastnn."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "fastnn"


class Downloadable(Dataset):
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
        """The folders searched, in order: [path] when given, else see fastnn.datasets' docstring."""
        if path is not None:
            return [Path(path)]
        dirs = []
        env = os.environ.get("FASTNN_DATA", "")
        if env:
            dirs += [Path(env) / self.name, Path(env)]
        dirs.append(cache_root() / self.name)
        if self.system_dir is not None:
            dirs.append(Path(self.system_dir))
        return dirs

    def _files_in(self, directory):
        """({split: path} of the files present, .gz preferred; [names of the files missing])."""
        files, missing = {}, []
        for split, stem in SPLIT_FILES.items():
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
        """(the data, the folder it was read from)."""
        directory = self.find(path)
        if directory is None:
            if not download:
                raise DatasetNotFoundError(self._not_found_message(path, "download=False", False))
            directory = self._download(path)
        files = self._files_in(directory)[0]
        train = read_pair(files["x_train"], files["y_train"])
        test = read_pair(files["x_test"], files["y_test"])
        return (train, test), directory

    def _target(self, path):
        """The folder downloads go to."""
        return Path(path) if path is not None else cache_root() / self.name

    def _download(self, path):
        """Fetch the four files into the cache (or `path`); return that folder."""
        # Imported here: pooch pulls in requests, slow to import and only needed for downloads.
        import pooch

        target = self._target(path)
        for stem in SPLIT_FILES.values():
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
        files = ", ".join(stem + "[.gz]" for stem in SPLIT_FILES.values())
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
