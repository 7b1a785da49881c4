"""The graph a model hands its trainer: layer calls (nodes) in an order where every input comes first.

Values are numbered: the model's inputs first (0 .. n_inputs - 1), then n_inputs + i the output of node i.
A Sequential model is a chain of one input (node i reads value i); a functional model lists its nodes in
topological order with the values each reads: one for most layers, several for a merge layer (Add,
Concatenate...). Its outputs are values too. A value may be read by several nodes, or by a node and as an
output (a residual connection, a head that feeds another); the trainer then adds the gradients sent back to
it into a buffer of the value's own. The trainer walks the nodes forward, and in reverse for the gradients.
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
    """Nodes in topological order, the values that are the model's outputs, and the values whose gradients
    are sums (`shared`: read more than once, counting each time a value is an output)."""

    def __init__(self, nodes, outputs=None, n_inputs=1):
        self.nodes = list(nodes)
        self.n_inputs = n_inputs
        end = n_inputs + len(self.nodes)
        self.outputs = (end - 1,) if outputs is None else tuple(outputs)
        reads = {}
        for i, node in enumerate(self.nodes):
            if not node.inputs or (len(node.inputs) > 1 and not node.merges):
                raise ValueError(f"node {i} ({node.layer!r}) expects one input. Received: inputs={node.inputs}")
            for v in node.inputs:
                if not 0 <= v < n_inputs + i:
                    raise ValueError(f"node {i} ({node.layer!r}) reads value {v}; a node reads the model's inputs "
                                     f"or the outputs of the nodes before it (values 0..{n_inputs + i - 1})")
                reads[v] = reads.get(v, 0) + 1
        if not self.outputs or len(set(self.outputs)) != len(self.outputs) or not all(
                n_inputs <= v < end for v in self.outputs):
            raise ValueError(f"the outputs must be distinct values of nodes ({n_inputs}..{end - 1}). "
                             f"Received: {self.outputs}")
        self.read_by_nodes = dict(reads)
        for v in self.outputs:
            reads[v] = reads.get(v, 0) + 1
        self.shared = sorted(v for v, count in reads.items() if count > 1)
        # a node passes a gradient to an input only if some node upstream of it has weights to train
        trains = [False] * end
        for i, node in enumerate(self.nodes):
            flags = tuple(trains[v] for v in node.inputs)
            node.need_dx = flags if node.merges else flags[0]
            trains[n_inputs + i] = any(flags) or any(w.trains for w in node.layer.weights_spec)

    @classmethod
    def chain(cls, layers):
        return cls(Node(layer, (i,)) for i, layer in enumerate(layers))

    def producer(self, v):
        """The node whose output is value v (v >= n_inputs)."""
        return self.nodes[v - self.n_inputs]

    def fusable(self, v):
        """Whether output value v may drop its layer's final activation into the loss: no node reads v (it
        needs the activation), and its layer is called nowhere else (the layer holds one fusing choice, and
        its other calls may be outputs whose losses choose otherwise)."""
        layer = self.producer(v).layer
        return not self.read_by_nodes.get(v) and sum(node.layer is layer for node in self.nodes) == 1

    def value_shape(self, v, input_shapes):
        """The per-sample shape of value v (an input's, from input_shapes, or its node's output shape)."""
        return tuple(input_shapes[v]) if v < self.n_inputs else self.producer(v).layer.output_shape
