"""Models described in JSON, never Python:

    model = fastnn.models.from_spec("my_model.json")
"""
import json
import numbers
import os

from .. import layers
from .functional import Functional
from .sequential import Sequential

_SPEC_KEYS = {"input_shape", "batch_size", "layers", "name", "seed", "dtype", "input_name", "node_layers", "inbound",
              "inputs", "outputs", "output_keys"}


def from_spec(path, seed=None):
    """A Sequential from a JSON spec file; only the layer classes of fastnn.layers, nothing executed.

    The spec is an object with "input_shape" (per sample, e.g. [28, 28, 1]) and "layers", a list of
    {"class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 5, ...}} as in
    Sequential.get_config()["layers"]; "name", "seed", "dtype" and "batch_size" are optional. A whole
    Sequential.get_config() is a valid spec. `seed`, when given, replaces the spec's. Raises ValueError
    naming the entry that is wrong.
    """
    path = os.fspath(path)
    where = f"model spec {path!r}"
    if os.path.splitext(path)[1].lower() == ".py":
        raise ValueError(f"{where}: expected a JSON file. Received: a Python file (model specs are data and are "
                         "never executed; describe the layers in JSON)")
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a JSON object with 'input_shape' and 'layers'. "
                         f"Received: a JSON {type(spec).__name__}")
    return model_from_config(spec, where, seed)


def model_from_json(json_string):
    """A built model from model.to_json()'s string (keras.models.model_from_json); the weights are
    new, as the config's seed (or fastnn's stream) draws them. ValueError for anything else."""
    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(f"model_from_json expects a JSON string. Received: {type(json_string).__name__}")
    try:
        spec = json.loads(json_string)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"model_from_json: not valid JSON: {exc}") from None
    if (not isinstance(spec, dict) or spec.get("class_name") not in ("Sequential", "Functional")
            or set(spec) != {"class_name", "config"}):
        raise ValueError("model_from_json expects {\"class_name\": \"Sequential\" or \"Functional\", \"config\": "
                         f"{{...}}}} as model.to_json() writes it. Received: {str(json_string)[:80]!r}")
    return model_from_config(spec["config"], "model_from_json")


def clone_model(model):
    """A new model with model's architecture and fresh weights, drawn as model's were (its seed, or fastnn's
    stream), uncompiled (keras.models.clone_model)."""
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model expects a fastnn model. Received: {type(model).__name__}")
    return model_from_config(model.get_config(), "clone_model")


def model_from_config(config, where="model_from_config", seed=None, build=True):
    """A built Sequential from a config as Sequential.get_config() returns it (the spec format); only the
    layer classes of fastnn.layers. `seed`, when given, replaces the config's. build=False declares the
    weights' shapes (layer.weights_spec) without allocating them; model.build() allocates them later.
    Raises ValueError naming `where` and the entry that is wrong."""
    spec = config
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected an object with 'input_shape' and 'layers'. "
                         f"Received: {type(spec).__name__}")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"{where}: expected keys among {sorted(_SPEC_KEYS)}. Received: unknown keys {unknown}")
    shape = spec.get("input_shape")
    if (not isinstance(shape, list) or not shape
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise ValueError(f"{where}: 'input_shape' expects a list of positive integers such as [28, 28, 1]. "
                         f"Received: {shape!r}")
    entries = spec.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: 'layers' expects a non-empty list of {{\"class_name\", \"config\"}} objects. "
                         f"Received: {entries!r}")
    allowed = sorted(name for name, cls in layers.LAYER_CLASSES.items() if cls is not layers.InputLayer)
    built = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - {"class_name", "config"} or "class_name" not in entry:
            raise ValueError(f"{where}: layers[{i}] expects an object with 'class_name' and optional 'config'. "
                             f"Received: {entry!r}")
        cls = layers.LAYER_CLASSES.get(entry["class_name"]) if isinstance(entry["class_name"], str) else None
        if cls is None or cls is layers.InputLayer:
            raise ValueError(f"{where}: layers[{i}].class_name expects one of {allowed}. "
                             f"Received: unknown layer class {entry['class_name']!r}")
        config = entry.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"{where}: layers[{i}].config expects an object. Received: {config!r}")
        try:
            built.append(cls.from_config(config))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: layers[{i}] ({entry['class_name']}): {exc}") from None
    if "inbound" in spec or "node_layers" in spec:
        try:
            sources = _inputs(spec, shape)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        first = len(sources)
        inbound, node_layers = spec.get("inbound"), spec.get("node_layers")
        if not _is_int_list(node_layers, len(built)) or sorted(set(node_layers)) != list(range(len(built))):
            raise ValueError(f"{where}: 'node_layers' expects, per call, the index of the layer it calls (every layer "
                             f"called at least once). Received: {node_layers!r}")
        if (not isinstance(inbound, list) or len(inbound) != len(node_layers)
                or not all(_is_int_list(reads, first + i) and reads for i, reads in enumerate(inbound))):
            raise ValueError(f"{where}: 'inbound' expects, per call, a list of the values it reads (the inputs "
                             f"0..{first - 1}, then {first} + i: call i's output, each before the call). "
                             f"Received: {inbound!r}")
        outputs, keys = spec.get("outputs"), spec.get("output_keys")
        if outputs is not None and (not _is_int_list(outputs, first + len(node_layers)) or not outputs):
            raise ValueError(f"{where}: 'outputs' expects a list of the values that are the model's outputs. "
                             f"Received: {outputs!r}")
        if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
                                 or len(keys) != len(outputs or [None])):
            raise ValueError(f"{where}: 'output_keys' expects a name per output. Received: {keys!r}")
        try:
            return Functional.from_parts(sources, built, node_layers, inbound, outputs=outputs, output_keys=keys,
                                         name=spec.get("name"), seed=spec.get("seed") if seed is None else seed,
                                         dtype=spec.get("dtype"), build=build)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    try:
        model = Sequential(name=spec.get("name"), seed=spec.get("seed") if seed is None else seed,
                           dtype=spec.get("dtype"))
        for layer in [layers.Input(tuple(shape), batch_size=spec.get("batch_size")), *built]:
            model.add(layer, rebuild=False)   # build (allocate) below, and only when asked
        model.build() if build else model._declare()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return model


def _inputs(spec, shape):
    """The Input layers of a functional config: its "inputs" list, else one of "input_shape"."""
    entries = spec.get("inputs")
    if entries is None:
        return [layers.Input(tuple(shape), batch_size=spec.get("batch_size"), name=spec.get("input_name"))]
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) and set(e) == {"name", "shape", "batch_size"} for e in entries):
        raise ValueError("'inputs' expects a list of {\"name\", \"shape\", \"batch_size\"} objects. "
                         f"Received: {entries!r}")
    return [layers.Input(tuple(e["shape"]) if isinstance(e["shape"], list) else e["shape"],
                         batch_size=e["batch_size"], name=e["name"]) for e in entries]


def _is_int_list(values, bound):
    """values is a list of ints in [0, bound)."""
    return isinstance(values, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < bound for v in values)


def _from_config(cls, config):
    """keras.Model.from_config / Sequential.from_config: a built model from get_config()'s dict."""
    return model_from_config(config, f"{cls.__name__}.from_config")


# Keras's classmethods; defined here, beside the reader they call (sequential.py cannot import this module)
Sequential.from_config = classmethod(_from_config)
