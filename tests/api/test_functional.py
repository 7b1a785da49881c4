"""Functional models (fastnn.Model(inputs, outputs)): graphs with merge layers and values read twice train
with exact gradients on every backend, match Sequential on chains, and save, load and print as Keras's."""
import numpy as np
import pytest

import fastnn
from fastnn import layers as L
from fastnn import optimizers


def _data(n=12, features=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, 3, size=n)


def _every_merge(seed=0, dtype="float64"):
    """A graph with every merge layer, a value read by four layers, and a residual connection."""
    inp = L.Input((4,))
    a = L.Dense(6, activation="tanh")(inp)
    b = L.Dense(6, activation="sigmoid")(a)
    c = L.Dense(6)(a)
    merged = L.concatenate([L.add([a, b]), L.multiply([b, c]), L.subtract([a, c]), L.average([a, b, c]),
                            L.maximum([b, c])])
    out = L.Dense(3, activation="softmax")(merged)
    return fastnn.Model(inp, out, seed=seed, dtype=dtype)


@pytest.fixture(params=fastnn.available_backends())
def backend_name(request):
    previous = fastnn.get_backend()
    fastnn.set_backend(request.param)
    yield request.param
    fastnn.set_backend(previous)


def test_gradients_through_merges_and_shared_values_are_exact(backend_name):
    x, y = _data()
    _gradient_check(_every_merge(), x, y)


def test_a_chain_made_functionally_trains_as_the_same_sequential_model(backend_name):
    x, y = _data(n=32, features=6)
    inp = L.Input((6,))
    out = L.Dense(3, activation="softmax")(L.Dropout(0.2, seed=3)(L.Dense(8, activation="relu")(inp)))
    functional = fastnn.Model(inp, out, seed=0, dtype="float32")
    sequential = fastnn.Sequential([L.Input((6,)), L.Dense(8, activation="relu"), L.Dropout(0.2, seed=3),
                                    L.Dense(3, activation="softmax")], seed=0)
    for model in (functional, sequential):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert all(np.array_equal(a, b) for a, b in zip(functional.get_weights(), sequential.get_weights()))
    h1 = functional.fit(x, y, epochs=3, batch_size=8, verbose=0)
    h2 = sequential.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert h1.history == h2.history
    assert all(np.array_equal(a, b) for a, b in zip(functional.get_weights(), sequential.get_weights()))


def test_summary_config_save_and_load(tmp_path):
    x, y = _data()
    model = _every_merge(dtype="float32")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Connected to" in lines[2] and any("add (Add)" in line and "dense, dense_1" in line for line in lines)
    assert lines[4].startswith("| input_layer (InputLayer)")
    assert [layer.name for layer in model.layers][:3] == ["input_layer", "dense", "dense_1"]
    model.save(tmp_path / "graph.fastnn")
    loaded = fastnn.load_model(tmp_path / "graph.fastnn")
    assert isinstance(loaded, fastnn.models.Functional) and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, y, epochs=1, verbose=0)    # with the optimizer state it was saved with
    again = fastnn.models.model_from_json(model.to_json())
    assert again.get_config() == model.get_config()
    assert fastnn.models.clone_model(model).get_config() == model.get_config()


def _gradient_check(model, x, y, entries=3, seed=1, sample_weight=None, **compiled):
    """Each weight's gradient from one SGD step at rate 1 against central differences of the loss (the
    model's whole loss: for several outputs, their weighted sum); compiled: compile()'s loss, loss_weights."""
    compiled.setdefault("loss", "sparse_categorical_crossentropy")
    model.compile(optimizers.SGD(1.0), **compiled)
    before = model.get_weights()
    model.train_on_batch(x, y, sample_weight=sample_weight)
    analytic = [b - a for b, a in zip(before, model.get_weights())]
    rng = np.random.default_rng(seed)
    for k, w in enumerate(before):
        for index in [tuple(rng.integers(0, s) for s in w.shape) for _ in range(entries)]:
            losses = []
            for step in (1e-6, -1e-6):
                moved = [v.copy() for v in before]
                moved[k][index] += step
                model.set_weights(moved)
                losses.append(model.test_on_batch(x, y, sample_weight=sample_weight, return_dict=True)["loss"])
            numeric = (losses[0] - losses[1]) / 2e-6
            assert analytic[k][index] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (k, index)
    model.set_weights(before)


def test_a_residual_block_of_convolutions_has_exact_gradients(backend_name):
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 8, 8, 2)), rng.integers(0, 3, 6)
    inp = L.Input((8, 8, 2))
    h = L.Conv2D(4, 3, padding="same", activation="tanh")(inp)
    r = L.Conv2D(4, 3, padding="same")(L.Conv2D(4, 3, padding="same", activation="relu")(h))
    h = L.Activation("tanh")(L.add([h, r]))
    out = L.Dense(3, activation="softmax")(L.Flatten()(L.MaxPooling2D(2)(h)))
    _gradient_check(fastnn.Model(inp, out, seed=0, dtype="float64"), x, y)


def _shared(dtype="float64"):
    """One Dense called three times (a shared layer), and a shared BatchNormalization."""
    inp = L.Input((4,))
    shared, bn = L.Dense(4, activation="tanh", name="shared"), L.BatchNormalization()
    a = shared(inp)
    b = shared(bn(a))
    c = shared(L.add([a, b]))
    out = L.Dense(3, activation="softmax")(L.concatenate([bn(c), b]))
    return fastnn.Model(inp, out, seed=0, dtype=dtype)


def test_a_shared_layer_sums_the_gradients_of_its_calls(backend_name):
    x, y = _data()
    model = _shared()
    assert len(model.layers) == 6 and len(model.graph.nodes) == 8   # 3 + 2 calls of the shared ones
    assert len(model.get_weights()) == 2 + 4 + 2      # shared Dense, BatchNormalization, output Dense
    inp = L.Input((4,))
    shared = L.Dense(4, activation="tanh")
    pure = fastnn.Model(inp, L.Dense(3, activation="softmax")(shared(shared(shared(inp)))), seed=0, dtype="float64")
    _gradient_check(pure, x, y)   # without batch norm, whose training-mode gradient the check cannot see


def test_a_shared_layer_saves_loads_and_prints(tmp_path):
    x, y = _data()
    model = _shared("float32")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith("| shared (Dense)") and "input_layer; batch_normalization[0]; add" in line
               for line in lines)
    model.save(tmp_path / "shared.fastnn")
    loaded = fastnn.load_model(tmp_path / "shared.fastnn")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_what_functional_models_refuse():
    inp = L.Input((4,))
    dense = L.Dense(3)
    h = dense(inp)
    with pytest.raises(ValueError, match="a shared layer's calls read one shape"):
        fastnn.Model(inp, dense(L.Dense(5)(h)))
    with pytest.raises(TypeError, match=r"call model.predict\(x\)"):
        L.Dense(2)(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="Add expects inputs of one shape"):
        L.add([inp, h])
    with pytest.raises(ValueError, match="Dense expects one input, not a list"):
        L.Dense(2)([inp, h])
    with pytest.raises(ValueError, match=r"do not depend on the Input\(s\) \['input_layer_1'\]"):
        fastnn.Model([inp, L.Input((2,))], h)
    with pytest.raises(ValueError, match="depends on an Input not given"):
        fastnn.Model(L.Input((4,)), h)
    with pytest.raises(ValueError, match="depends on an Input not given"):
        fastnn.Model(inp, L.add([h, dense(L.Input((4,)))]))
    with pytest.raises(ValueError, match="an output is an Input itself"):
        fastnn.Model(inp, [h, inp])
    with pytest.raises(ValueError, match="lists a value twice"):
        fastnn.Model(inp, [h, h])
    with pytest.raises(ValueError, match="lists an Input twice"):
        fastnn.Model([inp, inp], h)
    with pytest.raises(TypeError, match="or a subclass that defines call"):
        fastnn.Model()
    model = fastnn.Model(inp, h)
    with pytest.raises(ValueError, match="is built for inputs of shape"):
        dense(L.Input((5,)))
    with pytest.raises(TypeError, match="Add reads several inputs"):
        fastnn.Sequential([L.Input((4,)), L.Add()])
    with pytest.raises(TypeError, match="add\\(\\) is Sequential's"):
        model.add(L.Dense(2))


def test_a_hostile_graph_config_is_refused():
    config = _every_merge().get_config()
    for inbound in ([[1]] + config["inbound"][1:], "x", [[0]] * len(config["inbound"]),
                    [[0, 0]] + config["inbound"][1:], config["inbound"][:-1], [[]] + config["inbound"][1:]):
        with pytest.raises(ValueError):
            fastnn.models.model_from_config({**config, "inbound": inbound})
    for node_layers in ([0] * len(config["node_layers"]), config["node_layers"][:-1], None, [True] * 9):
        with pytest.raises(ValueError):
            fastnn.models.model_from_config({**config, "node_layers": node_layers})


class Residual(fastnn.Model):
    """The subclassing style of Keras's guides: layers made in __init__, applied in call()."""

    def __init__(self, blocks=2, **kwargs):
        super().__init__(**kwargs)
        self.blocks = blocks
        self.stem = L.Dense(6, activation="tanh")
        self.inner = [L.Dense(6, activation="tanh") for _ in range(blocks)]
        self.head = L.Dense(3, activation="softmax")

    def call(self, inputs, training=None):
        x = self.stem(inputs)
        for layer in self.inner:        # Python control flow that does not depend on the values
            x = L.add([x, layer(x)])
        return self.head(x)


def test_a_subclassed_model_is_traced_at_its_first_data_and_trains_as_its_functional_twin(backend_name):
    x, y = _data(n=24)
    model = Residual(seed=0, dtype="float64")
    assert not model.built and model.layers == []
    with pytest.raises(ValueError, match="the model is not built yet"):
        model.summary()
    with pytest.raises(ValueError, match="is built when it first meets data"):
        model.build()
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    assert model.built and model.name == "residual" and len(model.layers) == 1 + 1 + 2 + 2 + 1
    inp = L.Input((4,))
    h = L.Dense(6, activation="tanh")(inp)
    for _ in range(2):
        h = L.add([h, L.Dense(6, activation="tanh")(h)])
    twin = fastnn.Model(inp, L.Dense(3, activation="softmax")(h), seed=0, dtype="float64")
    twin.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    twin.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), twin.get_weights()))



def test_a_subclassed_model_builds_on_build_and_saves_as_functional(tmp_path):
    model = Residual(blocks=1)
    model.build((None, 4))
    assert model.output_shape == (None, 3)
    model.save(tmp_path / "sub.fastnn")
    loaded = fastnn.load_model(tmp_path / "sub.fastnn")
    assert isinstance(loaded, fastnn.models.Functional) and loaded.get_config() == model.get_config()


def test_transfer_learning_with_a_model_called_as_a_layer():
    x, y = _data(n=32)
    base = fastnn.Sequential([L.Input((4,)), L.Dense(8, activation="relu"), L.Dense(6, activation="relu")], seed=0)
    base.compile(optimizers.SGD(0.1), "mse")
    features = base.predict(x)
    base.trainable = False
    inputs = L.Input((4,))
    model = fastnn.Model(inputs, L.Dense(3, activation="softmax")(base(inputs, training=False)), seed=1)
    model.compile(optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    assert len(model.layers) == 4 and len(model.trainable_weights) == 2
    model.fit(x, y, epochs=3, verbose=0)
    np.testing.assert_array_equal(base.predict(x), features)        # frozen: the base's weights as they were
    base.trainable = True                                           # fine-tune everything, at a low rate
    model.compile(optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    tuned = base.predict(x)                                         # the base runs on the weights the model trained
    assert not np.array_equal(tuned, features)
    np.testing.assert_array_equal(tuned, fastnn.Model(inputs, base(inputs)).predict(x))


def test_two_models_built_from_the_same_layers_share_their_weights():
    x, y = _data(n=32)
    inputs = L.Input((4,))
    code = L.Dense(2, activation="tanh", name="code")(L.Dense(6, activation="relu")(inputs))
    encoder = fastnn.Model(inputs, code)
    autoencoder = fastnn.Model(inputs, L.Dense(4)(code))
    autoencoder.compile("adam", "mse")
    before = encoder.predict(x)
    autoencoder.fit(x, x, epochs=3, verbose=0)
    after = encoder.predict(x)
    assert not np.array_equal(before, after)                        # the encoder sees the training
    reconstructed = autoencoder.predict(x)
    encoder.compile(optimizers.SGD(0.1), "mse")
    encoder.fit(x, np.zeros((32, 2)), epochs=1, verbose=0)          # and trains the shared layers in turn
    assert not np.array_equal(autoencoder.predict(x), reconstructed)
    assert autoencoder.get_layer("code") is encoder.get_layer("code")
