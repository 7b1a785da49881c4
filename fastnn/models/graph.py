"""The graph a model hands its trainer: layer calls (nodes) in an order where every input comes first.

Values are numbered: 0 is the model's input, i + 1 the output of node i. A Sequential model is a chain
(node i reads value i); a functional model lists its nodes in topological order with the values each
reads: one for most layers, several for a merge layer (Add, Concatenate...). A value may be read by
several nodes (a residual connection); the trainer then adds the gradients they send back into a buffer
of the value's own. The trainer walks the nodes forward, and in reverse for the gradients.
"""


class Node:
    """One call of a layer: the values it reads, and whether the gradient must flow on to them.

    inputs is a tuple of value numbers; need_dx is a bool for a layer of one input (as its backward takes
    it), a tuple of bools, one per input, for a merge layer."""

    __slots__ = ("layer", "inputs", "need_dx")

    def __init__(self, layer, inputs):
        self.layer, self.inputs, self.need_dx = layer, tuple(inputs), False

    @property
    def merges(self):
        return getattr(self.layer, "merges", False)


class Graph:
    """Nodes in topological order, the value that is the model's output, and the values read more than once
    (`shared`: their gradients are sums)."""

    def __init__(self, nodes, output=None):
        self.nodes = list(nodes)
        self.output = len(self.nodes) if output is None else output
        reads = {}
        for i, node in enumerate(self.nodes):
            if not node.inputs or (len(node.inputs) > 1 and not node.merges):
                raise ValueError(f"node {i} ({node.layer!r}) expects one input. Received: inputs={node.inputs}")
            for v in node.inputs:
                if not 0 <= v <= i:
                    raise ValueError(f"node {i} ({node.layer!r}) reads value {v}; a node reads the model's input "
                                     f"or the outputs of the nodes before it (values 0..{i})")
                reads[v] = reads.get(v, 0) + 1
        if not 1 <= self.output <= len(self.nodes):
            raise ValueError(f"the output must be a node's value (1..{len(self.nodes)}). Received: {self.output}")
        self.shared = sorted(v for v, count in reads.items() if count > 1)
        # a node passes a gradient to an input only if some node upstream of it has weights to train
        trains = [False] * (len(self.nodes) + 1)
        for i, node in enumerate(self.nodes):
            flags = tuple(trains[v] for v in node.inputs)
            node.need_dx = flags if node.merges else flags[0]
            trains[i + 1] = any(flags) or any(w.trains for w in node.layer.weights_spec)

    @classmethod
    def chain(cls, layers):
        return cls(Node(layer, (i,)) for i, layer in enumerate(layers))

    @property
    def output_layer(self):
        return self.nodes[self.output - 1].layer

    def value_shape(self, v, input_shape):
        """The per-sample shape of value v (0: the model's input, of input_shape)."""
        return tuple(input_shape) if v == 0 else self.nodes[v - 1].layer.output_shape
