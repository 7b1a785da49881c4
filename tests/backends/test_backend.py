"""The registry: built from the op table, one import path, and "auto" as a pure function of its inputs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn import backend
from fastnn.kernels import ops

REPO = Path(__file__).resolve().parents[2]


def test_every_op_of_the_table_has_a_reference():
    reference = backend._load("numpy")
    assert set(reference) == set(ops.OPS)
    for op, fn in reference.items():
        assert fn.__module__ == f"fastnn.kernels.{ops.FAMILY_OF[op]}.reference"


@pytest.mark.parametrize("name", [b for b in backend.COMPILED if b in backend.available_backends()])
def test_every_compiled_backend_has_every_op_from_its_family_folder(name):
    table = backend._load(name)
    assert set(table) == set(ops.OPS)
    module = getattr(backend._runtime(name), "MODULE", ops.MODULES[name])   # Cython: its ISA variant
    assert module.startswith(ops.MODULES[name])
    for op, fn in table.items():
        assert fn.__module__ == f"fastnn.kernels.{ops.FAMILY_OF[op]}.{module}", op


def test_each_family_folder_holds_its_backends():
    # one listing answers "where does conv2d's forward live for each backend"
    for family in ops.FAMILIES:
        folder = REPO / "kernels" / family
        assert (folder / "reference.py").is_file() and (folder / "numba.py").is_file(), family
        assert (folder / "cython.pyx").is_file(), family


@pytest.mark.parametrize("cwd", ["checkout", "elsewhere"])
def test_pytest_and_python_m_pytest_import_the_same_code(cwd, tmp_path):
    # `python -m pytest` puts the checkout first on sys.path, `pytest` does not: both must import fastnn and
    # its compiled kernels from this checkout (an editable install), never an installed copy of another state
    code = ("import fastnn, fastnn.kernels, fastnn.kernels.dense.reference as r; "
            "print(fastnn.__file__); print(fastnn.kernels.__file__); print(r.__file__)")
    where = REPO if cwd == "checkout" else tmp_path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=where, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(REPO / "fastnn" / "__init__.py"), str(REPO / "kernels" / "__init__.py"),
                   str(REPO / "kernels" / "dense" / "reference.py")], (
        "fastnn is not imported from this checkout: install it with `pip install -e .`")


# -- auto -------------------------------------------------------------------------------------------------
def _table(**cases):
    """An auto table with one case per keyword: op=(dtype, {backend: {threads: us}})."""
    return {"cases": {f"{op} case": {"op": op, "dtype": dtype, "us": us} for op, (dtype, us) in cases.items()}}


TABLES = {"numpy": {"conv2d_forward": 0, "dense_forward": 0}, "numba": {"conv2d_forward": 0, "dense_forward": 0},
          "cython": {"conv2d_forward": 0, "dense_forward": 0}}


def test_auto_takes_a_later_backend_only_when_faster_by_the_margin_at_every_thread_count():
    fast = _table(conv2d_forward=("float32", {"numba": {"1": 80, "2": 50}, "cython": {"1": 100, "2": 60}}))
    assert backend.choose("conv2d_forward", "float32", TABLES, fast)[0] == "numba"
    split = _table(conv2d_forward=("float32", {"numba": {"1": 80, "2": 59}, "cython": {"1": 100, "2": 60}}))
    assert backend.choose("conv2d_forward", "float32", TABLES, split)[0] == "cython"
    assert backend.choose("conv2d_forward", "float64", TABLES, fast)[0] == "cython"   # not measured in float64
    assert backend.choose("dense_forward", "float32", TABLES, fast)[0] == "cython"
    assert backend.choose("conv2d_forward", "float32", TABLES, {})[0] == "cython"


def test_auto_sums_an_ops_cases():
    # conv1 favours numba, conv2 cython: the verdict is on the sum, as a model runs both
    table = {"cases": {
        "conv1": {"op": "conv2d_forward", "dtype": "float32", "us": {"numba": {"1": 10}, "cython": {"1": 40}}},
        "conv2": {"op": "conv2d_forward", "dtype": "float32", "us": {"numba": {"1": 50}, "cython": {"1": 30}}}}}
    name, why = backend.choose("conv2d_forward", "float32", TABLES, table)
    assert name == "numba" and "1.17x" in why


def test_auto_falls_back_to_the_backends_that_have_the_op():
    tables = {"numpy": {"conv2d_forward": 0}, "numba": {"conv2d_forward": 0}, "cython": None}
    assert backend.choose("conv2d_forward", "float32", tables, {})[0] == "numba"
    assert backend.choose("conv2d_forward", "float32", {"numpy": {"conv2d_forward": 0}}, {})[0] == "numpy"
    with pytest.raises(backend.BackendUnavailableError, match="no available backend"):
        backend.choose("conv2d_forward", "float32", {}, {})


def test_the_shipped_auto_table_names_its_machine_and_command():
    table = backend.load_auto_table()
    if not table:
        pytest.skip("no auto table shipped")
    assert {"cpu", "isa", "cores", "date"} <= set(table["machine"])
    assert table["command"].startswith("python benches/tools/auto_table.py")
    measured = {case["op"] for case in table["cases"].values()}
    assert measured == set(ops.OPS)   # benches/suites/bench_backends.py has a case for every op


def test_auto_and_its_report_agree():
    available = {name: backend._load(name) for name in backend.BACKENDS}
    report = fastnn.backend_report() if fastnn.get_backend() == "auto" else None
    for op in backend.OPS:
        expected = backend.choose(op, "float32", available, backend.load_auto_table())[0]
        assert backend.auto_choice(op) == expected
        if report is not None:
            assert f"{op:22s} -> {expected:7s} " in report   # the choice, and why, is visible


def test_auto_does_not_depend_on_numbas_cache(monkeypatch):
    # the same script and seed runs the same kernels before and after `fastnn warmup`
    choices = []
    for compiled in (False, True):
        monkeypatch.setattr(backend, "numba_compiled", lambda op, compiled=compiled: compiled)
        choices.append({op: backend.auto_choice(op) for op in backend.OPS})
    assert choices[0] == choices[1]


def test_a_corrupt_auto_table_is_refused(tmp_path):
    bad = tmp_path / "auto.json"
    bad.write_text('{"cases": []}')
    with pytest.raises(ValueError, match="not an auto table"):
        backend.load_auto_table(bad)
    assert backend.load_auto_table(tmp_path / "missing.json") == {}


def test_numba_compiled_reads_the_cache_on_disk(tmp_path):
    # one process compiles a kernel into an empty cache directory; the next one finds it there
    if "numba" not in fastnn.available_backends():
        pytest.skip("numba not available")
    code = ("import numpy as np, fastnn; from fastnn import backend; "
            "before = backend.numba_compiled('activation_forward'); "
            "x = np.linspace(-1, 1, 64, dtype=np.float32); "
            "backend.kernel('activation_forward', 'numba')(np.empty_like(x), x, 1); "
            "print(before, backend.numba_compiled('activation_forward'), backend.numba_compiled('conv2d_forward'))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("NUMBA_DISABLE_JIT", None)
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["False", "True", "False"]
    assert second.stdout.split() == ["True", "True", "False"]


def test_numba_runs_on_a_thread_safe_layer():
    # several threads may run parallel kernels at once (predict from the drawing server's threads): Numba's
    # workqueue layer would abort the process, so the omp layer comes first (tbb next)
    if "numba" not in fastnn.available_backends():
        pytest.skip("numba not available")
    code = ("import numpy as np, numba, fastnn; from fastnn import backend; "
            "x = np.ones(1 << 20, np.float32); backend.kernel('activation_forward', 'numba')(x, x, 1); "
            "print(numba.threading_layer())")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    layer = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    assert layer in ("omp", "tbb")
