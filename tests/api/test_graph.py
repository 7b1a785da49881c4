"""The graph a model hands its trainer: order, inputs, and which nodes pass a gradient on."""
import pytest

from fastnn import layers
from fastnn.models.graph import Graph, Node


def built(layer, n_weights):
    layer.weights_spec = [layers.Weight(f"w{i}", (1,), None, True) for i in range(n_weights)]
    return layer


def test_a_chain_passes_gradients_only_below_the_first_layer_with_weights():
    chain = Graph.chain([built(layers.Flatten(), 0), built(layers.Dense(2), 2), built(layers.Activation("relu"), 0),
                         built(layers.Dense(2), 2)])
    assert [node.inputs for node in chain.nodes] == [(0,), (1,), (2,), (3,)]
    assert [node.need_dx for node in chain.nodes] == [False, False, True, True]
    assert chain.outputs == (4,) and chain.producer(4) is chain.nodes[-1]


def test_a_node_reads_values_made_before_it():
    a, b = layers.Flatten(), layers.Flatten()
    with pytest.raises(ValueError, match=r"node 0 .* reads value 1; a node reads the model's inputs or the outputs "
                                         r"of the nodes before it \(values 0..0\)"):
        Graph([Node(a, (1,)), Node(b, (0,))])
    with pytest.raises(ValueError, match=r"expects one input. Received: inputs=\(0, 0\)"):
        Graph([Node(a, (0, 0))])      # only a merge layer takes several


def test_a_value_read_twice_is_shared_and_a_merge_layer_gets_a_flag_per_input():
    a, b = built(layers.Dense(2), 2), built(layers.Dense(2), 2)
    add = layers.Add()
    graph = Graph([Node(a, (0,)), Node(b, (1,)), Node(add, (1, 2))])
    assert graph.shared == [1] and graph.outputs == (3,)
    assert [node.need_dx for node in graph.nodes] == [False, True, (True, True)]
