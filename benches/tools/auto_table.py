"""Measure each op on every compiled backend and write kernels/auto.json, the table that backend "auto" reads.

    python benches/tools/auto_table.py                     # float32, at 1 thread and at every core
    python benches/tools/auto_table.py --dtype float32 --dtype float64 --turns 9

The cases are the ops of the MNIST models at batch 64 (CASES of benches/suites/bench_backends.py). Every
kernel is compiled and checked against the reference before it is timed; then the backends take turns, a
few calls each, and the median of the turns is kept. The file names the machine, the versions and this
command; fastnn.backend applies its rule (docs/design.md, "auto") to these figures and holds none itself.
Run it on a quiet machine: the verdicts are ratios of medians, and a busy core moves them.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn import backend
from fastnn.testing import assert_close, copy_args

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches" / "suites"))
from bench_backends import CASES  # noqa: E402


def machine():
    """What the figures were measured on: CPU model and vector extensions, cores, versions."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
    except OSError:
        pass
    isa = next((name for name in ("avx512f", "avx2", "asimd", "sse2") if name in flags), "unknown")
    import numba

    try:
        import Cython
        cython_version = Cython.__version__
    except ImportError:
        cython_version = None
    return {"cpu": model, "isa": isa, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "system": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "cython": cython_version,
            "fastnn": fastnn.__version__, "date": datetime.date.today().isoformat()}


def as_dtype(args, dtype):
    """The case's arguments with every float array in dtype."""
    return [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]


def checked_kernel(op, name, args):
    """name's kernel for op, compiled (called once) and checked against the reference on copies of args."""
    fn = backend.kernel(op, name)
    expected, actual = copy_args(args), copy_args(args)
    backend.kernel(op, "numpy")(*expected)
    fn(*actual)
    for i, (a, e) in enumerate(zip(actual, expected)):
        if isinstance(e, np.ndarray) and e.dtype.kind == "f":
            try:
                assert_close(a, e, e.dtype)
            except AssertionError as exc:
                raise AssertionError(f"{op} ({name}) argument {i} differs from the reference") from exc
    return fn


def in_turns(calls, turns, per_turn):
    """{name: median microseconds per call}, the backends alternating."""
    times = {name: [] for name in calls}
    for _ in range(turns):
        for name, call in calls.items():
            t0 = time.perf_counter()
            for _ in range(per_turn):
                call()
            times[name].append((time.perf_counter() - t0) / per_turn)
    return {name: round(float(np.median(t)) * 1e6, 2) for name, t in times.items()}


def measure(dtypes, thread_counts, turns, per_turn):
    compiled = [name for name in backend.COMPILED if name in backend.available_backends()]
    rng = np.random.default_rng(0)
    cases = {}
    for group, (op, make, _) in CASES.items():
        for dtype in dtypes:
            args = as_dtype(make(rng), dtype)
            calls = {name: (checked_kernel(op, name, args), copy_args(args)) for name in compiled}
            us = {name: {} for name in compiled}
            for n in thread_counts:
                backend.set_num_threads(n)
                for name, t in in_turns({name: (lambda f=f, a=a: f(*a)) for name, (f, a) in calls.items()},
                                        turns, per_turn).items():
                    us[name][str(n)] = t
            cases[f"{group} {dtype}"] = {"op": op, "dtype": dtype, "us": us}
            print(f"{group} {dtype}: " + "; ".join(f"{name} {us[name]}" for name in compiled), flush=True)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", action="append", choices=["float32", "float64"],
                        help="dtypes to measure (repeatable; default float32)")
    parser.add_argument("--turns", type=int, default=15, help="turns per case and thread count (default 15)")
    parser.add_argument("--calls", type=int, default=5, help="calls per backend per turn (default 5)")
    parser.add_argument("--out", default=str(ROOT / "kernels" / "auto.json"), help="where to write the table")
    args = parser.parse_args()
    cores = backend.get_num_threads()
    thread_counts = sorted({1, cores})
    table = {
        "command": " ".join(["python benches/tools/auto_table.py"] + sys.argv[1:]),
        "machine": machine(),
        "threads": thread_counts,
        "cases": measure(args.dtype or ["float32"], thread_counts, args.turns, args.calls),
    }
    with open(args.out, "w") as f:
        json.dump(table, f, indent=1, sort_keys=True)
        f.write("\n")
    backend.reload_auto_table()
    print(f"wrote {args.out}")
    print(backend.backend_report())


if __name__ == "__main__":
    main()
