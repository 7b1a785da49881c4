"""keras.utils.plot_model and model_to_dot: a model's layers and connections as a Graphviz graph.

model_to_dot returns the graph's DOT text (Keras returns a pydot object; fastnn needs no pydot). plot_model
writes it: a ".dot" file as it is, any other format ("model.png", ".svg", ".pdf") through Graphviz's `dot`
program, which must be installed (apt-get install graphviz, brew install graphviz); without it plot_model
raises ImportError saying so, as Keras does without pydot and Graphviz.
"""
import os
import shutil
import subprocess


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, **kwargs):
    """The DOT text of model's graph: a box per layer (the inputs first), an arrow per connection."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"model_to_dot(rankdir=...) expects 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    model._require_built("plot_model")
    listed = model.layers   # a functional model lists its InputLayers first; a Sequential one has none listed
    if not listed or type(listed[0]).__name__ != "InputLayer":
        listed = [None, *listed]
    box = {id(layer): f"layer{i}" for i, layer in enumerate(listed)}
    shown = dict(names=show_layer_names, shapes=show_shapes, dtype=show_dtype, activations=show_layer_activations,
                 trainable=show_trainable)
    lines = [f'digraph "{_quote(model.name)}" {{', f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             '  node [shape=record, fontname="Helvetica"];']
    lines += [f'  layer{i} [label="{_label(model, layer, **shown)}"];' for i, layer in enumerate(listed)]
    inputs = [f"layer{i}" for i in range(model.graph.n_inputs)]   # the input boxes come first
    producers = inputs + [box[id(node.layer)] for node in model.graph.nodes]
    edges = []
    for node in model.graph.nodes:
        for v in node.inputs:
            edge = f"  {producers[v]} -> {box[id(node.layer)]};"
            if edge not in edges:
                edges.append(edge)
    return "\n".join(lines + edges + ["}"]) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw model to to_file (keras.utils.plot_model): ".dot" writes the DOT text, other extensions go
    through Graphviz's `dot`. Returns None (Keras returns an IPython image in notebooks)."""
    text = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                        rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                        show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if extension == "dot":
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise ImportError(f"plot_model(to_file={to_file!r}) needs Graphviz's `dot` program to draw a {extension} "
                          "(apt-get install graphviz, or brew install graphviz); a to_file ending in .dot gets the "
                          "graph's text without it")
    result = subprocess.run([dot, f"-T{extension}", "-o", to_file], input=text.encode(), capture_output=True,
                            check=False)
    if result.returncode != 0:
        raise ValueError(f"plot_model: Graphviz could not write {to_file!r}: "
                         f"{result.stderr.decode(errors='replace').strip()}")


def _label(model, layer, names, shapes, dtype, activations, trainable):
    """A box's text: name (Type), then the shapes, dtype, activation and trainable flag asked for."""
    if layer is None:   # a Sequential model given input_shape= rather than an Input
        head, out_shape, in_shape = "input (InputLayer)", model.input_shape, None
    else:
        kind = type(layer).__name__
        head = f"{layer.name} ({kind})" if names else kind
        out_shape = (None,) + tuple(layer.output_shape if kind != "InputLayer" else layer.input_shape)
        in_shape = None if kind == "InputLayer" else layer.input_shape
    parts = [_quote(head)]
    if shapes:
        if in_shape is not None:
            shown = [(None,) + tuple(s) for s in in_shape] if layer.merges else (None,) + tuple(in_shape)
            parts.append(_quote(f"Input shape: {shown}"))
        parts.append(_quote(f"Output shape: {out_shape}"))
    if dtype:
        parts.append(_quote(f"dtype: {model.dtype.name}"))
    if activations and getattr(layer, "activation", None):
        parts.append(_quote(f"Activation: {layer.activation}"))
    if trainable and layer is not None:
        parts.append(_quote(f"Trainable: {layer.trainable}"))
    return "{" + "|".join(parts) + "}"


def _quote(text):
    """text inside a DOT record label: the record's own characters escaped."""
    for c in '\\"{}|<>':
        text = text.replace(c, "\\" + c)
    return text
