"""The public API: shapes, summary, weights, seeds, backend selection, the fused softmax path."""
import numpy as np
import pytest

import fastnn
from fastnn import layers


def lenet(seed=0, **kw):
    return fastnn.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], seed=seed, **kw)


def test_shapes_and_summary(capsys):
    model = lenet()
    model.build()
    assert model.output_shape == (None, 10)
    assert [layer.output_shape for layer in model.layers][:4] == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]
    assert model.count_params() == 61706   # LeNet-5 with these layers, as Keras counts it
    model.summary()
    text = capsys.readouterr().out
    assert "conv2d (Conv2D)" in text and "(None, 14, 14, 6)" in text and "Total params: 61,706" in text


def test_keras_weight_layouts():
    model = fastnn.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, (3, 2)), layers.BatchNormalization(),
                               layers.Flatten(), layers.Dense(5)])
    model.build()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 2, 3, 4), (4,), (4,), (4,), (4,), (4,), (6 * 7 * 4, 5), (5,)]
    bn = model.layers[1]
    np.testing.assert_array_equal(bn.get_weights()[0], 1)    # gamma
    np.testing.assert_array_equal(bn.get_weights()[3], 1)    # moving_variance


def test_get_set_weights_round_trip():
    a, b = lenet(seed=1), lenet(seed=2)
    a.build(), b.build()
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])
    b.set_weights(a.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_set_weights_checks_before_changing_anything():
    model = lenet()
    model.build()
    before = model.get_weights()
    bad = model.get_weights()
    bad[-1] = np.zeros(3)
    with pytest.raises(ValueError, match="expects shape"):
        model.set_weights(bad)
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    with pytest.raises(ValueError, match="expects a list of 10 arrays"):
        model.set_weights(before[:3])


def test_same_seed_same_weights_and_set_seed():
    w1 = [w for w in (lambda m: (m.build(), m.get_weights())[1])(lenet(seed=7))]
    w2 = [w for w in (lambda m: (m.build(), m.get_weights())[1])(lenet(seed=7))]
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    fastnn.set_seed(3)
    m1 = lenet(seed=None)
    m1.build()
    fastnn.set_seed(3)
    m2 = lenet(seed=None)
    m2.build()
    np.testing.assert_array_equal(m1.get_weights()[0], m2.get_weights()[0])


def test_glorot_uniform_limits():
    model = fastnn.Sequential([layers.Input((300,)), layers.Dense(100)], seed=0)
    model.build()
    kernel, bias = model.get_weights()
    limit = np.sqrt(6 / 400)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    np.testing.assert_array_equal(bias, 0)


def test_train_on_batch_changes_weights_and_lowers_loss():
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    model = lenet()
    model.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    first = model.train_on_batch(x, y)[0]
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    for _ in range(20):
        last = model.train_on_batch(x, y)[0]
    assert last < first


@pytest.mark.parametrize("how", ["dense_softmax", "activation_layer", "from_logits"])
def test_softmax_cross_entropy_is_fused_whichever_way_written(how):
    """The gradient reaching the last Dense is exactly (softmax(a) - onehot(y)) / N in all three spellings."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, 6)
    if how == "dense_softmax":
        stack, loss = [layers.Dense(3, activation="softmax")], "sparse_categorical_crossentropy"
    elif how == "activation_layer":
        stack, loss = [layers.Dense(3), layers.Activation("softmax")], "sparse_categorical_crossentropy"
    else:
        stack, loss = [layers.Dense(3)], fastnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = fastnn.Sequential([layers.Input((4,))] + stack, seed=0, dtype="float64")
    model.compile(fastnn.optimizers.SGD(1.0), loss)
    assert model._trainer.heads[0].loss_name == "sparse_softmax_ce"
    w, b = model.get_weights()
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected_dz = (p - np.eye(3)[y]) / 6
    model.train_on_batch(x, y)
    w2, b2 = model.get_weights()
    np.testing.assert_allclose(b - b2, expected_dz.sum(0), atol=1e-12)     # SGD lr=1: the step is the gradient
    np.testing.assert_allclose(w - w2, x.T @ expected_dz, atol=1e-12)
    # predict still returns probabilities (or logits for from_logits)
    out = model.predict(x)
    if how == "from_logits":
        np.testing.assert_allclose(out, x @ w2 + b2, atol=1e-12)
    else:
        np.testing.assert_allclose(out.sum(1), 1, atol=1e-12)


def test_sigmoid_binary_crossentropy_is_fused():
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")], seed=0)
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    assert model._trainer.heads[0].loss_name == "sigmoid_bce"
    probs = model.predict(np.ones((2, 3), np.float32))
    assert ((probs > 0) & (probs < 1)).all()


def test_keras_style_mnist_script_runs():
    """A Keras Sequential MNIST script, ported by changing the import."""
    keras = fastnn
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist_10k.load_data()
    x_train = x_train[:512].reshape(-1, 784).astype("float32") / 255
    y_train = y_train[:512]
    model = keras.Sequential([
        keras.layers.Input(shape=(784,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 2 and history.epoch == [0, 1]
    loss, acc = model.evaluate(x_train, y_train, verbose=0)
    assert acc > 0.5


def test_deferred_build_from_data_and_input_shape_kwarg():
    model = fastnn.Sequential([layers.Dense(4, activation="tanh"), layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((5, 3)), np.zeros((5, 2)), verbose=0)
    assert model.input_shape == (None, 3)
    model2 = fastnn.Sequential([layers.Dense(4, input_shape=(3,))])
    model2.build()
    assert model2.get_weights()[0].shape == (3, 4)


def test_float64_everywhere():
    model = lenet(dtype="float64")
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((4, 28, 28, 1))
    model.train_on_batch(x, np.arange(4))
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x).dtype == np.float64


def test_backend_selection():
    assert "numpy" in fastnn.available_backends()
    old = fastnn.get_backend()
    try:
        fastnn.set_backend("numpy")
        assert fastnn.get_backend() == "numpy"
        with pytest.raises(ValueError, match="backend must be one of"):
            fastnn.set_backend("tensorflow")
        for name in ("numba", "cython"):
            if name not in fastnn.available_backends():
                with pytest.raises(fastnn.BackendUnavailableError, match=name):
                    fastnn.set_backend(name)
        assert "selected backend" in fastnn.backend_report()
    finally:
        fastnn.set_backend(old)


def test_import_leaves_the_environment_alone():
    # import fastnn sets no variable a child process would inherit (the thread pools are left as they are)
    import subprocess
    import sys

    code = "import os, json; before = dict(os.environ); import fastnn; fastnn.backend_report(); " \
           "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_blas_is_held_to_one_thread_during_fit():
    # the step runs in the kernels' one OpenMP pool: during fit BLAS may not start threads of its own (a
    # callback reads its thread count mid-fit), and after fit it has its count back
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen = []

    class Probe(fastnn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(blas_threads())

    if fastnn.available_backends() == ["numpy"]:
        pytest.skip("no compiled backend: the numpy backend's products are BLAS's, which is then not held")
    if blas_threads() <= {1}:
        pytest.skip("BLAS runs one thread already: nothing to see held")
    selected = fastnn.get_backend()
    fastnn.set_backend("auto")
    try:
        before = blas_threads()
        model = fastnn.Sequential([fastnn.layers.Input((4,)), fastnn.layers.Dense(3, activation="softmax")], seed=0)
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(np.ones((8, 4), np.float32), np.arange(8) % 3, batch_size=4, verbose=0, callbacks=[Probe()])
    finally:
        fastnn.set_backend(selected)
    assert seen and all(s <= {1} for s in seen), seen
    assert blas_threads() == before
    # fits in two Python threads that overlap (A starts, B starts, A ends, B ends): held until the last ends,
    # then BLAS has its count from before the first
    a, b = fastnn.backend.blas_held(), fastnn.backend.blas_held()
    fastnn.set_backend("auto")
    try:
        a.__enter__()
        b.__enter__()
        a.__exit__(None, None, None)
        assert blas_threads() <= {1}
        b.__exit__(None, None, None)
    finally:
        fastnn.set_backend(selected)
    assert blas_threads() == before


_LATE_BLAS = """
import json, numpy as np, fastnn
from threadpoolctl import threadpool_info
blas = lambda: sorted([p["filepath"], p["num_threads"]] for p in threadpool_info() if p["user_api"] == "blas")
seen = []
class Probe(fastnn.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        seen.append(blas())
model = fastnn.Sequential([fastnn.layers.Input((4,)), fastnn.layers.Dense(3, activation="softmax")], seed=0)
model.compile("adam", "sparse_categorical_crossentropy")
x, y = np.ones((8, 4), np.float32), np.arange(8) % 3
model.fit(x, y, batch_size=4, verbose=0)
loaded = blas()
import scipy.linalg
model.fit(x, y, batch_size=4, verbose=0, callbacks=[Probe()])
print(json.dumps({"before": loaded, "during": seen[-1], "after": blas()}))
"""


def test_a_blas_loaded_after_a_fit_is_held_in_the_next():
    # the BLAS libraries are looked for once and again after an import: scipy's own OpenBLAS, loaded between
    # two fits, is held in the second
    import json
    import os
    import subprocess
    import sys

    if fastnn.available_backends() == ["numpy"]:
        pytest.skip("no compiled backend: BLAS is then not held")
    env = {**os.environ, "FASTNN_BACKEND": "auto"}   # the numpy backend holds nothing
    proc = subprocess.run([sys.executable, "-c", _LATE_BLAS], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    if len(out["after"]) <= len(out["before"]):
        pytest.skip("scipy.linalg brought no BLAS library of its own")
    if {n for _, n in out["after"]} == {1}:
        pytest.skip("BLAS runs one thread already: nothing to see held")
    assert [path for path, _ in out["during"]] == [path for path, _ in out["after"]]
    assert {n for _, n in out["during"]} == {1}, out


def test_thread_count_from_environment_reaches_blas():
    # FASTNN_NUM_THREADS=1 holds BLAS (the dense layers' GEMMs) to one thread as set_num_threads(1) does;
    # without the variable, BLAS keeps the thread count it started with
    import os
    import subprocess
    import sys

    code = ("import fastnn, numpy as np; from threadpoolctl import threadpool_info; "
            "blas = lambda: [p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas']; "
            "before = blas(); fastnn.set_backend('numpy'); print(before, blas())")
    env = {k: v for k, v in os.environ.items() if k not in ("FASTNN_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                            "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "FASTNN_NUM_THREADS": "1"},
                         capture_output=True, text=True, check=True)
    before, after = out.stdout.strip().split("] [")
    assert set(after.strip("[]").split(", ")) == {"1"}, out.stdout
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    before, after = out.stdout.strip().split("] [")
    assert before.strip("[]") == after.strip("[]"), out.stdout
    bad = subprocess.run([sys.executable, "-c", code], env={**env, "FASTNN_NUM_THREADS": "two"},
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "FASTNN_NUM_THREADS must be a positive integer. Received: 'two'" in bad.stderr


def test_backend_from_environment(monkeypatch):
    import subprocess
    import sys

    code = "import fastnn; print(fastnn.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "FASTNN_BACKEND": "numpy"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "numpy"
    bad = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "FASTNN_BACKEND": "nope"},
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "backend must be one of" in bad.stderr


def test_model_resolves_kernels_once_per_backend(monkeypatch):
    """Kernels are looked up at build/compile time; a training step makes no registry lookups."""
    from fastnn import backend

    model = lenet()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.build()
    calls = []
    real = backend.kernel
    monkeypatch.setattr(backend, "kernel", lambda *a, **k: calls.append(a) or real(*a, **k))
    x = np.zeros((4, 28, 28, 1), np.float32)
    model.train_on_batch(x, np.arange(4))
    model.train_on_batch(x, np.arange(4))
    assert calls == []


def test_threads_setting():
    n = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        assert fastnn.get_num_threads() == 1
        with pytest.raises(ValueError, match="positive int"):
            fastnn.set_num_threads(0)
    finally:
        fastnn.set_num_threads(n)


def test_input_batch_size_is_kept_and_shown_and_other_batch_sizes_are_fed():
    model = fastnn.Sequential([layers.Input((3,), batch_size=8), layers.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    assert model.input_shape == (8, 3) and model.output_shape == (8, 2)
    assert model.get_config()["batch_size"] == 8
    assert layers.Input((3,), batch_size=8).get_config() == {"name": None, "shape": [3], "batch_size": 8}
    model.fit(np.zeros((5, 3)), np.zeros((5, 2)), batch_size=2, verbose=0)
    assert model.predict(np.zeros((3, 3))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"Input\(batch_size=...\) expects an integer >= 1. Received: batch_size=0"):
        layers.Input((3,), batch_size=0)


def test_input_batch_size_survives_save_and_spec(tmp_path):
    import json

    model = fastnn.Sequential([layers.Input((3,), batch_size=4), layers.Dense(2)], seed=0)
    model.build()
    model.save(tmp_path / "m.fastnn")
    assert fastnn.load_model(tmp_path / "m.fastnn").input_shape == (4, 3)
    (tmp_path / "m.json").write_text(json.dumps(model.get_config()))
    assert fastnn.models.from_spec(tmp_path / "m.json").get_config() == model.get_config()


@pytest.mark.parametrize("verbose, lines", [(0, 0), (2, 1)])
def test_predict_and_evaluate_honour_verbose(capsys, verbose, lines):
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((10, 3), np.float32), np.zeros(10, np.int64)
    model.predict(x, batch_size=4, verbose=verbose)
    out = capsys.readouterr().out
    assert out.count("\n") == lines and (not lines or out.startswith("3/3 - "))
    model.evaluate(x, y, batch_size=4, verbose=verbose)
    out = capsys.readouterr().out
    assert out.count("\n") == lines and (not lines or ("3/3 - " in out and "accuracy: 1.0000" in out))
    with pytest.raises(ValueError, match="`verbose` expects 0, 1, 2 or 'auto'. Received: verbose=3"):
        model.predict(x, verbose=3)


@pytest.mark.slow
def test_training_gives_the_same_weights_whatever_was_loaded_first():
    # LeNet-5-like steps in fresh processes: fastnn first; NumPy, SciPy and (when installed) torch with its own
    # OpenMP runtime first, with OMP_WAIT_POLICY=ACTIVE exported: the same bits
    import importlib.util
    import os
    import subprocess
    import sys

    script = (
        "{first}import fastnn, hashlib, numpy as np\n"
        "from fastnn import layers\n"
        "model = fastnn.Sequential([layers.Input((12, 12, 1)), layers.Conv2D(4, 3, activation='relu'),\n"
        "    layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(16, activation='relu'),\n"
        "    layers.Dense(3, activation='softmax')], seed=0)\n"
        "model.compile('adam', 'sparse_categorical_crossentropy')\n"
        "rng = np.random.default_rng(0)\n"
        "model.fit(rng.random((96, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, 96), batch_size=32,\n"
        "          epochs=2, verbose=0)\n"
        "print(hashlib.sha256(b''.join(w.tobytes() for w in model.get_weights())).hexdigest())\n")
    firsts = ["", "import numpy, scipy.linalg\n"]
    if importlib.util.find_spec("torch") is not None:
        firsts.append("import torch\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    digests = set()
    for first in firsts:
        for policy in ({}, {"OMP_WAIT_POLICY": "ACTIVE"}):
            done = subprocess.run([sys.executable, "-c", script.format(first=first)], env={**env, **policy},
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
            digests.add(done.stdout.split()[-1])
    assert len(digests) == 1, digests
