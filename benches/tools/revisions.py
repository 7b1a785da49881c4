"""A kernel change measured against an earlier revision, in one process, the two taking turns.

    python benches/tools/revisions.py REV                  # Numba: LeNet-5's conv and pooling ops (and two of
                                                           # the Fashion CNN's convs), and epochs
    python benches/tools/revisions.py REV --cython         # also Cython's (builds REV's extensions first)
    FASTNN_NUM_THREADS=1 python benches/tools/revisions.py REV

REV's kernels/ is taken with `git archive` into a temporary folder and imported beside the kernels of the
fastnn that Python imports ("new": the installed one, or the checkout's with PYTHONPATH=. after
`python setup.py build_ext --inplace`); REV's Numba code compiles on first use there, a minute or so.
Each op runs old and new alternately, 3 calls
per turn, 15 turns; the epoch rows train two LeNet-5 models (batch 64, the 10,000 digits), one whose conv
and pooling layers call REV's kernels, an epoch each in turn, 5 rounds. Medians throughout: on a noisy
machine, only a difference measured this way is worth reporting.
"""
import argparse
import importlib
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn import backend
from fastnn.kernels.activations.reference import RELU

ROOT = Path(__file__).resolve().parents[2]
# LeNet-5's layers at batch 64, then the Fashion CNN's wider ones: (name, N, H, W, C, kernel, K, padding,
# first layer?)
CONVS = [("conv1", 64, 28, 28, 1, 5, 6, 2, True), ("conv2", 64, 14, 14, 6, 5, 16, 0, False),
         ("fashion 14x14x32->64", 64, 14, 14, 32, 3, 64, 1, False),
         ("fashion 7x7x64->64", 64, 7, 7, 64, 3, 64, 1, False)]
POOLS = [("pool1", 64, 28, 6), ("pool2", 64, 10, 16)]


def extract(rev, folder, cython):
    """REV's tree (kernels/ only, unless Cython must be built) under folder; the path of its kernels/."""
    paths = [] if cython else ["kernels"]
    archive = subprocess.run(["git", "archive", rev, *paths], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    if cython:
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=folder, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Path(folder) / "kernels"


def old_numba(kernels):
    """REV's Numba conv2d and pooling modules, imported from its kernels/ as the package `kernels`
    (REV must have the one-folder-per-op layout: kernels/<family>/numba.py)."""
    sys.path.insert(0, str(kernels.parent))
    sys.modules.pop("kernels", None)
    modules = {name: importlib.import_module(f"kernels.{name}.numba") for name in ("conv2d", "pooling")}
    sys.path.pop(0)
    return modules


def old_cython(kernels):
    """REV's compiled Cython conv2d and pooling, loaded beside the installed ones under the same names (their
    relative import of _openmp needs the package), without replacing them in sys.modules."""
    backend.kernel("conv2d_forward", "cython")
    modules = {}
    for name in ("conv2d", "pooling"):
        (path,) = kernels.glob(f"{name}/cython.*.so")
        loader = importlib.machinery.ExtensionFileLoader(f"fastnn.kernels.{name}.cython", str(path))
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
        loader.exec_module(module)
        modules[name] = module
    return modules


def in_turns(cases, turns=15, calls=3):
    """{label: median seconds per call}, the cases alternating."""
    times = {label: [] for label in cases}
    for _ in range(turns):
        for label, run in cases.items():
            run()
            t0 = time.perf_counter()
            for _ in range(calls):
                run()
            times[label].append((time.perf_counter() - t0) / calls)
    return {label: float(np.median(t)) for label, t in times.items()}


def conv_calls(conv, x, wt, b, out, dout, pad, first):
    """(forward, backward) of one conv2d module on this layer's arrays."""
    grads = (None if first else np.empty_like(x), np.empty_like(wt), np.empty_like(b))
    o, d = np.empty_like(out), dout.copy()
    return (lambda: conv.conv2d_forward(o, x, wt, b, 1, 1, pad, pad, RELU),
            lambda: conv.conv2d_backward(*grads, d, x, wt, out, 1, 1, pad, pad, RELU))


def pool_calls(pool, x, out, argmax, dout):
    """(forward, backward) of one pooling module on this layer's arrays."""
    o, a, dx = np.empty_like(out), np.empty_like(argmax), np.empty_like(x)
    return (lambda: pool.maxpool2d_forward(o, a, x, 2, 2, 2, 2, 0, 0),
            lambda: pool.maxpool2d_backward(dx, dout, argmax, 2, 2, 2, 2, 0, 0))


def op_cases(old, new):
    """{op label: {"old": call, "new": call}} for LeNet-5's conv and pooling layers (and two Fashion CNN convs)."""
    rng = np.random.default_rng(0)
    cases = {}
    for name, n, h, w, c, k, f, pad, first in CONVS:
        oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
        x = rng.normal(size=(n, h, w, c)).astype(np.float32)
        wt = (rng.normal(size=(k, k, c, f)) / np.sqrt(k * k * c)).astype(np.float32)
        b = np.full(f, 0.1, np.float32)
        out = np.empty((n, oh, ow, f), np.float32)
        new["conv2d"].conv2d_forward(out, x, wt, b, 1, 1, pad, pad, RELU)
        dout = rng.normal(size=out.shape).astype(np.float32)
        for which, mods in (("old", old), ("new", new)):
            fwd, bwd = conv_calls(mods["conv2d"], x, wt, b, out, dout, pad, first)
            cases.setdefault(f"conv2d_forward {name}", {})[which] = fwd
            cases.setdefault(f"conv2d_backward {name}", {})[which] = bwd
    for name, n, h, c in POOLS:
        x = rng.normal(size=(n, h, h, c)).astype(np.float32)
        out, argmax = np.empty((n, h // 2, h // 2, c), np.float32), np.empty((n, h // 2, h // 2, c), np.int32)
        new["pooling"].maxpool2d_forward(out, argmax, x, 2, 2, 2, 2, 0, 0)
        dout = rng.normal(size=out.shape).astype(np.float32)
        for which, mods in (("old", old), ("new", new)):
            fwd, bwd = pool_calls(mods["pooling"], x, out, argmax, dout)
            cases.setdefault(f"maxpool2d_forward {name}", {})[which] = fwd
            cases.setdefault(f"maxpool2d_backward {name}", {})[which] = bwd
    return cases


def report_ops(title, old, new):
    print(title)
    for label, pair in op_cases(old, new).items():
        t = in_turns({f"old {label}": pair["old"], f"new {label}": pair["new"]})
        before, after = t[f"old {label}"] * 1e6, t[f"new {label}"] * 1e6
        print(f"  {label:28s} {before:9,.0f} -> {after:9,.0f} us  ({after / before - 1:+.0%})")


def report_epochs(engine, old, rounds=5):
    """LeNet-5 epochs: the working tree's kernels against old's in the conv and pooling layers."""
    sys.path.insert(0, str(ROOT / "benches" / "suites"))
    from bench_training import digits, fastnn_model

    fastnn.set_backend(engine)
    x, y = digits()
    models = {}
    for which in ("old", "new"):
        model = fastnn_model("lenet")
        model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)   # compile, allocate, resolve
        if which == "old":
            for layer in model.layers:
                kind = type(layer).__name__
                if kind == "Conv2D":
                    layer._forward, layer._backward = old["conv2d"].conv2d_forward, old["conv2d"].conv2d_backward
                elif kind == "MaxPooling2D":
                    layer._forward = old["pooling"].maxpool2d_forward
                    layer._backward = old["pooling"].maxpool2d_backward
            model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
        models[which] = model
    t = in_turns({which: lambda m=m: m.fit(x, y, batch_size=64, epochs=1, verbose=0)
                  for which, m in models.items()}, turns=rounds, calls=1)
    print(f"  LeNet-5 epoch ({engine}): {len(x) / t['old']:,.0f} -> {len(x) / t['new']:,.0f} samples/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to compare the working tree's kernels with")
    parser.add_argument("--cython", action="store_true", help="also Cython's kernels (builds REV's extensions)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {fastnn.get_num_threads()} threads; old = {args.rev}, "
          f"new = the kernels of {Path(fastnn.__file__).parent}")
    with tempfile.TemporaryDirectory() as folder:
        kernels = extract(args.rev, folder, args.cython)
        new = {name: importlib.import_module(f"fastnn.kernels.{name}.numba") for name in ("conv2d", "pooling")}
        old = old_numba(kernels)
        report_ops("numba", old, new)
        report_epochs("numba", old)
        if args.cython:
            new_cy = {name: importlib.import_module(f"fastnn.kernels.{name}.cython")
                      for name in ("conv2d", "pooling")}
            report_ops("cython", old_cython(kernels), new_cy)
            report_epochs("cython", old_cython(kernels))


if __name__ == "__main__":
    main()
