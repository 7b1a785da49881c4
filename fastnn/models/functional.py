"""Functional models, as keras.Model(inputs, outputs): layers called on symbolic values make a graph, which
runs in the same trainer, on the same kernels, as a Sequential model.

    inputs = fastnn.layers.Input((784,))
    h = fastnn.layers.Dense(128, activation="relu")(inputs)
    skip = fastnn.layers.add([h, fastnn.layers.Dense(128, activation="relu")(h)])
    model = fastnn.Model(inputs, fastnn.layers.Dense(10, activation="softmax")(skip))

A model has one input and one output; a value may feed several layers (residual connections), merge
layers (Add, Concatenate...) read several values, and a layer may be called more than once (a shared
layer: one set of weights, whose gradients from every call are added).
"""
from ..layers import InputLayer, KerasTensor
from .graph import Graph, Node
from .sequential import Sequential, _snake


class Functional(Sequential):
    """A model made of layers called on symbolic values (fastnn.Model(inputs, outputs) builds one).

    Everything Sequential offers works the same (compile, fit, evaluate, predict, weights, summary with
    "Connected to", save and load, to_json); layers lists the InputLayer first, as Keras's does, and the
    others in an order where every layer comes after those it reads."""

    config_class = "Functional"

    def __init__(self, inputs, outputs, name=None, seed=None, dtype=None, build=True):
        super().__init__(name=name or "functional", seed=seed, dtype=dtype)
        self._set_graph(inputs, outputs, build)

    def _set_graph(self, inputs, outputs, build=True):
        """Take the graph from inputs to outputs (symbolic values, or from_parts' input layer and tuple)."""
        if isinstance(inputs, InputLayer) and isinstance(outputs, tuple):   # from_parts: no tracing
            layers, node_layers, inbound = outputs
        else:
            source, output = _one("inputs", inputs), _one("outputs", outputs)
            if not isinstance(source.layer, InputLayer):
                raise TypeError(f"Model(inputs=...) expects fastnn.layers.Input(...). Received: {inputs!r}")
            inputs = source.layer
            layers, node_layers, inbound = _trace(source, output)
        self._input_layer = inputs
        self._input_shape, self._batch_size = inputs.input_shape, inputs.batch_size
        inputs.name = inputs.name or "input_layer"
        for layer in layers:
            layer.name = self._unique_name(layer.name or _snake(type(layer).__name__))
            self._layers.append(layer)
        # the calls in order: (the layer's index in _layers, the values the call reads)
        self._nodes = [(int(k), tuple(v)) for k, v in zip(node_layers, inbound)]
        self.build() if build else self._declare()

    @classmethod
    def from_parts(cls, input_layer, layers, node_layers, inbound, name=None, seed=None, dtype=None, build=True):
        """A model of input_layer and layers, called in order: call i is layer node_layers[i] on the values
        inbound[i] (0: the input, j + 1: call j's output), as get_config() describes it; build=False declares
        the weights without allocating them."""
        return cls(input_layer, (layers, node_layers, inbound), name=name, seed=seed, dtype=dtype, build=build)

    @property
    def output_shape(self):
        return (self._batch_size,) + self._layers[self._nodes[-1][0]].output_shape if self.built else None

    @property
    def layers(self):
        return [self._input_layer, *self._layers] if self._input_layer is not None else []

    def add(self, layer, rebuild=True):
        raise TypeError("a functional model's layers are fixed when it is made; add() is Sequential's")

    def pop(self, rebuild=True):
        raise TypeError("a functional model's layers are fixed when it is made; pop() is Sequential's")

    def _declare_layers(self):
        """Build each layer at its first call; a later call must read what the first one read."""
        shapes, first = [self._input_shape], {}
        for k, inbound in self._nodes:
            layer = self._layers[k]
            reads = [shapes[v] for v in inbound]
            shape = reads if layer.merges else reads[0]
            if k not in first:
                first[k] = shape
                self._build_layer(layer, shape)
            elif first[k] != shape:
                raise ValueError(f"layer {layer.name!r} is called on inputs of shape {first[k]} and then {shape}; "
                                 "a shared layer's calls read one shape")
            shapes.append(layer.output_shape)

    def _make_graph(self):
        return Graph(Node(self._layers[k], inbound) for k, inbound in self._nodes)

    def _apply(self, tensor):
        """The model's calls replayed on tensor (the model called inside another one being made)."""
        values = [tensor]
        for k, inbound in self._nodes:
            layer, reads = self._layers[k], [values[v] for v in inbound]
            values.append(layer(reads if layer.merges else reads[0]))
        return values[-1]

    def _value_names(self):
        """How summary() names each value: the input's name, then each call's layer (name[i] for its call i)."""
        calls, names = {}, [self._input_layer.name]
        counts = {k: sum(1 for j, _ in self._nodes if j == k) for k, _ in self._nodes}
        for k, _ in self._nodes:
            calls[k] = calls.get(k, -1) + 1
            name = self._layers[k].name
            names.append(f"{name}[{calls[k]}]" if counts[k] > 1 else name)
        return names

    def _summary_rows(self):
        names = self._value_names()
        rows = [(f"{self._input_layer.name} (InputLayer)", str((None,) + self._input_shape), "0", "-")]
        for k, layer in enumerate(self._layers):
            reads = "; ".join(", ".join(names[v] for v in inbound) for j, inbound in self._nodes if j == k)
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape),
                         f"{layer.count_params():,}", reads))
        return ("Layer (type)", "Output Shape", "Param #", "Connected to"), rows

    def get_config(self):
        """Sequential's config, plus the input layer's name and, per call in order, the layer it calls
        ("node_layers", indices into "layers") and the values it reads ("inbound")."""
        return {**super().get_config(), "input_name": self._input_layer.name,
                "node_layers": [k for k, _ in self._nodes], "inbound": [list(v) for _, v in self._nodes]}


class Model(Functional):
    """keras.Model, both ways Keras's guides use it.

    Model(inputs, outputs): a functional model from an Input and a layer output reached from it.

    A subclass that makes its layers in __init__ (after super().__init__()) and applies them in
    call(inputs): the model is traced when it first meets data (fit, predict, build(input_shape)), by
    calling call() on a symbolic Input, so call() may use layers, merge functions (layers.add...) and
    Python control flow that does not depend on the values; a `training` argument of call() gets None.
    Traced, it is a functional model (load_model gives back a Functional, not the subclass)."""

    def __init__(self, inputs=None, outputs=None, name=None, seed=None, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"Model() got unexpected arguments {sorted(kwargs)}")
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise TypeError("Model(inputs=..., outputs=...) expects both an Input and an output reached from it")
            super().__init__(inputs, outputs, name=name, seed=seed, dtype=dtype)
            return
        if type(self).call is Model.call:
            raise TypeError("Model() needs inputs= and outputs=, or a subclass that defines call(inputs)")
        Sequential.__init__(self, name=name or _snake(type(self).__name__), seed=seed, dtype=dtype)
        self._input_layer, self._nodes = None, []

    def call(self, inputs, training=None):
        raise NotImplementedError

    def build(self, input_shape=None):
        if self._input_layer is not None:
            return super().build(input_shape)
        shape = self._input_shape if input_shape is None else tuple(input_shape)
        if shape is None:
            raise ValueError(f"{type(self).__name__} is built when it first meets data (fit, predict) or by "
                             "build(input_shape)")
        if shape and shape[0] is None:
            shape = shape[1:]
        source = InputLayer(shape)
        self._set_graph(source.symbolic, self.call(source.symbolic))


def _one(what, tensors):
    """The single symbolic value of inputs= or outputs= (a value, or a list or dict of one)."""
    if isinstance(tensors, dict):
        tensors = list(tensors.values())
    if isinstance(tensors, (list, tuple)):
        if len(tensors) != 1:
            raise NotImplementedError(f"Model({what}=...) with {len(tensors)} values: models of several inputs or "
                                      "outputs are not supported yet")
        tensors = tensors[0]
    tensor = getattr(tensors, "symbolic", tensors)
    if not isinstance(tensor, KerasTensor):
        raise TypeError(f"Model({what}=...) expects symbolic values (fastnn.layers.Input(...) and layer outputs). "
                        f"Received: {tensors!r}")
    return tensor


def _trace(source, output):
    """(the layers, each once, in the order of their first call; per call in an order where each comes after
    what it reads, its layer's index and the values it reads) of the graph from source to output;
    ValueError when output does not depend on source alone."""
    order, index = [], {id(source): 0}

    def visit(tensor):   # symbolic values are made after their inputs: no cycles to look for
        if id(tensor) in index:
            return
        if isinstance(tensor.layer, InputLayer):
            raise ValueError(f"Model: the output depends on an Input other than Model(inputs=...): "
                             f"{tensor.layer!r}; models of several inputs are not supported yet")
        for t in tensor.inputs:
            visit(t)
        order.append(tensor)
        index[id(tensor)] = len(order)

    visit(output)
    if not order:
        raise ValueError("Model: outputs= is the input itself; add at least one layer")
    layers, position = [], {}
    for tensor in order:
        if id(tensor.layer) not in position:
            position[id(tensor.layer)] = len(layers)
            layers.append(tensor.layer)
    return (layers, [position[id(t.layer)] for t in order],
            [[index[id(t)] for t in tensor.inputs] for tensor in order])


