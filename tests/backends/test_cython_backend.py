"""The Cython backend as a whole: it loads with every op, says why when it was not compiled, gives the same
answers with 1 and 2 OpenMP threads, and passes the conformance suite when built with bounds checks
(FASTNN_CYTHON_DEBUG=1), so an out-of-bounds index fails a test instead of corrupting memory.
The op-by-op comparison with the NumPy reference lives in the family suites (test_<family>.py).
"""
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import fastnn
from ..ops.conformance import DTYPES, impl, nans, same_across_threads, threads
from fastnn import backend
from fastnn.kernels.ops import FAMILIES
from fastnn.kernels.activations.reference import RELU, TANH

REPO = Path(__file__).resolve().parents[2]
AVAILABLE = "cython" in backend.available_backends()
needs_cython = pytest.mark.skipif(
    not AVAILABLE, reason=f"cython backend unavailable: {backend.unavailable_reason('cython')}")


@needs_cython
def test_every_op_is_compiled():
    module = sys.modules["fastnn.kernels._cython"].MODULE   # cython, or its ISA variant (kernels/isa.py)
    for op in backend.OPS:
        fn = impl(op, "cython")
        assert fn.__module__ == f"fastnn.kernels.{backend._ops.FAMILY_OF[op]}.{module}", f"{op} comes from {fn.__module__}"


def test_unbuilt_backend_says_why(tmp_path, monkeypatch):
    # the package's __init__ without any compiled module beside it, as after an install with no compiler, in a
    # copy of the kernels package that holds only what it imports
    kernels = tmp_path / "kernels"
    (kernels / "_cython").mkdir(parents=True)
    (kernels / "__init__.py").write_text("")
    for name in ("isa.py", "ops.py", "_cython/__init__.py"):
        shutil.copy(REPO / "kernels" / name, kernels / name)
    parent = importlib.util.spec_from_file_location("fastnn_unbuilt_probe", kernels / "__init__.py",
                                                    submodule_search_locations=[str(kernels)])
    monkeypatch.setitem(sys.modules, "fastnn_unbuilt_probe", importlib.util.module_from_spec(parent))
    with pytest.raises(ImportError, match="Cython kernels were not compiled"):
        importlib.import_module("fastnn_unbuilt_probe._cython")


@needs_cython
def test_set_num_threads_reaches_the_kernels():
    package = sys.modules["fastnn.kernels._cython"]
    for n in (1, 2):
        with threads(n):
            assert package.get_num_threads() == (n if package.OPENMP else 1)


def _rng_arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.normal(size=shape).astype(dtype), rng


def _cases(dtype):
    """op -> arguments, each large enough to take the parallel path (above the GRAIN of _shared.pxd)."""
    normal, rng = _rng_arrays(dtype)
    positive = lambda *shape: rng.uniform(0.05, 0.95, size=shape).astype(dtype)  # noqa: E731
    big, rows, k = (300, 257), 4000, 10
    out = np.tanh(normal(*big))
    x, w, dout = normal(130, 33), normal(33, 257), normal(130, 257)
    dense_out = np.maximum(x @ w, 0)
    xc, wc = normal(8, 20, 20, 3), normal(3, 3, 3, 8)
    conv_out = np.maximum(normal(8, 20, 20, 8), 0)
    pool_in = normal(8, 20, 20, 8)
    xb = normal(5000, 16)
    p = 100_000
    labels = rng.integers(0, k, size=rows)
    loss_args = lambda y: (nans(rows, dtype), nans((rows, k), dtype), normal(rows, k) * 3, y, 1 / rows)  # noqa: E731
    return {
        "activation_forward": (nans(big, dtype), normal(*big), TANH),
        "activation_backward": (nans(big, dtype), normal(*big), out, TANH),
        "dense_forward": (nans((130, 257), dtype), x, w, normal(257), RELU),
        "dense_backward": (nans((130, 33), dtype), nans((33, 257), dtype), nans(257, dtype), dout, x, w, dense_out,
                           RELU),
        "softmax_forward": (nans((rows, k), dtype), normal(rows, k)),
        "softmax_backward": (nans((rows, k), dtype), normal(rows, k), positive(rows, k)),
        "softmax_ce": loss_args(positive(rows, k)),
        "sparse_softmax_ce": loss_args(labels) + (0.1, 3.0),   # the clipping bounds bite on some rows
        "mse": loss_args(normal(rows, k)),
        "sigmoid_bce": loss_args(positive(rows, k)),
        "binary_ce_probs": (nans(rows, dtype), nans((rows, k), dtype), positive(rows, k), positive(rows, k), 0.5),
        "categorical_ce_probs": (nans(rows, dtype), nans((rows, k), dtype), positive(rows, k), positive(rows, k), 0.5),
        "conv2d_forward": (nans((8, 20, 20, 8), dtype), xc, wc, normal(8), 1, 1, 1, 1, RELU),
        "conv2d_backward": (nans(xc.shape, dtype), nans(wc.shape, dtype), nans(8, dtype), normal(8, 20, 20, 8), xc,
                            wc, conv_out, 1, 1, 1, 1, RELU),
        "maxpool2d_forward": (nans((8, 10, 10, 8), dtype), np.zeros((8, 10, 10, 8), np.int32), pool_in,
                              3, 3, 2, 2, 1, 1),
        "maxpool2d_backward": (nans(pool_in.shape, dtype), normal(8, 10, 10, 8),
                               rng.integers(0, 9, size=(8, 10, 10, 8)).astype(np.int32), 3, 3, 2, 2, 1, 1),
        "batchnorm_forward": (nans(xb.shape, dtype), nans(16, dtype), nans(16, dtype), xb, normal(16), normal(16),
                              normal(16), positive(16), 0.9, 1e-3, True),
        "batchnorm_backward": (nans(xb.shape, dtype), nans(16, dtype), nans(16, dtype), normal(*xb.shape), xb,
                               normal(16), positive(16) + 1, normal(16)),
        "dropout_forward": (nans(big, dtype), nans(big, dtype), normal(*big), 0.3, 2**64 - 7),
        "dropout_backward": (nans(big, dtype), normal(*big), normal(*big)),
        "sgd_step": (normal(p), normal(p), normal(p), 0.1, 0.9, True),
        "adagrad_step": (normal(p), normal(p), positive(p), 0.1, 1e-7),
        "rmsprop_step": (normal(p), normal(p), positive(p), normal(p), 0.01, 0.9, 0.5, 1e-7),
        "adam_step": (normal(p), normal(p), normal(p), positive(p), 1e-3, 0.9, 0.999, 1e-7),
    }


def test_thread_cases_cover_every_op():
    assert sorted(_cases(np.float32)) == sorted(backend.OPS)


@needs_cython
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", backend.OPS)
def test_one_and_two_threads_agree(op, dtype):
    # bit-identical: every reduction adds fixed chunks in a fixed order, whatever the thread count
    same_across_threads(op, "cython", *_cases(dtype)[op])


# Runs pytest on the family suites with every fastnn.kernels.<family>.cython module taken from the debug build:
# argv is [kernels source folder, debug build folder, pytest arguments...].
_DEBUG_RUNNER = r"""
import importlib.util, os, sys
import numpy as np

src, built = sys.argv[1], sys.argv[2]


def package(name, folder, path):
    spec = importlib.util.spec_from_file_location(name, folder + "/__init__.py", submodule_search_locations=path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


package("fastnn.kernels", src, [src])
for folder in sorted(os.listdir(built)):   # the families and _cython: the build's modules, then the sources
    package("fastnn.kernels." + folder, src + "/" + folder, [built + "/" + folder, src + "/" + folder])
from fastnn.kernels.activations import cython as activations
from fastnn.kernels import _cython

assert activations.__file__.startswith(built), activations.__file__
assert _cython.MODULE == "cython", _cython.MODULE   # the registry loads the debug build's (baseline) modules
try:  # a dx shorter than out: the bounds check must catch the write past its end
    activations.activation_backward(np.empty(3), np.ones(5), np.ones(5), 0)
except IndexError:
    pass
else:
    sys.exit("the debug build does not check bounds")

import pytest

sys.exit(pytest.main(sys.argv[3:]))
"""


def _compiler():
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / "setup.py").exists() or not (REPO / "kernels" / "_cython").is_dir(),
                    reason="needs the source checkout (setup.py, kernels/)")
@pytest.mark.skipif(_compiler() is None, reason="no C compiler")
def test_conformance_with_bounds_checks(tmp_path):
    lib = tmp_path / "lib"
    env = dict(os.environ, FASTNN_CYTHON_DEBUG="1", FASTNN_CYTHON_C_DIR=str(tmp_path / "c"))
    build = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(lib), "--build-temp", str(tmp_path / "o"),
         "-j", str(min(4, os.cpu_count() or 1))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    built = lib / "fastnn" / "kernels"
    modules = ["_cython/_openmp"] + [f"{family}/cython" for family in FAMILIES]
    missing = [m for m in modules if not list(built.glob(f"{m}.*.so"))]
    assert not missing, f"debug build failed for {missing}:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"

    suites = [str(p) for p in (REPO / "tests" / "ops" / f"test_{f}.py" for f in FAMILIES) if p.exists()]
    # the debug build is the baseline variant only (kernels/isa.py): $FASTNN_ISA holds the registry to it
    env = dict(os.environ, FASTNN_ISA="baseline",
               PYTHONPATH=os.pathsep.join([str(Path(fastnn.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]))
    # a bounds error inside a noexcept helper is reported as unraisable: make that an error too
    run = subprocess.run(
        [sys.executable, "-c", _DEBUG_RUNNER, str(REPO / "kernels"), str(built), "-q", "-x", "-k", "cython",
         "-p", "no:cacheprovider", "-W", "error::pytest.PytestUnraisableExceptionWarning", *suites],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    assert " passed" in run.stdout


@pytest.mark.skipif(not (REPO / "kernels" / "_cython" / "_gemm.h").exists(), reason="needs the source checkout")
@pytest.mark.skipif(_compiler() is None, reason="no C compiler")
@pytest.mark.parametrize("variant,isa", [("vector", "baseline"), ("vector", "avx2"), ("vector", "avx512"),
                                         ("plain", "baseline")])
def test_c_helpers_against_plain_loops(tmp_path, variant, isa):
    # the matrix product and the transposes under the Cython kernels, built as a small C program: "vector" with
    # GCC/Clang vector extensions (what setup.py builds), for each instruction set's block (kernels/isa.py), and
    # "plain" the fallback for other compilers
    isa_flags = {"baseline": [], "avx2": ["-march=x86-64-v3"], "avx512": ["-march=x86-64-v4"]}[isa]
    if isa_flags and isa not in getattr(sys.modules.get("fastnn.kernels._cython"), "RUNNABLE", ()):
        pytest.skip(f"this CPU (or this build) does not run {isa}")
    exe = tmp_path / "check_helpers"
    from fastnn.kernels.design import C_MACROS

    flags = ["-O2", "-Wall", "-Wextra", "-Werror", "-I", str(REPO / "kernels" / "_cython"), *isa_flags]
    flags += [f"-D{name}={value}" for name, value in C_MACROS]
    if variant == "plain":
        flags.append("-DFASTNN_GEMM_PLAIN")
    build = subprocess.run([_compiler(), *flags, str(REPO / "tests" / "backends" / "c" / "check_helpers.c"), "-o", str(exe), "-lm"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith(f"{variant}: 0 failures"), run.stdout
