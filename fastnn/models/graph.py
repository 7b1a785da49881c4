"""The graph a model hands its trainer: layer calls (nodes) in an order where every input comes first.

Values are numbered: 0 is the model's input, i + 1 the output of node i. A Sequential model is a chain
(node i reads value i); a functional model lists its nodes in topological order with the values each
reads. The trainer walks the nodes forward, and in reverse for the gradients.
"""


class Node:
    """One call of a layer: the values it reads, and whether the gradient must flow on to them."""

    __slots__ = ("layer", "inputs", "need_dx")

    def __init__(self, layer, inputs):
        self.layer, self.inputs, self.need_dx = layer, tuple(inputs), False


class Graph:
    """Nodes in topological order and the value that is the model's output.

    Layers take one input and a value feeds at most one node: summing the gradients of a value read
    twice, and layers of several inputs, come with the first model that needs them.
    """

    def __init__(self, nodes, output=None):
        self.nodes = list(nodes)
        self.output = len(self.nodes) if output is None else output
        readers = {}
        for i, node in enumerate(self.nodes):
            if len(node.inputs) != 1 or not 0 <= node.inputs[0] <= i:
                raise ValueError(f"node {i} ({node.layer!r}) expects one input among the values 0..{i}. "
                                 f"Received: inputs={node.inputs}")
            if node.inputs[0] in readers:
                raise ValueError(f"value {node.inputs[0]} is read by nodes {readers[node.inputs[0]]} and {i}; "
                                 "a value may feed one node")
            readers[node.inputs[0]] = i
        # a node passes a gradient to its input only if some node upstream has weights to train
        trains = [False] * (len(self.nodes) + 1)
        for i, node in enumerate(self.nodes):
            node.need_dx = trains[node.inputs[0]]
            trains[i + 1] = node.need_dx or any(w.trains for w in node.layer.weights_spec)

    @classmethod
    def chain(cls, layers):
        return cls(Node(layer, (i,)) for i, layer in enumerate(layers))

    @property
    def output_layer(self):
        return self.nodes[self.output - 1].layer
