"""fit, evaluate and predict on streams of batches, as Keras takes them: generators, PyDataset, and
iterables such as torch's DataLoader; the same numbers as the arrays the batches came from."""
import numpy as np
import pytest

import fastnn
from fastnn import layers, optimizers
from fastnn.utils import PyDataset

pytestmark = pytest.mark.usefixtures("numpy_backend")   # tests/conftest.py


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def _model():
    model = fastnn.Sequential([layers.Input((4,)), layers.Dense(6, activation="relu"),
                               layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


class Batches(PyDataset):
    def __init__(self, x, y, batch_size, w=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.w, self.batch_size, self.ends = x, y, w, batch_size, 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        batch = (self.x[part].astype(np.float64), self.y[part])   # another dtype: converted on the way in
        return batch if self.w is None else batch + (self.w[part],)

    def on_epoch_end(self):
        self.ends += 1


def test_a_pydataset_trains_as_the_arrays_it_serves():
    x, y = _data()
    w = np.linspace(0.5, 1.5, len(x))
    streamed, arrays = _model(), _model()
    data = Batches(x, y, 6, w, workers=2)
    h1 = streamed.fit(data, epochs=3, verbose=0, validation_data=Batches(x, y, 7))
    h2 = arrays.fit(x, y, batch_size=6, epochs=3, verbose=0, shuffle=False, sample_weight=w,
                    validation_data=(x, y), validation_batch_size=7)
    assert data.ends == 3
    assert h1.history == h2.history
    assert _same(streamed.get_weights(), arrays.get_weights())
    assert streamed.evaluate(Batches(x, y, 5), verbose=0) == arrays.evaluate(x, y, batch_size=5, verbose=0)
    np.testing.assert_array_equal(streamed.predict(Batches(x, y, 5)), arrays.predict(x))


def test_a_generator_runs_steps_per_epoch_batches_and_goes_on_between_epochs():
    x, y = _data()

    def endless():
        while True:
            for lo in range(0, 20, 5):
                yield x[lo:lo + 5], y[lo:lo + 5]

    streamed, arrays = _model(), _model()
    history = streamed.fit(endless(), steps_per_epoch=2, epochs=4, verbose=0)
    arrays.fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False)   # 2 x 2 batches = 1 pass... twice
    assert len(history.history["loss"]) == 4
    assert _same(streamed.get_weights(), arrays.get_weights())
    assert streamed.evaluate(endless(), steps=4, verbose=0) == arrays.evaluate(x, y, batch_size=5, verbose=0)
    assert streamed.predict((b[0] for b in endless()), steps=4).shape == (20, 3)


def test_a_generator_that_runs_out_stops_training_with_a_warning():
    x, y = _data()
    finite = ((x[lo:lo + 5], y[lo:lo + 5]) for lo in range(0, 20, 5))
    with pytest.warns(RuntimeWarning, match="ran out of data after 0 of 4 batches"):
        history = _model().fit(finite, steps_per_epoch=4, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_an_iterable_such_as_a_dataloader_is_read_afresh_each_epoch():
    x, y = _data()

    class Loader:   # the shape of torch.utils.data.DataLoader: __iter__ and __len__, batches of array-likes
        def __iter__(self):
            return iter([(list(map(list, x[lo:lo + 10])), list(y[lo:lo + 10])) for lo in (0, 10)])

        def __len__(self):
            return 2

    streamed, arrays = _model(), _model()
    streamed.fit(Loader(), epochs=2, verbose=0)
    arrays.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False)
    assert _same(streamed.get_weights(), arrays.get_weights())


def test_torch_dataloader():
    torch = pytest.importorskip("torch")
    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=8)
    streamed, arrays = _model(), _model()
    streamed.fit(loader, epochs=2, verbose=0)
    arrays.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert _same(streamed.get_weights(), arrays.get_weights())


def test_what_a_stream_does_not_take():
    x, y = _data()
    model = _model()
    for kwargs, name in (({"y": y}, "y="), ({"sample_weight": np.ones(20)}, "sample_weight="),
                         ({"validation_split": 0.2}, "validation_split=")):
        with pytest.raises(ValueError, match=f"whose batches carry the targets and weights: {name}"):
            model.fit(Batches(x, y, 5), verbose=0, **kwargs)
    with pytest.raises(ValueError, match=r"fit batch 0 expects a tuple \(x, y\)"):
        model.fit(iter([x[:5]]), verbose=0)
    with pytest.raises(ValueError, match=r"fit batch 1: y.* expects labels in \[0, 2\]"):
        model.fit(iter([(x[:5], y[:5]), (x[:5], y[:5] + 5)]), verbose=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(iter([(np.full((2, 4), np.nan), y[:2])]), verbose=0)
    with pytest.raises(ValueError, match="got no batches: the stream is empty"):
        fastnn.Sequential([layers.Dense(3)]).predict(iter([]))


@pytest.mark.parametrize("make", [lambda x, y: Batches(x, y, 5),
                                  lambda x, y: iter([(x[lo:lo + 5], y[lo:lo + 5]) for lo in range(0, 20, 5)])])
def test_a_model_that_has_not_met_data_is_built_from_the_first_batch(make):
    x, y = _data()

    class Small(fastnn.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.hidden, self.out = layers.Dense(6, activation="relu"), layers.Dense(3, activation="softmax")

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs, training=training))

    model = Small()
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(make(x, y), epochs=1, verbose=0)
    assert model.input_shape == (None, 4) and model.name == "small"
    assert set(history.history) == {"loss", "acc"} and len(history.history["loss"]) == 1
    assert model.metrics_names == ["loss", "acc"] and len(model.evaluate(x, y, verbose=0)) == 2


def test_a_finite_generator_without_steps_stops_after_the_epoch_it_ran_out():
    x, y = _data()
    batches = ((x[lo:lo + 5], y[lo:lo + 5]) for lo in range(0, 20, 5))
    with pytest.warns(RuntimeWarning, match="ran out of data after 0 batches .*not restarted"):
        history = _model().fit(batches, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_a_validation_generator_that_runs_out_warns_and_leaves_the_epoch_without_val_logs():
    x, y = _data()
    once = ((x[lo:lo + 5], y[lo:lo + 5]) for lo in range(0, 20, 5))
    with pytest.warns(RuntimeWarning, match="validation: the input ran out of data after 0 batches"):
        history = _model().fit(x, y, epochs=4, verbose=0, validation_data=once, validation_freq=2)
    assert len(history.history["val_loss"]) == 1 and len(history.history["loss"]) == 4


def test_arrays_take_a_stream_for_validation_and_steps_per_epoch():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=5, epochs=2, steps_per_epoch=2, verbose=0, shuffle=False,
                        validation_data=Batches(x, y, 10))
    assert len(history.history["val_loss"]) == 2
    twin = _model()
    twin.fit(np.concatenate([x[:10], x[:10]]), np.concatenate([y[:10], y[:10]]), batch_size=5, epochs=1,
             verbose=0, shuffle=False)                     # 2 batches an epoch, each epoch from the start
    assert _same(model.get_weights(), twin.get_weights())
    with pytest.raises(ValueError, match="got no batches"), pytest.warns(RuntimeWarning, match="ran out"):
        model.evaluate(iter([]), verbose=0)


def test_batches_of_other_dtypes_are_converted_into_buffers_kept_between_batches():
    from fastnn.trainers.adapters import StreamBatches
    rng = np.random.default_rng(0)
    x, y = rng.random((96, 4)), rng.integers(0, 3, 96).astype(np.int32)   # float64 and int32: converted
    stream = StreamBatches(_model(), iter([(x[lo:lo + 32], y[lo:lo + 32]) for lo in range(0, 96, 32)]), None, "fit")
    seen = [(xb, yb) for _, xb, yb, _ in stream.epoch()]
    assert all(xb.dtype == np.float32 and yb.dtype == np.int64 for xb, yb in seen)
    assert all(np.shares_memory(xb, stream._buffers["x"]) and np.shares_memory(yb, stream._buffers["y"])
               for xb, yb in seen)                       # one buffer each, reused by every batch
    np.testing.assert_array_equal(seen[-1][1], y[64:])
