"""model.export(path, format="onnx"), as Keras 3's: the model for inference as an ONNX graph, so that a model
trained here runs in onnxruntime, or anything else that reads ONNX, with no fastnn installed.

The graph takes "input" (batch, *input_shape) in the model's float type and gives "output" (batch,
*output_shape): the model's predict(), with any final softmax or sigmoid kept. A model of several inputs
or outputs names them as its Inputs and outputs are named (model.output_names, or a dict's keys).
Layers map to standard operators (opset 17): Dense to MatMul and Add; Conv2D and MaxPooling2D, which
fastnn runs channels-last, to Conv and MaxPool between two Transposes (NHWC <-> NCHW; runtimes fuse them
away); BatchNormalization to its inference form, a Mul and an Add per channel; GlobalAveragePooling2D to
ReduceMean; Dropout to Identity; Reshape to Reshape; Rescaling to Mul and Add; the merge layers to Sum, Sub, Mul, Max and Concat (Average:
a Sum, scaled). It needs the `onnx` package (`pip install "fastnn[onnx]"`), imported only here.
"""
import numpy as np

from .layers import (Activation, Add, Average, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten,
                     GlobalAveragePooling2D, Maximum, MaxPooling2D, Multiply, Rescaling, Reshape, Subtract)
from .saving_lib import atomic_write

OPSET = 17
_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
_NCHW, _NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def export_onnx(model, filepath, verbose=False):
    """Write model's inference graph to filepath, atomically as model files are (saving_lib.atomic_write)."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError('model.export(format="onnx") needs the onnx package: pip install "fastnn[onnx]"') from None
    model._require_built("export")
    graph = _Builder(model, helper, numpy_helper).graph()
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fastnn")
    proto.ir_version = 8   # what runtimes from onnxruntime 1.10 on read
    onnx.checker.check_model(proto)
    content = proto.SerializeToString()
    atomic_write(filepath, lambda f: f.write(content))
    if verbose:
        print(f"Saved the model for inference to {filepath} (ONNX, opset {OPSET})")


class _Builder:
    """Walks the model's graph and emits one or a few ONNX nodes per layer."""

    def __init__(self, model, helper, numpy_helper):
        self.model, self.helper, self.numpy_helper = model, helper, numpy_helper
        self.dtype = model.dtype
        self.nodes, self.initializers, self.count = [], [], 0

    def graph(self):
        model, helper = self.model, self.helper
        graph = model.graph
        ins = ["input"] if graph.n_inputs == 1 else list(model._input_names)
        outs = ["output"] if len(graph.outputs) == 1 else list(model._output_keys)
        names = list(ins)
        for i, node in enumerate(graph.nodes):
            inputs = [names[v] for v in node.inputs]
            names.append(self.layer(node.layer, inputs if node.layer.merges else inputs[0]))
        for v, name in zip(graph.outputs, outs):
            self.op("Identity", [names[v]], name)
        elem = helper.np_dtype_to_tensor_dtype(self.dtype)
        xs = [helper.make_tensor_value_info(name, elem, [None, *shape])
              for name, shape in zip(ins, model._input_shapes)]
        ys = [helper.make_tensor_value_info(name, elem, [None, *shape])
              for name, shape in zip(outs, model._output_shapes)]
        return helper.make_graph(self.nodes, model.name, xs, ys, self.initializers)

    # -- emitting ---------------------------------------------------------------------------------
    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint, dtype=None):
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype or self.dtype), name))
        return name

    def op(self, op_type, inputs, output=None, **attrs):
        output = output or self.fresh(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def activate(self, x, activation):
        if activation == "softmax":
            return self.op("Softmax", [x], axis=-1)
        return self.op(_ACTIVATIONS[activation], [x]) if activation in _ACTIVATIONS else x

    # -- layers -------------------------------------------------------------------------------------
    def layer(self, layer, x):
        for kind, emit in ((Dense, self.dense), (Conv2D, self.conv), (MaxPooling2D, self.pool),
                           (BatchNormalization, self.batchnorm), (Activation, self.activation),
                           (GlobalAveragePooling2D, self.global_average),
                           (Flatten, self.flatten), (Reshape, self.reshape), (Rescaling, self.rescaling),
                           (Dropout, self.identity), (Concatenate, self.concatenate),
                           (Add, self.merge), (Subtract, self.merge), (Multiply, self.merge),
                           (Average, self.merge), (Maximum, self.merge)):
            if isinstance(layer, kind):
                return emit(layer, x)
        raise NotImplementedError(f"export: no ONNX form for layer {layer.name!r} ({type(layer).__name__})")

    def dense(self, layer, x):
        y = self.op("MatMul", [x, self.const(layer.kernel.value, f"{layer.name}_kernel")])
        if layer.bias is not None:
            y = self.op("Add", [y, self.const(layer.bias.value, f"{layer.name}_bias")])
        return self.activate(y, layer.activation)

    def _padding(self, layer, size):
        """ONNX pads (top, left, bottom, right) of a conv or pool layer of window `size` over its input."""
        h, w = layer.input_shape[:2]
        oh, ow = layer.output_shape[:2]
        (sh, sw), (kh, kw) = layer.strides, size
        bottom = max(0, (oh - 1) * sh + kh - h - layer._ph)
        right = max(0, (ow - 1) * sw + kw - w - layer._pw)
        return [layer._ph, layer._pw, bottom, right]

    def conv(self, layer, x):
        inputs = [self.op("Transpose", [x], perm=_NCHW),
                  self.const(np.transpose(layer.kernel.value, (3, 2, 0, 1)), f"{layer.name}_kernel")]
        if layer.bias is not None:
            inputs.append(self.const(layer.bias.value, f"{layer.name}_bias"))
        y = self.op("Conv", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                    pads=self._padding(layer, layer.kernel_size))
        return self.activate(self.op("Transpose", [y], perm=_NHWC), layer.activation)

    def pool(self, layer, x):
        y = self.op("MaxPool", [self.op("Transpose", [x], perm=_NCHW)], kernel_shape=list(layer.pool_size),
                    strides=list(layer.strides), pads=self._padding(layer, layer.pool_size))
        return self.op("Transpose", [y], perm=_NHWC)

    def batchnorm(self, layer, x):
        scale = layer.gamma.value / np.sqrt(layer.moving_variance.value + layer.epsilon)
        shift = layer.beta.value - layer.moving_mean.value * scale
        y = self.op("Mul", [x, self.const(scale, f"{layer.name}_scale")])
        return self.op("Add", [y, self.const(shift, f"{layer.name}_shift")])

    def activation(self, layer, x):
        return self.op("Identity", [x]) if layer.activation == "linear" else self.activate(x, layer.activation)

    def flatten(self, layer, x):
        return self.op("Reshape", [x, self.const([0, -1], f"{layer.name}_shape", np.int64)])

    def global_average(self, layer, x):
        return self.op("ReduceMean", [x], axes=[1, 2], keepdims=int(layer.keepdims))

    def reshape(self, layer, x):
        return self.op("Reshape", [x, self.const([0, *layer.output_shape], f"{layer.name}_shape", np.int64)])

    def rescaling(self, layer, x):
        y = self.op("Mul", [x, self.const(layer.scale, f"{layer.name}_scale")])
        return self.op("Add", [y, self.const(layer.offset, f"{layer.name}_offset")]) if layer.offset else y

    def identity(self, layer, x):
        return self.op("Identity", [x])

    def concatenate(self, layer, xs):
        return self.op("Concat", xs, axis=layer._axis)

    def merge(self, layer, xs):
        if isinstance(layer, Subtract):
            return self.op("Sub", xs)
        if isinstance(layer, Multiply):
            y = xs[0]
            for x in xs[1:]:
                y = self.op("Mul", [y, x])
            return y
        if isinstance(layer, Average):   # a Sum and a scaling: onnxruntime has no float64 Mean
            return self.op("Mul", [self.op("Sum", xs), self.const(1 / len(xs), f"{layer.name}_scale")])
        return self.op("Sum" if isinstance(layer, Add) else "Max", xs)
