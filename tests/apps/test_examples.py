"""The examples from the notes this project starts from converge."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import admission  # noqa: E402
import perceptron  # noqa: E402
import xor  # noqa: E402


def test_xor_four_hidden_units_converge_for_every_seed():
    for seed in range(5):
        _, pred = xor.train_xor(4, seed)
        assert xor.solves(pred), f"seed {seed}: {pred}"


def test_xor_two_hidden_units_sometimes_fail():
    """The 2-2-1 net can stall in a local minimum: of these seeds some solve XOR and some do not."""
    outcomes = [xor.solves(xor.train_xor(2, seed)[1]) for seed in range(8)]
    assert any(outcomes) and not all(outcomes), outcomes


def test_admission_recovers_the_separating_line():
    marks, admitted = admission.students(seed=1)
    (a, b, c), model, (mean, std) = admission.fit_line(marks, admitted)
    # the learnt line, scaled so the m coefficient is 1, is close to m + 2 p - 180 = 0
    assert a > 0
    assert b / a == pytest.approx(2.0, rel=0.1)
    assert -c / a == pytest.approx(180.0, rel=0.05)
    assert model.evaluate((marks - mean) / std, admitted, verbose=0)[1] >= 0.97


def test_perceptron_converges_on_separable_data():
    x, t = perceptron.separable(seed=2)
    w, b, mistakes, epochs = perceptron.train_perceptron(x, t)
    assert epochs < 1000 and mistakes > 0
    assert (np.sign(x @ w + b) == t).all()


def test_perceptron_example_main():
    w, b, accuracy, epochs = perceptron.main()
    assert accuracy == 1.0


@pytest.mark.slow
def test_mnist_mlp_reaches_96_percent():
    import mnist_mlp

    assert mnist_mlp.main(verbose=0) >= 0.96


def test_stroke_width_validate_reads_held_out_training_digits():
    """--validate trains on the first `fit` training digits and reads the rest, redrawn at every width; a
    tiny training (one plain epoch) must already read the original digits far better than chance."""
    import stroke_width

    training = {**stroke_width.TRAININGS["plain"], "epochs": 1}
    val = stroke_width.validate(training, fit=7950, verbose=0)
    assert val["n"] == 50
    assert set(val["widths"]) == set(stroke_width.WIDTHS)
    assert all(0 <= a <= 1 for a in val["widths"].values())
    assert val["original"] >= 0.7
