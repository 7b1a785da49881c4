"""fastnn against Keras 3 on the scripts of tests/keras_scripts: each script whole, from the interpreter's
start to its exit, once under fastnn and once under Keras (its import lines rewritten fastnn -> keras, on
the torch backend). The target: fastnn takes less wall time than Keras on every script, at an accuracy
within 1.5 points of Keras's (tests/keras_scripts/test_scripts.py holds the accuracy on its own).

Keras and torch come with the bench extra (pip install -e ".[bench]"), or FASTNN_KERAS_PYTHON names an
interpreter that has them.

    python benches/suites/bench_keras_scripts.py                     # a table: seconds and accuracy per script
    pytest benches/suites/bench_keras_scripts.py --benchmark-only
"""
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "keras_scripts"))
from _runner import KERAS_MARGIN, SCRIPTS, as_keras, keras_python, run_script, run_with_fastnn  # noqa: E402


def both(name):
    """{framework: (accuracy, seconds)} of one script under fastnn and under Keras."""
    python = keras_python()
    source = (Path(sys.modules["_runner"].HERE) / name).read_text()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "keras").mkdir()
        (Path(tmp) / "fastnn").mkdir()
        keras = run_script(python, as_keras(source), Path(tmp) / "keras", KERAS_BACKEND="torch")
        fastnn = run_with_fastnn(source, Path(tmp) / "fastnn")
    return {"fastnn": fastnn, "keras": keras}


@pytest.mark.parametrize("name", SCRIPTS, ids=lambda name: name[:-3])
def test_keras_script(benchmark, name):
    benchmark.group = "Keras scripts: whole script, fastnn vs Keras 3 (torch backend)"
    result = benchmark.pedantic(both, args=(name,), rounds=1, iterations=1)
    (accuracy, seconds), (keras_accuracy, keras_seconds) = result["fastnn"], result["keras"]
    benchmark.extra_info.update(fastnn_seconds=seconds, keras_seconds=keras_seconds, fastnn_accuracy=accuracy,
                                keras_accuracy=keras_accuracy, speedup=keras_seconds / seconds)
    measured = f"fastnn {accuracy:.4f} in {seconds:.1f} s, Keras {keras_accuracy:.4f} in {keras_seconds:.1f} s"
    assert accuracy >= keras_accuracy - KERAS_MARGIN, measured
    assert seconds < keras_seconds, measured


def main():
    print("| script | fastnn s | Keras s | speedup | fastnn accuracy | Keras accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in SCRIPTS:
        r = both(name)
        (acc, sec), (kacc, ksec) = r["fastnn"], r["keras"]
        print(f"| {name[:-3]} | {sec:.1f} | {ksec:.1f} | {ksec / sec:.1f}x | {acc:.4f} | {kacc:.4f} |", flush=True)


if __name__ == "__main__":
    main()
