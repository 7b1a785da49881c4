"""The backend registry: (op, backend) -> function.

Backends: "numpy" (the reference, always there), "numba" and "cython" (compiled, present when they
import), and "auto" (the default), which picks per op the backend measured fastest on this kind of
machine among those available. Layers and optimizers look their kernels up once, when they are built;
nothing here runs per batch.
"""
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from . import reference

# Every op, in the order of reference.FAMILIES. A compiled backend provides the same names and signatures.
OPS = (
    "activation_forward", "activation_backward",
    "dense_forward", "dense_backward",
    "softmax_forward", "softmax_backward", "softmax_ce", "sparse_softmax_ce",
    "mse", "sigmoid_bce", "binary_ce_probs", "categorical_ce_probs",
    "conv2d_forward", "conv2d_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "batchnorm_forward", "batchnorm_backward",
    "dropout_forward", "dropout_backward",
    "sgd_step", "adagrad_step", "rmsprop_step", "adam_step",
)
COMPILED = ("cython", "numba")
BACKENDS = ("numpy",) + COMPILED
# "auto" tries these in order for each op: Cython first, as it needs no JIT warm-up (and Numba only once its
# kernel is compiled: auto_choice). AUTO_OVERRIDES holds the ops where Numba measured at least 10% faster at
# both 1 and 2 threads on a 2-core x86-64 machine (AMD EPYC, AVX2), float32 at the MNIST models' shapes, the
# op's LeNet-5 shapes added up. Medians in us, numba vs cython, 1 thread / 2 threads, from
#   pytest benches/bench_backends.py benches/bench_activations.py --benchmark-only  (and FASTNN_NUM_THREADS=1),
# three runs of each for the conv2d and maxpool2d rows (session 6, after Cython's GEMM microkernel):
#   conv2d_forward conv1 + conv2 903/631 vs 1129/767 (conv1 456/321 vs 706/406; conv2 split, 447/310 vs 423/361)
#   maxpool2d_backward 64x28x28x6 276/177 vs 338/204
#   batchnorm_forward 50176x32 1095/485 vs 1424/558
#   activation_forward sigmoid 64x24x24x6 166/113 vs 311/192; activation_backward tanh 51/39 vs 101/83
#   dropout_backward 64x256 2.9/2.6 vs 5.3/5.4
# The rest stay with Cython: ties or split verdicts (conv2d_backward conv1 + conv2 2645/1095 vs 1859/1362,
# dense, adam, batchnorm_backward 1640/695 vs 1538/671) and Cython wins (maxpool2d_forward 581/344 vs
# 330/205, sparse_softmax_ce 6.6/6.3 vs 4.5/4.6). README, Performance, has the whole table; this machine moves
# an op by up to 2x between runs, so a verdict near the 10% line can flip in another run.
AUTO_ORDER = ("cython", "numba", "numpy")
_NUMBA_FIRST = ("numba", "cython", "numpy")
AUTO_OVERRIDES = {op: _NUMBA_FIRST for op in (
    "conv2d_forward", "maxpool2d_backward", "batchnorm_forward", "activation_forward", "activation_backward",
    "dropout_backward")}


class BackendUnavailableError(RuntimeError):
    """Raised when a backend is asked for that did not load on this machine; the message says why."""


_tables = {"numpy": None}   # backend -> {op: function}; filled lazily
_errors = {}                # backend -> why it failed to load
_current = None
_num_threads = None
_blas_from_env = False      # $FASTNN_NUM_THREADS applied to BLAS (_blas_threads_from_env)


def _blas_threads_from_env():
    """$FASTNN_NUM_THREADS=n limits BLAS to n threads as set_num_threads(n) does, once, when the first backend
    loads. Without the variable BLAS keeps its own setting (all cores, or the user's OPENBLAS_NUM_THREADS):
    before this, FASTNN_NUM_THREADS=1 ran the dense layers' GEMMs on every core."""
    global _blas_from_env
    if _blas_from_env or _num_threads is not None or not os.environ.get("FASTNN_NUM_THREADS"):
        return
    _blas_from_env = True
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=get_num_threads(), user_api="blas")


def _kernels_package():
    """Import fastnn._kernels: installed by setup.py from kernels/, or found beside a source checkout."""
    try:
        return importlib.import_module("fastnn._kernels")
    except ModuleNotFoundError as exc:
        if exc.name != "fastnn._kernels":
            raise
    src = Path(__file__).resolve().parent.parent / "kernels"
    spec = importlib.util.spec_from_file_location(
        "fastnn._kernels", src / "__init__.py", submodule_search_locations=[str(src)])
    if spec is None or not (src / "__init__.py").exists():
        raise ModuleNotFoundError("fastnn._kernels is not installed and no kernels/ source folder was found")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastnn._kernels"] = module
    spec.loader.exec_module(module)
    return module


def _load(name):
    """The op table of a backend, importing it on first use; None (with _errors[name] set) if it fails."""
    if name in _tables and _tables[name] is not None:
        return _tables[name]
    _blas_threads_from_env()
    if name in _errors:
        return None
    families = [f.__name__.rsplit(".", 1)[1] for f in reference.FAMILIES]
    if name == "numpy":
        modules = reference.FAMILIES
    else:
        try:
            _kernels_package()
            package = importlib.import_module(f"fastnn._kernels.{name}")
            modules = []
            for fam in families:
                try:
                    modules.append(importlib.import_module(f"fastnn._kernels.{name}.{fam}"))
                except ModuleNotFoundError as exc:   # a family not written (or built) yet: its ops are missing
                    if exc.name != f"fastnn._kernels.{name}.{fam}":
                        raise
            if not modules:
                raise ImportError(f"no kernel modules found in fastnn._kernels.{name}")
        except Exception as exc:  # a compiled backend that fails to import is simply absent
            _errors[name] = f"{type(exc).__name__}: {exc}"
            return None
        if hasattr(package, "set_num_threads"):
            package.set_num_threads(get_num_threads())
    table = {}
    for module in modules:
        for op in OPS:
            if hasattr(module, op):
                table[op] = getattr(module, op)
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


def auto_choice(op):
    """The backend that "auto" uses for op. Where Numba is the faster one but its kernel for op is not compiled
    yet (nothing in its cache: a fresh install), Cython runs op instead, when it has it: compiling LeNet-5's
    conv and pooling kernels takes about a minute, which pays for itself only after hundreds of epochs of
    the digits. `python -m fastnn warmup` compiles them for later processes."""
    order = AUTO_OVERRIDES.get(op, AUTO_ORDER)
    for name in order:
        table = _load(name)
        if table is None or op not in table:
            continue
        if name == "numba" and not numba_compiled(op) and op in (_load("cython") or {}):
            continue
        return name
    return "numpy"


_compiled = set()   # ops whose Numba kernel was found compiled: it stays so for the process


def numba_compiled(op):
    """Whether Numba's kernel for op runs without compiling first (built in this process or cached on disk
    for this machine; fastnn._kernels.numba.compiled)."""
    if op not in _compiled:
        table = _load("numba")
        if table is None or op not in table:
            return False
        if not sys.modules["fastnn._kernels.numba"].compiled(table[op]):
            return False
        _compiled.add(op)
    return True


def kernel(op, backend=None):
    """The function implementing op in backend (default: the selected one). Call once, at build time."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    name = backend or get_backend()
    _check_name(name)
    if name == "auto":
        name = auto_choice(op)
    table = _load(name)
    if table is None:
        raise BackendUnavailableError(f"backend {name!r} is not available on this machine: {_errors[name]}")
    if op not in table:
        raise BackendUnavailableError(f"backend {name!r} does not implement {op!r}")
    return table[op]


def backend_report():
    """Which backend serves each op under the current selection, and why any backend is missing."""
    selected = get_backend()
    lines = [f"selected backend: {selected}"]
    for name in BACKENDS:
        ok = _load(name) is not None
        state = "available" if ok else "unavailable: " + _errors.get(name, "")
        borrowed = getattr(sys.modules.get(f"fastnn._kernels.{name}"), "BORROWED_FROM", None) if ok else None
        if borrowed:
            state += f" (this checkout's kernels are not compiled: the installed build in {borrowed})"
        lines.append(f"  {name:7s} {state}")
    for op in OPS:
        name = auto_choice(op) if selected == "auto" else selected
        missing = "" if op in (_load(name) or {}) else "  (missing!)"
        if selected == "auto" and name != "numba" and AUTO_OVERRIDES.get(op, AUTO_ORDER)[0] == "numba" \
                and op in (_load("numba") or {}):
            missing += "  (numba once compiled: python -m fastnn warmup)"
        lines.append(f"  {op:22s} -> {name}{missing}")
    from . import _threads

    lines.append(f"threads: {get_num_threads()}; idle thread pools: " + "; ".join(_threads.report()))
    return "\n".join(lines)


def set_num_threads(n):
    """Threads for every backend: Numba's and OpenMP's thread pools, and BLAS (through threadpoolctl)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int. Received: n={n!r}")
    _num_threads = n
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    for name in COMPILED:
        table = _tables.get(name)
        if table is not None:
            package = sys.modules.get(f"fastnn._kernels.{name}")
            if package is not None and hasattr(package, "set_num_threads"):
                package.set_num_threads(n)


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
