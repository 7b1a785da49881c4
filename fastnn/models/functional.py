"""Functional models, as keras.Model(inputs, outputs): layers called on symbolic values make a graph, which
runs in the same trainer, on the same kernels, as a Sequential model.

    inputs = fastnn.layers.Input((784,))
    h = fastnn.layers.Dense(128, activation="relu")(inputs)
    skip = fastnn.layers.add([h, fastnn.layers.Dense(128, activation="relu")(h)])
    model = fastnn.Model(inputs, fastnn.layers.Dense(10, activation="softmax")(skip))

A model has one input or several, one output or several; a value may feed several layers (residual
connections), merge layers (Add, Concatenate...) read several values, and a layer may be called more than
once (a shared layer: one set of weights, whose gradients from every call are added).
"""
from ..layers import InputLayer
from ..layers.base import symbolic_of
from ..trainers.data import by_key
from .graph import Graph, Node
from .sequential import Sequential, _snake, unique_name


class Functional(Sequential):
    """A model made of layers called on symbolic values (fastnn.Model(inputs, outputs) builds one).

    Everything Sequential offers works the same (compile, fit, evaluate, predict, weights, summary with
    "Connected to", save and load, to_json); layers lists the InputLayers first, as Keras's does, and the
    others in an order where every layer comes after those it reads.

    A model of several inputs takes x as a list in the order of `inputs` or a dict keyed by the Inputs' names
    (a dict of Inputs names each by its key); one of several outputs returns a list from predict (a dict when
    `outputs` was a dict), and takes targets, losses, loss weights and metrics per output: lists in the
    order of `outputs`, or dicts keyed by the output layers' names (or by `outputs`' keys when it was a dict).
    """

    config_class = "Functional"

    def __init__(self, inputs, outputs, name=None, seed=None, dtype=None, build=True):
        super().__init__(name=name or "functional", seed=seed, dtype=dtype)
        self._set_graph(inputs, outputs, build)

    def _set_graph(self, inputs, outputs, build=True):
        """Take the graph from inputs to outputs (symbolic values, or from_parts' input layers and tuple)."""
        if isinstance(outputs, _Parts):   # from_parts: no tracing
            sources, parts = list(inputs), outputs
            layers, node_layers, inbound = parts.layers, parts.node_layers, parts.inbound
            out_values, out_keys = parts.outputs, parts.output_keys
        else:
            in_keys, tensors = _many("inputs", inputs)
            if not all(isinstance(t.layer, InputLayer) for t in tensors):
                raise TypeError(f"Model(inputs=...) expects fastnn.layers.Input(...) values. Received: {inputs!r}")
            for key, tensor in zip(in_keys or (), tensors):
                if key != tensor.layer.name:
                    raise ValueError(f"Model(inputs=...) as a dict expects each key to be its Input's name "
                                     f"(Input(..., name={key!r})). Received: key {key!r} for {tensor.layer!r}")
            if len({id(t) for t in tensors}) != len(tensors):
                raise ValueError(f"Model(inputs=...) lists an Input twice. Received: inputs={inputs!r}")
            out_keys, results = _many("outputs", outputs)
            sources = [t.layer for t in tensors]
            layers, node_layers, inbound, out_values = _trace(tensors, results)
        taken = set()
        for source in sources:
            source.name = unique_name(source.name or "input_layer", taken)
            taken.add(source.name)
        first = len(sources)
        read = {v for reads in inbound for v in reads}
        unused = [source.name for i, source in enumerate(sources) if i not in read]
        if unused:
            raise ValueError(f"Model: the outputs do not depend on the Input(s) {unused}")
        if out_keys is not None and len(set(out_keys)) != len(out_keys):
            raise ValueError(f"Model(outputs=...) names an output twice. Received: keys {list(out_keys)}")
        self._input_layers = sources
        self._input_shape, self._batch_size = sources[0].input_shape, sources[0].batch_size
        for layer in layers:
            layer.name = self._unique_name(layer.name or _snake(type(layer).__name__), taken)
            self._layers.append(layer)
        # the calls in order: (the layer's index in _layers, the values the call reads: the inputs first,
        # 0 .. len(inputs) - 1, then len(inputs) + j for call j's output)
        self._nodes = [(int(k), tuple(v)) for k, v in zip(node_layers, inbound)]
        self._outputs = [first + len(self._nodes) - 1] if out_values is None else [int(v) for v in out_values]
        self._output_dict_keys = None if out_keys is None else list(out_keys)
        self.build() if build else self._declare()

    def _unique_name(self, base, also=()):
        return unique_name(base, {layer.name for layer in self._layers} | set(also)
                           | {layer.name for layer in getattr(self, "_input_layers", ())})

    @classmethod
    def from_parts(cls, input_layers, layers, node_layers, inbound, outputs=None, output_keys=None, name=None,
                   seed=None, dtype=None, build=True):
        """A model of input_layers (an InputLayer or a list) and layers, called in order: call i is layer
        node_layers[i] on the values inbound[i] (the inputs first, then call j's output), as get_config()
        describes it; outputs: the values that are the model's outputs (None: the last call's);
        output_keys: the keys of outputs given as a dict. build=False declares the weights without
        allocating them."""
        if isinstance(input_layers, InputLayer):
            input_layers = [input_layers]
        return cls(input_layers, _Parts(layers, node_layers, inbound, outputs, output_keys), name=name, seed=seed,
                   dtype=dtype, build=build)

    @property
    def _input_layer(self):
        return self._input_layers[0] if self._input_layers else None

    @property
    def input_shape(self):
        """(None, ...) of the input; a list of them for a model of several inputs."""
        if not self._input_layers:
            return super().input_shape
        shapes = [(layer.batch_size,) + layer.input_shape for layer in self._input_layers]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """(None, ...) of the output; a list of them for a model of several outputs (once built)."""
        if not self.built:
            return None
        shapes = [(self._batch_size,) + shape for shape in self._output_shapes]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def _input_shapes(self):
        return [layer.input_shape for layer in self._input_layers] if self._input_layers else [self._input_shape]

    @property
    def _input_names(self):
        return [layer.name for layer in self._input_layers] if self._input_layers else [None]

    @property
    def output_names(self):
        """The names of the layers whose calls are the outputs (keras.Model.output_names); a layer that gives
        two outputs (a shared layer) names the second name_1."""
        names = []
        for layer in self._output_layers():
            names.append(unique_name(layer.name, names))
        return names

    @property
    def _output_keys(self):
        if not self._input_layers:
            return [None]
        return list(self._output_dict_keys) if self._output_dict_keys is not None else self.output_names

    @property
    def _output_shapes(self):
        return [layer.output_shape for layer in self._output_layers()]

    def _output_layers(self):
        """The layer whose call gives each output, in order."""
        first = len(self._input_layers)
        return [self._layers[self._nodes[v - first][0]] for v in self._outputs]

    def _structured(self, outputs):
        if self._output_dict_keys is not None:
            return dict(zip(self._output_dict_keys, outputs))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    @property
    def layers(self):
        return [*self._input_layers, *self._layers] if self._input_layers else []

    def add(self, layer, rebuild=True):
        raise TypeError("a functional model's layers are fixed when it is made; add() is Sequential's")

    def pop(self, rebuild=True):
        raise TypeError("a functional model's layers are fixed when it is made; pop() is Sequential's")

    def _declare(self, input_shape=None):
        if input_shape is not None and len(self._input_layers) > 1:
            raise ValueError(f"build(input_shape=...): {self.name} has {len(self._input_layers)} inputs whose shapes "
                             "its Inputs fix")
        super()._declare(input_shape)
        if input_shape is not None:
            self._input_layers[0].input_shape = self._input_shape

    def _declare_layers(self):
        """Build each layer at its first call; a later call must read what the first one read."""
        shapes, first = list(self._input_shapes), {}
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
        return Graph((Node(self._layers[k], inbound) for k, inbound in self._nodes), outputs=self._outputs,
                     n_inputs=len(self._input_layers))

    def _apply(self, tensor):
        """The model's calls replayed on tensor (a list or dict of them for several inputs: the model called
        inside another one being made); its output, or a list of them."""
        names = self._input_names
        if len(names) > 1:
            values = list(by_key(tensor, names, "input", f"{self.name}(inputs)"))
        else:
            values = [tensor]
        for k, inbound in self._nodes:
            layer, reads = self._layers[k], [values[v] for v in inbound]
            values.append(layer(reads if layer.merges else reads[0]))
        return self._structured([values[v] for v in self._outputs])

    def _value_names(self):
        """How summary() names each value: the inputs' names, then each call's layer (name[i] for its call i)."""
        calls, names = {}, list(self._input_names)
        counts = {k: sum(1 for j, _ in self._nodes if j == k) for k, _ in self._nodes}
        for k, _ in self._nodes:
            calls[k] = calls.get(k, -1) + 1
            name = self._layers[k].name
            names.append(f"{name}[{calls[k]}]" if counts[k] > 1 else name)
        return names

    def _summary_rows(self):
        names = self._value_names()
        rows = [(f"{layer.name} (InputLayer)", str((None,) + layer.input_shape), "0", "-")
                for layer in self._input_layers]
        for k, layer in enumerate(self._layers):
            reads = "; ".join(", ".join(names[v] for v in inbound) for j, inbound in self._nodes if j == k)
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + layer.output_shape),
                         f"{layer.count_params():,}", reads))
        return ("Layer (type)", "Output Shape", "Param #", "Connected to"), rows

    def get_config(self):
        """Sequential's config, plus the input layer's name and, per call in order, the layer it calls
        ("node_layers", indices into "layers") and the values it reads ("inbound"). A model of several inputs
        or outputs adds "inputs" (each one's name, shape and batch size; "input_shape" is the first's),
        "outputs" (the values that are its outputs) and "output_keys" (when outputs were a dict)."""
        config = {**super().get_config(), "input_name": self._input_layer.name,
                  "node_layers": [k for k, _ in self._nodes], "inbound": [list(v) for _, v in self._nodes]}
        several = len(self._input_layers) > 1 or self._outputs != [len(self._input_layers) + len(self._nodes) - 1]
        if several or self._output_dict_keys is not None:
            config["inputs"] = [{"name": layer.name, "shape": list(layer.input_shape),
                                 "batch_size": layer.batch_size} for layer in self._input_layers]
            config["outputs"] = list(self._outputs)
            config["output_keys"] = self._output_dict_keys
        return config


class _Parts:
    """A graph as from_parts gives it (what get_config() describes), instead of symbolic values."""

    def __init__(self, layers, node_layers, inbound, outputs, output_keys):
        self.layers, self.node_layers, self.inbound = layers, node_layers, inbound
        self.outputs, self.output_keys = outputs, output_keys


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
        self._input_layers, self._nodes, self._outputs, self._output_dict_keys = [], [], [], None

    @property
    def _traces_at_first_data(self):
        """Whether the model is a subclass not traced yet, whose inputs the first data's structure decides."""
        return not self._input_layers

    def call(self, inputs, training=None):
        raise NotImplementedError

    def build(self, input_shape=None):
        """Trace call() on Inputs of input_shape (per sample, a leading None accepted; a list of shapes for a
        call() that takes a list of inputs)."""
        if self._input_layers:
            return super().build(input_shape)
        shape = self._input_shape if input_shape is None else input_shape
        if shape is None:
            raise ValueError(f"{type(self).__name__} is built when it first meets data (fit, predict) or by "
                             "build(input_shape)")
        several = isinstance(shape, list) and shape and all(isinstance(s, (list, tuple)) for s in shape)
        sources = [InputLayer(_per_sample(s)) for s in (shape if several else [shape])]
        symbolic = [source.symbolic for source in sources]
        self._set_graph(symbolic, self.call(symbolic if several else symbolic[0]))


def _per_sample(shape):
    shape = tuple(shape)
    return shape[1:] if shape and shape[0] is None else shape


def _many(what, tensors):
    """(the dict's keys or None, the symbolic values) of inputs= or outputs=: a value, or a list, tuple or
    dict of them."""
    keys = None
    if isinstance(tensors, dict):
        keys = list(tensors)
        if not all(isinstance(k, str) for k in keys):
            raise TypeError(f"Model({what}=...) as a dict expects string keys. Received: keys {keys}")
        tensors = list(tensors.values())
    elif not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    if not tensors:
        raise ValueError(f"Model({what}=...) expects at least one symbolic value. Received: {what}=[]")
    found = []
    for t in tensors:
        tensor = symbolic_of(t)
        if tensor is None:
            raise TypeError(f"Model({what}=...) expects symbolic values (fastnn.layers.Input(...) and layer outputs). "
                            f"Received: {t!r}")
        found.append(tensor)
    return keys, found


def _trace(sources, outputs):
    """(the layers, each once, in the order of their first call; per call in an order where each comes after
    what it reads, its layer's index and the values it reads; the values that are the outputs) of the graph
    from the sources to the outputs; ValueError when an output depends on an Input not among the sources, or
    an output is an Input."""
    order, index = [], {id(source): i for i, source in enumerate(sources)}
    first = len(sources)

    def visit(tensor):   # symbolic values are made after their inputs: no cycles to look for
        if id(tensor) in index:
            return
        if isinstance(tensor.layer, InputLayer):
            raise ValueError(f"Model: an output depends on an Input not given in Model(inputs=...): {tensor.layer!r}")
        for t in tensor.inputs:
            visit(t)
        order.append(tensor)
        index[id(tensor)] = first + len(order) - 1

    for output in outputs:
        if isinstance(output.layer, InputLayer):
            raise ValueError(f"Model: an output is an Input itself ({output.layer!r}); add at least one layer")
        visit(output)
    values = [index[id(t)] for t in outputs]
    if len(set(values)) != len(values):
        raise ValueError(f"Model(outputs=...) lists a value twice. Received: outputs={outputs!r}")
    layers, position = [], {}
    for tensor in order:
        if id(tensor.layer) not in position:
            position[id(tensor.layer)] = len(layers)
            layers.append(tensor.layer)
    return (layers, [position[id(t.layer)] for t in order],
            [[index[id(t)] for t in tensor.inputs] for tensor in order], values)
