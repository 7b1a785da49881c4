"""The Numba backend's shared runtime: its thread count, the CPU it compiles for, and whether a kernel is
compiled yet (options: config.py)."""
import os

import numba

from .. import isa as _isa

# Numba's threading layer: OpenMP first. The Cython kernels run on libgomp, and Numba's "omp" layer runs on
# an OpenMP runtime too (tbb, tried first by default, would add another pool); both omp and tbb are
# thread-safe, so several Python threads can run parallel kernels at once (predict from a server's threads),
# which the workqueue layer, the last resort, is not. NUMBA_THREADING_LAYER(_PRIORITY), when set, wins.
if not {"NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY"} & set(os.environ):
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]

# what each variant of kernels/isa.py needs of the CPU, in LLVM's feature names
_NEEDS = {"avx512": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx2", "fma"),
          "avx2": ("avx2", "fma", "bmi2"), "baseline": ()}


def _isa_of(features):
    """The best variant of kernels/isa.py that code compiled with these LLVM features ({name: bool}) uses."""
    import llvmlite.binding as ll

    x86 = ll.get_process_triple().startswith(("x86_64", "amd64"))
    return next(isa for isa in _isa.ISAS if isa == "baseline" or (x86 and all(features.get(f) for f in _NEEDS[isa])))


def _target():
    """Point Numba at $FASTNN_ISA's variant when it is set. Returns (variant, LLVM CPU name). By default Numba
    compiles for the host CPU, or for what NUMBA_CPU_NAME and NUMBA_CPU_FEATURES say (a portable cache sets
    them: the variant is then read from those features). Numba reads these options when it makes its
    compiler, on the first compilation in the process; if that happened before fastnn loaded, a forced
    variant cannot take effect."""
    import llvmlite.binding as ll
    from numba.core.registry import cpu_target

    if numba.config.CPU_FEATURES is not None:   # the user's NUMBA_CPU_FEATURES ("" for NUMBA_CPU_NAME=generic)
        features = {f[1:]: f[0] == "+" for f in numba.config.CPU_FEATURES.split(",") if f[:1] in "+-" and f[1:]}
    else:
        features = ll.get_host_cpu_features()
    target = _isa_of(features)
    forced = _isa.requested()
    if forced is None:
        return target, numba.config.CPU_NAME or ll.get_host_cpu_name()
    _isa.pick(_isa.ISAS[_isa.ISAS.index(_isa_of(ll.get_host_cpu_features())):])   # ImportError: CPU lacks it
    if "_toplevel_target_context" in vars(cpu_target):   # Numba's compiler exists, with its options fixed
        raise ImportError(f"{_isa.ENV}={forced} cannot take effect: Numba compiled code before fastnn was imported "
                          "(import fastnn first, or set NUMBA_CPU_NAME and NUMBA_CPU_FEATURES)")
    name = _isa.LEVEL[forced] if ll.get_process_triple().startswith(("x86_64", "amd64")) else "generic"
    numba.config.CPU_NAME, numba.config.CPU_FEATURES = name, ""
    return forced, name


ISA, CPU_NAME = _target()


def set_num_threads(n):
    """Threads for every parallel kernel here (capped at the pool Numba started with)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


def get_num_threads():
    return numba.get_num_threads()


def threading_layer():
    """The threading layer Numba started ("omp", "tbb" or "workqueue"), or None before its first parallel loop."""
    try:
        return numba.threading_layer()
    except ValueError:
        return None


def compiled(kernel):
    """Whether calling kernel on float32 arrays runs machine code at once: built in this process, or in
    Numba's on-disk cache for this CPU and these sources. Otherwise its first call compiles it first, which
    takes seconds to tens of seconds (LeNet-5's conv and pooling kernels: about a minute in all).

    kernel: a jitted function, or a plain-Python entry point, judged by the jitted functions it calls by name
    (its callees are built into theirs). Reads Numba's cache index through Numba's own classes, which are
    not public API: if they change, every kernel counts as compiled.
    """
    from numba.core.dispatcher import Dispatcher

    builds = getattr(kernel, "builds", None)
    if builds is not None:   # chunks.parallel_above_grain: the serial build serves the batches of a model
        return any(compiled(build) for build in builds)
    if isinstance(kernel, Dispatcher):
        jitted = [kernel]
    else:
        names = getattr(getattr(kernel, "__code__", None), "co_names", ())
        called = [kernel.__globals__.get(n) for n in names]
        if any(hasattr(f, "builds") for f in called):
            return all(compiled(f) for f in called if hasattr(f, "builds") or isinstance(f, Dispatcher))
        jitted = [f for f in called if isinstance(f, Dispatcher)]
    if not jitted:   # NUMBA_DISABLE_JIT: plain Python, never machine code
        return False
    try:
        return all(_float32_build(list(f.signatures)) or _float32_build(_cached_signatures(f)) for f in jitted)
    except Exception:
        return True


def _cached_signatures(dispatcher):
    """The signatures in dispatcher's cache index that were built for this CPU ([] without a cache)."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(cache, "_cache_file"):
        return []
    machine = dispatcher.targetctx.codegen().magic_tuple()
    return [key[0] for key in cache._cache_file._load_index() if key[1] == machine]


def _float32_build(signatures):
    """Whether one of signatures takes float32 arrays, or no float arrays at all (check_code(act): an int)."""
    def floats(sig):
        return {t.dtype for t in sig if isinstance(getattr(t, "dtype", None), numba.types.Float)}
    return any(numba.float32 in floats(sig) or not floats(sig) for sig in signatures)
