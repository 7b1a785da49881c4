"""Ordinary Keras 3 scripts run under fastnn with only their imports changed, and reach the test accuracy
their comments state.

Each script in this folder imports `fastnn` where a Keras script imports `keras`, states what it reaches in
one comment line, `# reaches >= 0.96 test accuracy`, and prints `test_accuracy=0.9712` last. The tests run
each one in a subprocess, in a temporary folder, and hold it to its comment (read from the file, so the two
cannot drift apart).

With Keras 3 and torch installed (the `bench` extra), `test_keras_runs_the_script_too` also runs each script
under Keras, its import lines rewritten `fastnn` -> `keras`, on the torch backend, and checks that fastnn
comes within 1.5 points of Keras's accuracy. It uses this interpreter, or the one `FASTNN_KERAS_PYTHON`
names (a Python with keras and torch, e.g. another virtual environment). How long each takes is a
benchmark's business: benches/suites/bench_keras_scripts.py.
"""
import re

import pytest

from ._runner import (HERE, KERAS_MARGIN, SCRIPTS, as_keras, claimed_accuracy, keras_python, run_script,
                      run_with_fastnn)


def test_every_script_is_a_keras_script_with_its_imports_changed():
    assert len(SCRIPTS) >= 12, SCRIPTS
    for name in SCRIPTS:
        source = (HERE / name).read_text()
        assert re.search(r"^import fastnn as keras$", source, re.M), name
        keras_source = as_keras(source)
        assert "fastnn" not in keras_source, f"{name} names fastnn outside its import lines"
        assert "import keras as keras" in keras_source
        claimed_accuracy(name)


@pytest.mark.parametrize("name", SCRIPTS, ids=lambda name: name[:-3])
def test_script_reaches_the_accuracy_it_states(name, tmp_path):
    accuracy, _ = run_with_fastnn((HERE / name).read_text(), tmp_path)
    assert accuracy >= claimed_accuracy(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS, ids=lambda name: name[:-3])
def test_keras_runs_the_script_too(name, tmp_path):
    """The same script under Keras 3 on torch: fastnn's accuracy within KERAS_MARGIN of Keras's."""
    python = keras_python()
    source = (HERE / name).read_text()
    (tmp_path / "keras").mkdir()
    (tmp_path / "fastnn").mkdir()
    keras_accuracy, keras_seconds = run_script(python, as_keras(source), tmp_path / "keras",
                                               KERAS_BACKEND="torch")
    assert keras_accuracy >= claimed_accuracy(name), "the script's comment does not hold under Keras"
    accuracy, seconds = run_with_fastnn(source, tmp_path / "fastnn")
    measured = f"fastnn {accuracy:.4f} in {seconds:.1f} s, Keras {keras_accuracy:.4f} in {keras_seconds:.1f} s"
    assert accuracy >= keras_accuracy - KERAS_MARGIN, measured
