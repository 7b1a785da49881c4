"""Bad input gets a ValueError/TypeError naming the argument, what was expected and what was received,
before any kernel runs; a NaN loss stops training with a clear warning and finite weights."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn import layers


def mlp(**kw):
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dense(3, activation="softmax")], seed=0, **kw)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((10, 4)).astype(np.float32)
Y = np.arange(10) % 3


@pytest.mark.parametrize("x,y,exc,match", [
    (np.zeros((10, 5)), Y, ValueError, r"expects x of shape \(None, 4\). Received: x with shape \(10, 5\)"),
    (np.zeros((10, 2, 2)), Y, ValueError, "expects x of shape"),
    (np.array([["a"] * 4] * 10), Y, TypeError, "numeric array. Received: x of dtype <U1"),
    (np.zeros((0, 4)), np.zeros(0), ValueError, "non-empty"),
    (np.where(np.eye(10, 4) > 0, np.nan, 0), Y, ValueError, "NaN or inf"),
    (np.full((10, 4), np.inf), Y, ValueError, "NaN or inf"),
    (X, np.arange(9) % 3, ValueError, r"one target per sample \(10\)"),
    (X, np.arange(10), ValueError, r"labels in \[0, 2\].*Received: labels in \[0, 9\]"),
    (X, -np.ones(10), ValueError, "labels in"),
    (X, np.full(10, 0.5), ValueError, "integer class labels"),
    (X, np.eye(3)[Y], ValueError, "integer labels of shape"),
    (None, Y, ValueError, "`x` is required"),
])
def test_fit_rejects_bad_data(x, y, exc, match):
    model = mlp()
    before = model.get_weights()
    with pytest.raises(exc, match=match):
        model.fit(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": -3}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"validation_split": 1.0}, ValueError, "validation_split"),
    ({"validation_split": -0.1}, ValueError, "validation_split"),
    ({"verbose": 3}, ValueError, "verbose"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"callbacks": [print]}, TypeError, "callbacks"),
    ({"validation_data": (X,)}, ValueError, "validation_data"),
    ({"validation_data": (X, np.arange(10) + 5)}, ValueError, r"validation_data\[1\]"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mlp().fit(X, Y, **kwargs)


def test_categorical_crossentropy_with_integer_labels_gives_a_hint():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(X, Y, verbose=0)


@pytest.mark.parametrize("make,exc,match", [
    (lambda: layers.Dense(0), ValueError, r"Dense\(units=...\) expects an integer >= 1. Received: units=0"),
    (lambda: layers.Dense(3.5), TypeError, "units"),
    (lambda: layers.Dense(3, activation="swish2"), ValueError, "activation"),
    (lambda: layers.Activation("gelu9"), ValueError, "activation"),
    (lambda: layers.Conv2D(4, 0), ValueError, "kernel_size"),
    (lambda: layers.Conv2D(4, 3, padding="full"), ValueError, "padding"),
    (lambda: layers.Conv2D(4, 3, strides=(1, 2, 3)), ValueError, "strides"),
    (lambda: layers.MaxPooling2D(pool_size=-2), ValueError, "pool_size"),
    (lambda: layers.Dropout(1.0), ValueError, r"Dropout\(rate=...\)"),
    (lambda: layers.Dropout(-0.1), ValueError, "rate"),
    (lambda: layers.Dropout("half"), TypeError, "rate"),
    (lambda: layers.Input((0, 3)), ValueError, "shape"),
    (lambda: layers.BatchNormalization(momentum=2), ValueError, "momentum"),
    (lambda: layers.Dense(3, kernel_initializer="magic"), ValueError, "initializer"),
    (lambda: fastnn.Sequential([np.zeros(3)]), TypeError, "fastnn layer"),
    (lambda: fastnn.Sequential(dtype="int8"), ValueError, "dtype"),
    (lambda: mlp().compile("adam", "hinge"), ValueError, "unknown loss"),
    (lambda: mlp().compile("adamw9", "mse"), ValueError, "unknown optimizer"),
    (lambda: mlp().compile("adam", None), ValueError, "loss"),
    (lambda: mlp().compile("adam", "mse", metrics=["f1"]), ValueError, "metrics"),
    (lambda: fastnn.optimizers.SGD(learning_rate=0), ValueError, "learning_rate"),
    (lambda: fastnn.optimizers.Adam(learning_rate=-1e-3), ValueError, "learning_rate"),
    (lambda: fastnn.Sequential([layers.Input((5, 5, 1)), layers.Conv2D(2, 7)]).build(), ValueError, "does not fit"),
    (lambda: fastnn.Sequential([layers.Input((4,)), layers.Conv2D(2, 3)]).build(), ValueError, "height, width"),
])
def test_constructors_and_compile_reject_bad_hyperparameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_predict_and_evaluate_validate_too():
    model = mlp()
    with pytest.raises(ValueError, match="expects x of shape"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="labels in"):
        model.evaluate(X, Y + 3)
    with pytest.raises(RuntimeError, match="compile"):
        fastnn.Sequential([layers.Input((4,)), layers.Dense(2)]).fit(X, Y)


def test_nan_loss_stops_training_and_keeps_finite_weights():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(1)], seed=0)
    model.compile(fastnn.optimizers.SGD(1e3), "mse")   # diverges quickly on huge targets
    y = np.full(10, 1e30, dtype=np.float32)
    with pytest.warns(RuntimeWarning, match="invalid loss"), np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(X, y, batch_size=2, epochs=50, verbose=0)
    assert len(history.history["loss"]) < 50
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_malformed_calls_never_crash_the_interpreter(tmp_path):
    """Bad calls on every available backend raise Python errors; the process survives to print DONE."""
    script = textwrap.dedent("""
        import numpy as np, fastnn
        from fastnn import layers
        for name in fastnn.available_backends():
            fastnn.set_backend(name)
            m = fastnn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.MaxPooling2D(),
                                   layers.Flatten(), layers.Dense(3, activation="softmax")])
            m.compile("adam", "sparse_categorical_crossentropy")
            for x, y in [(np.zeros((2, 9, 8, 1)), [0, 1]), (np.zeros((2, 8, 8)), [0, 1]),
                         (np.zeros((2, 8, 8, 1)), [0, 7]), (np.zeros((2, 8, 8, 1)), [0]),
                         (np.zeros((2, 8, 8, 1))[:, ::-1], [0, 1] * 5)]:
                try:
                    m.fit(x, y, verbose=0)
                except (ValueError, TypeError) as e:
                    print(name, type(e).__name__)
            m.fit(np.zeros((2, 8, 8, 1))[:, ::-1], [0, 1], verbose=0)  # non-contiguous input is copied, fine
        print("DONE")
    """)
    # run outside the repository so the child imports the same (installed) fastnn as this process
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                         env={**os.environ}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("DONE")
    assert out.stdout.count("ValueError") == 5 * len(fastnn.available_backends())


def test_predict_checks_each_batch_for_nan_before_its_kernels_run():
    """predict checks a batch for NaN and inf just before running it (the data read once, while in cache):
    a bad value anywhere raises, naming the samples of its batch."""
    model = fastnn.Sequential([fastnn.layers.Input((4,)), fastnn.layers.Dense(3, activation="softmax")], seed=0)
    x = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    x[9, 2] = np.nan
    with pytest.raises(ValueError, match=r"`x` contains 1 NaN or inf values \(in samples 8..11\)"):
        model.predict(x, batch_size=4)
    with pytest.raises(ValueError, match=r"`x` contains 1 NaN or inf values \(in samples 0..11\)"):
        model.predict_on_batch(x)
    x[9, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        model(x)
    x[9, 2] = 0.5
    assert model.predict(x, batch_size=4).shape == (12, 3)
