"""Conv2D forward and backward (relu fused) at the LeNet-5 and Fashion CNN layer shapes, batch 64, float32.

The torch row (NCHW, torch.nn.functional.conv2d, autograd for the backward, same thread count) is skipped
when torch is not installed. The first layers get no input gradient (dx=None), as in a model.
"""
import numpy as np
import pytest

from fastnn.layers import conv_output_size
from fastnn.kernels.activations.reference import RELU

from fastnn.testing import assert_close

# name: (N, H, W, C, kernel, K, padding, first layer?)
LAYERS = {
    "lenet_conv1": (64, 28, 28, 1, 5, 6, "same", True),
    "lenet_conv2": (64, 14, 14, 6, 5, 16, "valid", False),
    "fashion_conv1": (64, 28, 28, 1, 3, 32, "same", True),
    "fashion_conv2": (64, 14, 14, 32, 3, 64, "same", False),
}
SHAPES = pytest.mark.parametrize("name", list(LAYERS))


def label(name):
    n, h, w, c, k, f, padding, _ = LAYERS[name]
    return f"{name} {n}x{h}x{w}x{c}->{f} {k}x{k} {padding}"


def layer(rng, name):
    """x, w, b, the output (from the reference forward), dout, and (sh, sw, ph, pw)."""
    from fastnn.kernels.conv2d.reference import conv2d_forward

    n, h, w, c, k, f, padding, _ = LAYERS[name]
    oh, ph = conv_output_size(h, k, 1, padding)
    ow, pw = conv_output_size(w, k, 1, padding)
    x = rng.normal(size=(n, h, w, c)).astype(np.float32)
    wt = (rng.normal(size=(k, k, c, f)) / np.sqrt(k * k * c)).astype(np.float32)
    b = np.full(f, 0.1, np.float32)
    out = np.empty((n, oh, ow, f), np.float32)
    conv2d_forward(out, x, wt, b, 1, 1, ph, pw, RELU)
    dout = rng.normal(size=out.shape).astype(np.float32)
    return x, wt, b, out, dout, (1, 1, ph, pw)


def backward_args(name, x, wt, b, out, dout, geometry):
    dx = None if LAYERS[name][7] else np.empty_like(x)
    return (dx, np.empty_like(wt), np.empty_like(b), dout, x, wt, out, *geometry, RELU)


@SHAPES
def test_conv2d_forward(bench_op, rng, name):
    x, wt, b, out, _, geometry = layer(rng, name)
    bench_op("conv2d_forward", f"conv2d_forward {label(name)}", (np.empty_like(out), x, wt, b, *geometry, RELU))


@SHAPES
def test_conv2d_backward(bench_op, rng, name):
    # dout is overwritten with dz = dout * relu'(out) on every call, which gives the same dz each time
    x, wt, b, out, dout, geometry = layer(rng, name)
    bench_op("conv2d_backward", f"conv2d_backward {label(name)}", backward_args(name, x, wt, b, out, dout, geometry))


def torch_layer(torch, threads, rng, name, backward):
    """The layer in torch, NCHW: (x, weight, bias) tensors that require grad where ours get a gradient."""
    torch.set_num_threads(threads)
    x, wt, b, out, dout, geometry = layer(rng, name)
    first = LAYERS[name][7]
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(backward and not first)
    wtt = torch.from_numpy(wt.transpose(3, 2, 0, 1).copy()).requires_grad_(backward)
    bt = torch.from_numpy(b.copy()).requires_grad_(backward)
    padding = geometry[2:]  # symmetric at these shapes: torch's int pair pads both sides alike
    return (x, wt, b, out, dout, geometry), (xt, wtt, bt, padding)


@SHAPES
def test_conv2d_forward_torch(benchmark, threads, rng, name):
    torch = pytest.importorskip("torch")
    (*_, out, _, _), (xt, wtt, bt, padding) = torch_layer(torch, threads, rng, name, backward=False)

    def forward():
        with torch.no_grad():
            return torch.relu(torch.nn.functional.conv2d(xt, wtt, bt, padding=padding))

    benchmark.group = f"conv2d_forward {label(name)}"
    benchmark.extra_info.update(backend="torch", threads=threads)
    result = benchmark(forward)
    assert_close(result.numpy().transpose(0, 2, 3, 1), out, np.float32)


@SHAPES
def test_conv2d_backward_torch(benchmark, threads, rng, name):
    # the forward graph is built once and kept (retain_graph): the timed call is the backward alone
    from fastnn.kernels.conv2d.reference import conv2d_backward

    torch = pytest.importorskip("torch")
    (x, wt, b, out, dout, geometry), (xt, wtt, bt, padding) = torch_layer(torch, threads, rng, name, backward=True)
    y = torch.relu(torch.nn.functional.conv2d(xt, wtt, bt, padding=padding))
    g = torch.from_numpy(dout.transpose(0, 3, 1, 2).copy())
    inputs = [t for t in (xt, wtt, bt) if t.requires_grad]

    def backward():
        return torch.autograd.grad(y, inputs, g, retain_graph=True)

    benchmark.group = f"conv2d_backward {label(name)}"
    benchmark.extra_info.update(backend="torch", threads=threads)
    grads = benchmark(backward)
    # relu' taken from torch's own output: a pre-activation within rounding of 0 may flip sign across libraries
    expected = backward_args(name, x, wt, b, y.detach().numpy().transpose(0, 2, 3, 1).copy(), dout.copy(), geometry)
    conv2d_backward(*expected)
    dx, dw, db = expected[:3]
    if dx is not None:
        assert_close(grads[0].numpy().transpose(0, 2, 3, 1), dx, np.float32)
    assert_close(grads[-2].numpy().transpose(2, 3, 1, 0), dw, np.float32)
    assert_close(grads[-1].numpy(), db, np.float32)
