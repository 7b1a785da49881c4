"""Running the Keras scripts of this folder: under the fastnn being tested, or under Keras 3 (their import
lines rewritten fastnn -> keras). test_scripts.py and benches/suites/bench_keras_scripts.py use it."""
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastnn

HERE = Path(__file__).resolve().parent
FASTNN_ROOT = Path(fastnn.__file__).resolve().parent.parent   # the folder holding the fastnn under test
SCRIPTS = sorted(p.name for p in HERE.glob("*.py") if not p.name.startswith(("_", "test_")))

CLAIM = re.compile(r"^# reaches >= ([0-9.]+) test accuracy$", re.M)
RESULT = re.compile(r"^test_accuracy=([0-9.]+)$", re.M)
IMPORT = re.compile(r"^((?:import|from) )fastnn\b", re.M)
KERAS_MARGIN = 0.015       # fastnn's accuracy may be this far below Keras's
TIMEOUT = 600              # seconds, per script and framework: a hung script fails instead of stalling CI


def claimed_accuracy(name):
    claims = CLAIM.findall((HERE / name).read_text())
    assert len(claims) == 1, f"{name} must state its accuracy in one '# reaches >= 0.NN test accuracy' line"
    return float(claims[0])


def run_script(python, source, folder, pythonpath=(), **env):
    """Runs the script text `source` with `python` in `folder`, this folder (for _digits) and `pythonpath`
    first on its path: (the test accuracy it prints, wall seconds)."""
    path = folder / "script.py"
    path.write_text(source)
    pythonpath = os.pathsep.join([str(HERE), *pythonpath, os.environ.get("PYTHONPATH", "")])
    start = time.perf_counter()
    done = subprocess.run([python, str(path)], cwd=folder, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "PYTHONPATH": pythonpath, **env})
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{python} exited with {done.returncode}:\n{output[-4000:]}"
    results = RESULT.findall(done.stdout)
    assert results, f"no 'test_accuracy=' line in the output:\n{output[-4000:]}"
    return float(results[-1]), seconds


def run_with_fastnn(source, folder):
    """The script under the fastnn these tests imported."""
    return run_script(sys.executable, source, folder, pythonpath=[str(FASTNN_ROOT)])


def as_keras(source):
    return IMPORT.sub(r"\1keras", source)


def keras_python():
    """The interpreter that runs the scripts under Keras, or a skip when there is none."""
    python = os.environ.get("FASTNN_KERAS_PYTHON")
    if python:
        return python
    missing = [m for m in ("keras", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (pip install -e '.[bench]'), "
                    "and FASTNN_KERAS_PYTHON names no interpreter that has them")
    return sys.executable
