"""The Numba backend's checks that need a fresh process.

1. JIT off (NUMBA_DISABLE_JIT=1): the conformance modules run the Numba kernels as plain Python over NumPy
   scalars, so their Python semantics are covered too (and a failure shows a Python traceback). uint64
   arithmetic wraps there as in compiled code, with NumPy's overflow warnings, silenced here.
2. Empty cache (NUMBA_CACHE_DIR in a temporary folder): every float32 kernel is compiled afresh, so
   conformance.assert_float32_only can read its LLVM IR (code loaded from the cache has none), and a
   kernel that Numba cannot cache fails the run.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastnn.kernels.ops import FAMILIES

from ..ops.conformance import COMPILED

ROOT = Path(__file__).resolve().parents[2]
MODULES = [f"test_{family}.py" for family in FAMILIES]   # the conformance module of every op family
pytestmark = pytest.mark.skipif("numba" not in COMPILED, reason="the numba backend is not available")


def run_pytest(env, select, *extra):
    cmd = [sys.executable, "-m", "pytest", *[str(ROOT / "tests" / "ops" / m) for m in MODULES], "-q", "-x",
           "-p", "no:cacheprovider", "-k", select, *extra]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def test_conformance_without_jit():
    out = run_pytest({"NUMBA_DISABLE_JIT": "1"}, "numba and not float32_stays",
                     "-W", "ignore:overflow encountered:RuntimeWarning")
    assert " passed" in out and "skipped" not in out


@pytest.mark.slow  # compiles every float32 kernel from scratch: about a minute of CPU
def test_float32_kernels_compiled_afresh(tmp_path):
    # and every kernel can be cached: a "Cannot cache" warning fails the run
    out = run_pytest({"NUMBA_CACHE_DIR": str(tmp_path)}, "numba and float32_stays", "-rs",
                     "-W", "error:Cannot cache:numba.core.errors.NumbaWarning")
    assert " passed" in out and "skipped" not in out
