"""The backend registry: (op, backend) -> function, built from the op table kernels/ops.py.

Backends: "numpy" (the reference, always there), "numba" and "cython" (compiled, present when they
import), and "auto" (the default), which picks per op and dtype among the available backends by the
measurements in kernels/auto.json (benches/tools/auto_table.py writes it and names the machine).
Layers and optimizers look their kernels up once, when they are built; nothing here runs per batch.
"""
import contextlib
import importlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from .kernels import isa as _isa
from .kernels import ops as _ops

OPS = _ops.OPS
COMPILED = tuple(name for name in _ops.MODULES if name in _ops.RUNTIMES)
BACKENDS = ("numpy",) + COMPILED
# "auto" takes the first of these that has the op, unless a later one measured at least AUTO_MARGIN faster at
# every thread count in the auto table. Ahead-of-time Cython comes first: it has nothing to compile before
# the first step, where a Numba kernel compiles for seconds (LeNet-5's: about a minute, cached after).
AUTO_ORDER = ("cython", "numba", "numpy")
AUTO_MARGIN = 0.10
AUTO_TABLE = Path(_ops.__file__).with_name("auto.json")


class BackendUnavailableError(RuntimeError):
    """Raised when a backend is asked for that did not load on this machine; the message says why."""


_tables = {}        # backend -> {op: function}; filled lazily
_errors = {}        # backend -> why it failed to load
_current = None
_num_threads = None
_blas_from_env = False      # $FASTNN_NUM_THREADS applied to BLAS (_blas_threads_from_env)


def _blas_threads_from_env():
    """$FASTNN_NUM_THREADS=n limits BLAS to n threads as set_num_threads(n) does, once, when the first backend
    loads. Without the variable BLAS keeps its own setting (all cores, or the user's OPENBLAS_NUM_THREADS)."""
    global _blas_from_env
    if _blas_from_env or _num_threads is not None or not os.environ.get("FASTNN_NUM_THREADS"):
        return
    _blas_from_env = True
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=get_num_threads(), user_api="blas")


def _runtime(name):
    """The shared runtime package of a compiled backend (fastnn.kernels._numba or ._cython)."""
    return importlib.import_module(f"fastnn.kernels.{_ops.RUNTIMES[name]}")


def _load(name):
    """The op table of a backend, importing it on first use; None (with _errors[name] set) if it fails.

    Every family folder of kernels/ops.py is imported as fastnn.kernels.<family>.<module>; a family whose
    compiled module is missing (not built) leaves its ops out of that backend's table."""
    if name in _tables:
        return _tables[name]
    _blas_threads_from_env()
    if name in _errors:
        return None
    _isa.requested()   # a misspelt $FASTNN_ISA is an error, not an unavailable backend
    table = {}
    try:
        runtime = _runtime(name) if name in _ops.RUNTIMES else None
        # the runtime may name another module of each family folder: the Cython ISA variant it loads
        module_name = getattr(runtime, "MODULE", _ops.MODULES[name])
        for family, family_ops in _ops.FAMILIES.items():
            qualified = f"fastnn.kernels.{family}.{module_name}"
            try:
                module = importlib.import_module(qualified)
            except ModuleNotFoundError as exc:
                if exc.name != qualified or name == "numpy":
                    raise
                continue
            table.update({op: getattr(module, op) for op in family_ops if hasattr(module, op)})
        if not table:
            raise ImportError(f"no kernel modules found for backend {name!r}")
    except Exception as exc:  # a compiled backend that fails to import is simply absent
        if name == "numpy":
            raise
        _errors[name] = f"{type(exc).__name__}: {exc}"
        return None
    if runtime is not None:
        runtime.set_num_threads(get_num_threads())
    _tables[name] = table
    return table


def available_backends():
    """The backends that load on this machine, e.g. ["numpy", "numba", "cython"]."""
    return [name for name in BACKENDS if _load(name) is not None]


def unavailable_reason(name):
    """Why a backend did not load (None if it did)."""
    _check_name(name, allow_auto=False)
    _load(name)
    return _errors.get(name)


def _check_name(name, allow_auto=True):
    names = BACKENDS + (("auto",) if allow_auto else ())
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"backend must be one of {list(names)}. Received: backend={name!r}")


def set_backend(name):
    """Select the backend for models built or compiled from now on: "auto", "numpy", "numba" or "cython".

    Raises BackendUnavailableError (no silent fallback) when the named backend did not load.
    """
    global _current
    _check_name(name)
    if name != "auto" and _load(name) is None:
        raise BackendUnavailableError(f"backend {name!r} is not available on this machine: {_errors[name]}")
    _current = name


def get_backend():
    """The selected backend name; the default is $FASTNN_BACKEND, else "auto"."""
    if _current is None:
        set_backend(os.environ.get("FASTNN_BACKEND", "auto") or "auto")
    return _current


_auto_table = None


def load_auto_table(path=None):
    """The auto table (kernels/auto.json): {"machine", "command", "threads", "cases"}; {} when absent."""
    try:
        with open(path or AUTO_TABLE) as f:
            table = json.load(f)
    except FileNotFoundError:
        return {}
    if not isinstance(table, dict) or not isinstance(table.get("cases"), dict):
        raise ValueError(f"{path or AUTO_TABLE} is not an auto table (benches/tools/auto_table.py writes one)")
    return table


def reload_auto_table():
    global _auto_table
    _auto_table = load_auto_table()


def _auto():
    """The auto table, read on first use."""
    if _auto_table is None:
        reload_auto_table()
    return _auto_table


def _measured(table, op, dtype):
    """{backend: {threads: microseconds}} for op in dtype, summed over the op's cases in the table."""
    totals = {}
    for case in table.get("cases", {}).values():
        if case.get("op") == op and case.get("dtype") == dtype:
            for name, by_threads in case["us"].items():
                for threads, us in by_threads.items():
                    totals.setdefault(name, {}).setdefault(threads, 0.0)
                    totals[name][threads] += us
    return totals


def choose(op, dtype, tables, table):
    """(backend, why) that "auto" runs op on: a pure function of the op, the dtype name, the op tables of the
    available backends ({name: {op: fn}}) and the auto table."""
    candidates = [name for name in AUTO_ORDER if op in (tables.get(name) or {})]
    if not candidates:
        raise BackendUnavailableError(f"no available backend implements {op!r}")
    first = candidates[0]
    measured = _measured(table, op, dtype)
    for name in candidates[1:]:
        ours, theirs = measured.get(name), measured.get(first)
        if ours and theirs and ours.keys() == theirs.keys() and all(
                ours[t] <= (1 - AUTO_MARGIN) * theirs[t] for t in theirs):
            ratios = ", ".join(f"{theirs[t] / ours[t]:.2f}x at {t} thr" for t in sorted(theirs, key=int))
            return name, f"faster than {first}: {ratios}"
    if len(candidates) == 1:
        return first, "the only backend with this op"
    if measured.get(first):
        return first, f"first in {'/'.join(AUTO_ORDER)}; no other backend {AUTO_MARGIN:.0%} faster at every thread count"
    return first, f"first in {'/'.join(AUTO_ORDER)}; not measured for {dtype}"


def auto_choice(op, dtype="float32"):
    """The backend that "auto" uses for op on arrays of dtype (choose() on this machine's backends)."""
    tables = {name: _load(name) for name in BACKENDS}
    return choose(op, _dtype_name(dtype), tables, _auto())[0]


def _dtype_name(dtype):
    return np.dtype(dtype).name


def numba_compiled(op):
    """Whether Numba's float32 kernel for op runs without compiling first (built in this process or cached on
    disk for this machine): the CLI says when a first epoch will compile. It never changes what runs."""
    table = _load("numba")
    return table is not None and op in table and _runtime("numba").compiled(table[op])


def kernel(op, backend=None, dtype="float32"):
    """The function implementing op in backend (default: the selected one) for arrays of dtype (which only
    "auto" looks at). Call once, at build time."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    name = backend or get_backend()
    _check_name(name)
    if name == "auto":
        name = auto_choice(op, dtype)
    table = _load(name)
    if table is None:
        raise BackendUnavailableError(f"backend {name!r} is not available on this machine: {_errors[name]}")
    if op not in table:
        raise BackendUnavailableError(f"backend {name!r} does not implement {op!r}")
    return table[op]


def backend_report(dtype="float32"):
    """Which backend serves each op (for dtype) under the current selection and why; why any backend is
    missing; where the auto table was measured; the threads."""
    selected = get_backend()
    lines = [f"selected backend: {selected}"]
    for name in BACKENDS:
        ok = _load(name) is not None
        status = f"available{_isa_note(name)}" if ok else "unavailable: " + _errors.get(name, "")
        lines.append(f"  {name:7s} {status}")
    if selected == "auto":
        m = _auto().get("machine")
        lines.append(f"auto table: {AUTO_TABLE.name}, " + (
            f"measured {m.get('date')} on {m.get('cpu')} ({m.get('isa')}, {m.get('cores')} cores) by "
            f"`{_auto().get('command')}`" if m else "absent: the default order serves every op"))
    tables = {name: _load(name) for name in BACKENDS}
    for op in OPS:
        if selected == "auto":
            name, why = choose(op, _dtype_name(dtype), tables, _auto())
        else:
            name, why = selected, "selected" if op in (tables.get(selected) or {}) else "missing!"
        lines.append(f"  {op:22s} -> {name:7s} {why}")
    lines += _pool_report()
    return "\n".join(lines)


def _pool_report():
    """The threads, the pool that runs them, and what might share the cores with it."""
    lines = [f"threads: {get_num_threads()}, in one OpenMP pool: every parallel loop of the Cython kernels and, "
             "through Numba's omp threading layer, of the Numba kernels; BLAS is not called by either "
             "backend's kernels (the numpy backend's matrix products use it)"]
    if _tables.get("numba") is not None:
        layer = _runtime("numba").threading_layer()
        lines.append("numba threading layer: " + (layer if layer else "not started (no parallel loop has run yet)")
                     + ("" if layer in (None, "omp") else ": a second pool beside OpenMP's (install libgomp)"))
    policy = os.environ.get("OMP_WAIT_POLICY")
    if policy:
        lines.append(f"OMP_WAIT_POLICY={policy} (set in the environment): idle OpenMP threads "
                     + ("sleep at once, so each parallel loop wakes them (slower on small models)"
                        if policy.upper() == "PASSIVE" else "spin between loops"))
    return lines


def _isa_note(name):
    """", <the instruction-set variant it runs>" for a compiled backend (kernels/isa.py), else ""."""
    if name not in _ops.RUNTIMES:
        return ""
    runtime = _runtime(name)
    forced = " (forced by $FASTNN_ISA)" if _isa.requested() else ""
    if name == "cython":
        return (f", {runtime.ISA} kernels ({runtime.MODULE}, built for {_isa.LEVEL[runtime.ISA]}){forced}; "
                f"this CPU runs: {', '.join(runtime.RUNNABLE)}")
    return f", compiles for {runtime.CPU_NAME} ({runtime.ISA}){forced}"


_blas_hold = {"count": 0, "limit": None, "lock": threading.Lock()}   # fits running now, and their limit


@contextlib.contextmanager
def blas_held():
    """During fit: BLAS held to one thread (threadpoolctl; the setting is the process's), so that nothing but
    the kernels' OpenMP pool runs threads beside the training step, whatever a callback or another library
    calls. The compiled kernels do not call BLAS at all; under the numpy backend, whose matrix products are
    BLAS's, nothing is held. Fits in several Python threads share one hold: the first sets it, the last
    restores BLAS's thread count as it was before the first."""
    if get_backend() == "numpy" or not any(_load(name) is not None for name in COMPILED):
        yield
        return
    with _blas_hold["lock"]:
        if _blas_hold["count"] == 0:
            _blas_hold["limit"] = _controller().limit(limits=1, user_api="blas")
        _blas_hold["count"] += 1
    try:
        yield
    finally:
        with _blas_hold["lock"]:
            _blas_hold["count"] -= 1
            if _blas_hold["count"] == 0:
                _blas_hold["limit"].restore_original_limits()


def _controller():
    """threadpoolctl's controller of the process's native thread pools. Finding them walks the loaded
    libraries, which cost about 0.5 ms a fit; threadpoolctl 3.8 keeps its controller and looks again only
    after an import (a BLAS loaded through ctypes alone, without an import, is not seen until then).
    Older threadpoolctl: a new controller each fit."""
    try:
        from threadpoolctl import get_cached_controller
    except ImportError:
        from threadpoolctl import ThreadpoolController as get_cached_controller
    return get_cached_controller()


def set_num_threads(n):
    """Threads for every backend: Numba's and OpenMP's thread pools, and BLAS (through threadpoolctl)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int. Received: n={n!r}")
    _num_threads = n
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    for name in COMPILED:
        if _tables.get(name) is not None:
            _runtime(name).set_num_threads(n)


def get_num_threads():
    """The thread count set by set_num_threads; by default $FASTNN_NUM_THREADS, else every core."""
    if _num_threads is None:
        env = os.environ.get("FASTNN_NUM_THREADS")
        if not env:
            return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if not env.strip().isdigit() or int(env) < 1:
            raise ValueError(f"FASTNN_NUM_THREADS must be a positive integer. Received: {env!r}")
        return int(env)
    return _num_threads


def clear_session():
    """keras.backend.clear_session's counterpart: frees the calling thread's kernel scratch memory (it is
    allocated again by the next call that needs it). Models keep working; fastnn keeps no other global
    graph or name state to reset (layer names are unique per model)."""
    from .kernels import _scratch

    _scratch.clear()
