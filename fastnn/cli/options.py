"""Argument types and the runtime options (--backend, --threads) the commands share.

Each type raises argparse.ArgumentTypeError, so argparse exits with code 2 and the usage.
"""
import argparse
import os
from collections import Counter

import numpy as np

from .. import backend, models

DATASETS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "mnist_10k": "mnist-10k"}   # name -> shown


def _number(parse, ok, expected):
    """An argparse type: text -> parse(text), which must satisfy ok; else "expected ... Received: ..."."""
    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}. Received: {text!r}")
        return value
    convert.__name__ = expected
    return convert


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
natural = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, lambda v: bool(np.isfinite(v)) and v > 0, "a positive number")
fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
port = _number(int, lambda v: 0 <= v <= 65535, "a port number in 0..65535 (0: any free port)")


def dataset(text):
    key = text.lower().replace("-", "_")
    if key not in DATASETS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DATASETS.values())}. Received: {text!r}")
    return key


def model_choice(text):
    """A recipe name, or the path of an existing JSON spec (a Python file is refused: it would be run)."""
    if text in models.RECIPES:
        return text
    ext = os.path.splitext(text)[1].lower()
    if ext == ".py":
        raise argparse.ArgumentTypeError(f"expected a recipe name or a JSON model spec. Received: the Python file "
                                         f"{text!r} (model files are never executed; describe the layers in JSON)")
    if ext != ".json":
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(models.RECIPES)} or a path ending in .json. "
                                         f"Received: {text!r}")
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such model spec file: {text!r}")
    return text


def add_runtime(p):
    p.add_argument("--backend", choices=("auto",) + backend.BACKENDS, default="auto",
                   help="kernels to use (default auto: per op, the fastest available here)")
    p.add_argument("--threads", type=positive_int, help="threads for the kernels and BLAS (default: every core)")


def setup_runtime(args):
    backend.set_backend(args.backend)
    if args.threads is not None:
        backend.set_num_threads(args.threads)


def backend_line():
    """"Backend: ...; threads: ..." as training uses them, with a note when Numba will compile first."""
    selected = backend.get_backend()
    chosen = {op: backend.auto_choice(op) if selected == "auto" else selected for op in backend.OPS}
    name = selected
    if selected == "auto":
        counts = Counter(chosen.values())
        name += " (" + ", ".join(f"{b} for {n} ops" for b, n in counts.most_common()) + ")"
    line = f"Backend: {name}; threads: {backend.get_num_threads()}"
    if any(b == "numba" and not backend.numba_compiled(op) for op, b in chosen.items()):
        # about a minute of CPU for LeNet-5's conv and pooling kernels, the first time only
        line += ("\n      (Numba compiles its kernels during the first epoch and caches them for later runs; "
                 "`fastnn warmup` does it ahead)")
    return line


# -- output paths, checked before any work, so that a typo does not throw a trained model away ---------------
def check_output_file(path, option):
    """`path` can be saved to: not a folder; its folder exists (or is made) and is writable."""
    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise ValueError(f"{option} expects the path of a file. Received: {str(path)!r}, a folder")
    _writable_folder(os.path.dirname(target), option, path)


def check_output_folder(path, option):
    """`path` is a folder that exists (or is made) and is writable."""
    target = os.path.abspath(path)
    if os.path.exists(target) and not os.path.isdir(target):
        raise ValueError(f"{option} expects a folder. Received: {str(path)!r}, a file")
    _writable_folder(target, option, path)


def _writable_folder(folder, option, given):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{option}: cannot make the folder {folder!r} for {str(given)!r}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise OSError(f"{option}: the folder {folder!r} is not writable")
