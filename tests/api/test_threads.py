"""One model, several threads: predict and evaluate from any number of threads give one thread's answers,
predict during fit leaves the training untouched, and a second fit while one runs is refused."""
import threading
import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, layers

BACKENDS = fastnn.available_backends()
COMPILED = [b for b in BACKENDS if b != "numpy"]


def cnn(seed=0):
    """Convolution, pooling, batch norm and dropout: every layer kind that writes a context."""
    model = fastnn.Sequential([
        layers.Input((12, 12, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dropout(0.2, seed=5),
        layers.Dense(16, activation="tanh"),
        layers.Dense(3, activation="softmax"),
    ], seed=seed)
    model.compile(fastnn.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, n)


def in_threads(*targets):
    """Run the targets in threads started together; re-raise the first exception one of them raised."""
    start = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            start.wait()
            target()
        except BaseException as exc:   # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _use(name):
    old = fastnn.get_backend()
    fastnn.set_backend(name)
    yield name
    fastnn.set_backend(old)


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    yield from _use(request.param)


@pytest.fixture(params=COMPILED)
def compiled_backend(request):
    yield from _use(request.param)


def test_concurrent_predicts_give_one_threads_answers_while_another_model_trains(backend_name):
    model = cnn()
    x, y = data(64)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)     # moving statistics away from their initial values
    xa, xb = x[:37], x[20:]
    expected_a = model.predict(xa, batch_size=8)             # the same batch sizes as in the threads below
    expected_b = model.predict(xb, batch_size=16)
    expected_loss = model.evaluate(x, y, batch_size=10, verbose=0)
    other = cnn(seed=1)
    wrong = []

    def predicts(rows, batch_size, expected):
        def run():
            for _ in range(25):
                if not np.array_equal(model.predict(rows, batch_size=batch_size), expected):
                    wrong.append(batch_size)
                if model.evaluate(x, y, batch_size=10, verbose=0) != expected_loss:
                    wrong.append("evaluate")
        return run

    in_threads(predicts(xa, 8, expected_a), predicts(xb, 16, expected_b),
               lambda: other.fit(x, y, batch_size=8, epochs=3, verbose=0))
    assert wrong == []


def test_predict_during_fit_leaves_the_training_as_it_would_have_been(backend_name):
    x, y = data(96)
    alone = cnn()
    history_alone = alone.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
    model = cnn()
    done = threading.Event()
    outputs = []

    def predicts():
        while not done.is_set():
            outputs.append(model.predict(x[:10], batch_size=4))

    def fit():
        try:
            return model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
        finally:
            done.set()

    histories = []
    in_threads(predicts, lambda: histories.append(fit()))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert histories[0].history[key] == history_alone.history[key]
    for a, b in zip(model.get_weights(), alone.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert outputs and all(out.shape == (10, 3) and np.isfinite(out).all() for out in outputs)


class _Blocks(callbacks.Callback):
    """Holds fit at its first batch until released, so that another call meets a model in training."""

    def __init__(self):
        super().__init__()
        self.training, self.release = threading.Event(), threading.Event()

    def on_train_batch_begin(self, batch, logs=None):
        self.training.set()
        self.release.wait(60)


def test_a_second_fit_while_one_runs_raises_and_the_model_trains_again_after():
    model = cnn()
    x, y = data(32)
    blocks = _Blocks()
    errors = []

    def meanwhile():
        blocks.training.wait(60)
        for call in (lambda: model.fit(x, y, verbose=0), lambda: model.train_on_batch(x, y)):
            try:
                call()
            except RuntimeError as exc:
                errors.append(str(exc))
        assert model.predict(x[:2]).shape == (2, 3)       # inference is not held up by training
        blocks.release.set()

    in_threads(lambda: model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[blocks]), meanwhile)
    assert len(errors) == 2
    assert "fit() was called on model 'sequential' while it is training" in errors[0]
    assert errors[1].startswith("train_on_batch() was called")
    model.fit(x, y, epochs=1, verbose=0)                    # the lock was given back


def test_fit_from_a_callback_of_its_own_fit_raises():
    model = cnn()
    x, y = data(16)

    class Refit(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.fit(x, y, verbose=0)

    with pytest.raises(RuntimeError, match="while it is training"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[Refit()])
    model.train_on_batch(x, y)                              # released on the way out of the exception


class _Peaks(callbacks.Callback):
    """The most memory (tracemalloc: NumPy's arrays and Python objects) each training step held above its start."""

    def __init__(self):
        super().__init__()
        self.peaks = []

    def on_train_batch_begin(self, batch, logs=None):
        self.base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()

    def on_train_batch_end(self, batch, logs=None):
        self.peaks.append(tracemalloc.get_traced_memory()[1] - self.base)


@pytest.mark.skipif(not COMPILED, reason="no compiled backend available")
def test_a_training_step_allocates_nothing_sized_by_the_batch(compiled_backend):
    # the NumPy reference kernels make temporaries; the compiled ones and the trainer must not
    model = fastnn.models.mlp(seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((2048, 28, 28, 1), dtype=np.float32)
    y = np.arange(2048) % 10
    peaks = _Peaks()
    tracemalloc.start()
    try:
        model.fit(x, y, batch_size=512, epochs=2, verbose=0, callbacks=[peaks])
    finally:
        tracemalloc.stop()
    # the first step allocates the context: one (512, 256) float32 buffer alone is 512 KiB
    assert peaks.peaks[0] > 512 * 1024
    assert max(peaks.peaks[1:]) < 16 * 1024


def test_contexts_are_kept_for_the_most_recent_batch_sizes_not_dropped_all_at_once():
    model = cnn()
    x, _ = data(8)
    pool = model._trainer._pool
    for n in (1, 2, 3, 4, 5, 6):
        model.predict(x[:n])
    kept = list(pool._idle["predict"])
    assert kept == [3, 4, 5, 6]
    model.predict(x[:3])
    assert list(pool._idle["predict"]) == [4, 5, 6, 3]


def mlp(seed=0):
    model = fastnn.Sequential([layers.Input((20,)), layers.Dense(64, activation="relu"),
                               layers.Dense(64, activation="relu"), layers.Dense(3, activation="softmax")], seed=seed)
    model.compile(fastnn.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    return model


class _Snapshots(callbacks.Callback):
    """The weights after every training step."""

    def __init__(self, first):
        super().__init__()
        self.weights = [first]

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())


def test_predict_during_fit_sees_the_weights_of_one_step_never_a_mix(backend_name):
    """Every prediction made while another thread trains equals the prediction of the weights after some
    step (or before the first): an update is never seen half done."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(256, 20)).astype(np.float32), rng.integers(0, 3, 256)
    probe = x[:64]
    model = mlp()
    model.predict(probe, batch_size=64)
    snapshots = _Snapshots(model.get_weights())
    done = threading.Event()
    outputs = []

    def predicts():
        while not done.is_set():
            outputs.append(model.predict(probe, batch_size=64))

    def fit():
        try:
            model.fit(x, y, batch_size=16, epochs=12, verbose=0, callbacks=[snapshots])
        finally:
            done.set()

    in_threads(predicts, predicts, fit)
    replay = mlp()
    candidates = []
    for weights in snapshots.weights:
        replay.set_weights(weights)
        candidates.append(replay.predict(probe, batch_size=64))
    assert len(outputs) >= 5
    mixed = [i for i, out in enumerate(outputs) if not any(np.array_equal(out, c) for c in candidates)]
    assert mixed == []


def test_a_training_step_interrupted_while_it_waits_does_not_block_inference():
    """Ctrl-C arriving while a step waits for inference batches to finish: later batches still run."""
    from fastnn.trainers.guard import WeightsGuard
    guard = WeightsGuard()
    guard.begin_read()
    wait = guard._cond.wait

    def interrupted(*args):
        raise KeyboardInterrupt
    guard._cond.wait = interrupted
    with pytest.raises(KeyboardInterrupt):
        guard.begin_write()
    guard._cond.wait = wait
    guard.end_read()
    reader = threading.Thread(target=lambda: (guard.begin_read(), guard.end_read()), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive()
    guard.begin_write()
    guard.end_write()
