"""A 10-step training trajectory of a small CNN must agree across backends (catches what single-op tests
miss: workspace reuse, in-place contracts, optimizer state, dropout streams, batch-norm statistics)."""
import numpy as np
import pytest

import fastnn
from fastnn import layers

BACKENDS = [b for b in fastnn.available_backends() if b != "numpy"]
TOL = {"float32": 2e-3, "float64": 1e-9}


def run(backend_name, dtype, optimizer):
    old = fastnn.get_backend()
    fastnn.set_backend(backend_name)
    try:
        model = fastnn.Sequential([
            layers.Input((12, 10, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(6, (3, 2), strides=(1, 2), activation="tanh"),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dropout(0.25, seed=3),
            layers.Dense(16, activation="sigmoid"),
            layers.Dense(5, activation="softmax"),
        ], seed=0, dtype=dtype)
        model.compile(optimizer, "sparse_categorical_crossentropy")
        rng = np.random.default_rng(1)
        x = rng.normal(size=(10, 7, 12, 10, 2))
        y = rng.integers(0, 5, size=(10, 7))
        losses = [model.train_on_batch(x[0], y[0]) for i in range(10)]   # one batch: the loss must fall
        return np.array(losses), model.get_weights(), model.predict(x[0])
    finally:
        fastnn.set_backend(old)


@pytest.mark.skipif(not BACKENDS, reason="no compiled backend available")
@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", ["adam", "sgd_nesterov", "rmsprop"])
def test_ten_steps_match_reference(backend_name, dtype, opt):
    make = {"adam": lambda: fastnn.optimizers.Adam(1e-2),
            "sgd_nesterov": lambda: fastnn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
            "rmsprop": lambda: fastnn.optimizers.RMSprop(1e-2)}[opt]
    ref_losses, ref_w, ref_pred = run("numpy", dtype, make())
    losses, w, pred = run(backend_name, dtype, make())
    tol = TOL[dtype]
    assert ref_losses[-1] < ref_losses[0]   # it does train
    np.testing.assert_allclose(losses, ref_losses, rtol=tol, atol=tol)
    for a, b in zip(w, ref_w):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    np.testing.assert_allclose(pred, ref_pred, rtol=tol, atol=tol)
