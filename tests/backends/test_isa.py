"""The instruction-set variants (kernels/isa.py): the default build runs on any x86-64, $FASTNN_ISA forces a
variant on both compiled backends, and the conformance suite passes under every variant this CPU runs."""
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn import backend
from fastnn.kernels import isa
from fastnn.kernels.ops import FAMILIES

REPO = Path(__file__).resolve().parents[2]
KERNELS = Path(fastnn.kernels.__file__).parent
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
CYTHON = "cython" in backend.available_backends()
NUMBA = "numba" in backend.available_backends()


def _env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(KERNELS.parent.parent), os.environ.get("PYTHONPATH", "")]),
            **extra}


def _runnable():
    """The variants this CPU runs with the modules this install has (the Cython backend's view)."""
    return sys.modules["fastnn.kernels._cython"].RUNNABLE if CYTHON else ("baseline",)


def test_requested_reads_the_variable(monkeypatch):
    monkeypatch.delenv(isa.ENV, raising=False)
    assert isa.requested() is None
    monkeypatch.setenv(isa.ENV, " AVX2 ")
    assert isa.requested() == "avx2"
    monkeypatch.setenv(isa.ENV, "sse9")
    with pytest.raises(ValueError, match=r"FASTNN_ISA must be one of avx512, avx2, baseline.*'sse9'"):
        isa.requested()


def test_pick_is_the_best_or_the_forced_variant(monkeypatch):
    monkeypatch.delenv(isa.ENV, raising=False)
    assert isa.pick(("avx2", "baseline")) == "avx2"
    assert isa.pick(("baseline",)) == "baseline"
    monkeypatch.setenv(isa.ENV, "baseline")
    assert isa.pick(("avx512", "avx2", "baseline")) == "baseline"
    monkeypatch.setenv(isa.ENV, "avx512")
    with pytest.raises(ImportError, match="FASTNN_ISA=avx512 asks for x86-64-v4 kernels.*available: avx2, baseline"):
        isa.pick(("avx2", "baseline"))


def test_a_misspelt_variant_stops_the_program():
    code = "import fastnn; fastnn.set_backend('cython')"
    run = subprocess.run([sys.executable, "-c", code], env=_env(FASTNN_ISA="avx3"), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode != 0 and "ValueError: FASTNN_ISA must be one of" in run.stderr, run.stderr[-2000:]


@pytest.mark.skipif(not X86_64, reason="one build off x86-64")
@pytest.mark.skipif(not CYTHON, reason="cython backend unavailable")
def test_every_variant_was_built():
    for family in FAMILIES:
        for variant in isa.ISAS:
            if (KERNELS / family / "cython.pyx").exists():
                assert list((KERNELS / family).glob(f"cython{isa.SUFFIX[variant]}.*.so")), (family, variant)


_PROBE = """
import sys
from fastnn import backend
from fastnn.kernels import _cython, _numba
mods = {backend.kernel(op, "cython").__module__.rpartition(".")[2] for op in backend.OPS}
print(_cython.ISA, ",".join(sorted(mods)), _numba.ISA, _numba.CPU_NAME)
"""


@pytest.mark.skipif(not (CYTHON and NUMBA), reason="needs both compiled backends")
@pytest.mark.parametrize("variant", isa.ISAS)
def test_forcing_a_variant_loads_it_on_both_backends(variant):
    if variant not in _runnable():
        pytest.skip(f"this CPU does not run {variant}")
    run = subprocess.run([sys.executable, "-c", _PROBE], env=_env(FASTNN_ISA=variant), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    cython_isa, modules, numba_isa, cpu = run.stdout.split()
    assert cython_isa == variant and modules == "cython" + isa.SUFFIX[variant]
    assert numba_isa == variant and cpu == (isa.LEVEL[variant] if X86_64 else "generic")


@pytest.mark.skipif(not X86_64, reason="x86-64 only")
@pytest.mark.skipif(not CYTHON, reason="cython backend unavailable")
def test_a_variant_the_cpu_lacks_is_unavailable_not_run():
    # on a CPU without AVX-512, forcing it must leave the backend unavailable with the reason, never load it
    if "avx512" in _runnable():
        pytest.skip("this CPU runs every variant")
    code = "import fastnn; from fastnn import backend; print(backend.unavailable_reason('cython'))"
    run = subprocess.run([sys.executable, "-c", code], env=_env(FASTNN_ISA="avx512"), capture_output=True, text=True,
                         timeout=300)
    assert "FASTNN_ISA=avx512 asks for x86-64-v4 kernels" in run.stdout, run.stdout + run.stderr


# An instruction that needs more than the x86-64 baseline: a VEX or EVEX encoded one (AVX and later: every
# mnemonic then starts with "v" in AT&T syntax, and uses xmm/ymm/zmm or mask registers) or a BMI/FMA-era
# scalar one that -march=x86-64-v3 lets the compiler use.
_BEYOND_BASELINE = re.compile(r"\t(v[a-z0-9]+|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|"
                              r"lzcnt|tzcnt|movbe)\s|%[yz]mm|%k[0-7]")


def _disassembly(path):
    run = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.skipif(not X86_64, reason="x86-64 only")
@pytest.mark.skipif(not CYTHON, reason="cython backend unavailable")
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
def test_default_build_runs_on_any_x86_64():
    # what loads before the CPU is asked (the thread count and the probe) and every family's baseline module:
    # no instruction beyond x86-64, so an AVX-512 (or AVX2) instruction is reachable only through the variants
    baseline = [next((KERNELS / "_cython").glob("_openmp.*.so"))]
    baseline += [p for f in FAMILIES for p in (KERNELS / f).glob("cython.*.so")]
    for path in baseline:
        found = sorted({m.group(0).strip() for m in _BEYOND_BASELINE.finditer(_disassembly(path))})
        assert not found, f"{path.name} uses {found[:10]}"
    # the check can fail: the variants do use what they were built for
    conv = KERNELS / "conv2d"
    assert "%zmm" in _disassembly(next(conv.glob("cython_avx512.*.so")))
    avx2 = _disassembly(next(conv.glob("cython_avx2.*.so")))
    assert "%ymm" in avx2 and "%zmm" not in avx2


@pytest.mark.slow
@pytest.mark.parametrize("variant", isa.ISAS)
def test_conformance_under_each_variant(variant):
    # the default (best) variant runs in the main suite; the others run it here, in a process of their own
    if variant not in _runnable():
        pytest.skip(f"this CPU does not run {variant}")
    if variant == _runnable()[0]:
        pytest.skip("the default variant: the main suite covers it")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          str(REPO / "tests" / "ops")], cwd=REPO, env=_env(FASTNN_ISA=variant), capture_output=True, text=True, timeout=3000)
    assert run.returncode == 0, f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    assert " passed" in run.stdout
