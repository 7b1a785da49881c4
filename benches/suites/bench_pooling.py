"""MaxPooling2D 2x2/2 forward and backward at the LeNet-5 and Fashion CNN shapes, batch 64, float32.

The torch row (NCHW, torch.nn.functional.max_pool2d, autograd for the backward, same thread count) is
skipped when torch is not installed.
"""
import numpy as np
import pytest

from fastnn.testing import assert_close

# name: (N, H, W, C), the pooled layer's output
LAYERS = {
    "lenet_pool1": (64, 28, 28, 6),
    "lenet_pool2": (64, 10, 10, 16),
    "fashion_pool1": (64, 28, 28, 32),
    "fashion_pool2": (64, 14, 14, 64),
}
SHAPES = pytest.mark.parametrize("name", list(LAYERS))
GEOMETRY = (2, 2, 2, 2, 0, 0)  # kh, kw, sh, sw, ph, pw


def label(name):
    return f"{name} {'x'.join(map(str, LAYERS[name]))} 2x2/2"


def pool(rng, name):
    """x, and the reference's out, argmax; dout."""
    from fastnn.kernels.pooling.reference import maxpool2d_forward

    n, h, w, c = LAYERS[name]
    x = rng.normal(size=(n, h, w, c)).astype(np.float32)
    out = np.empty((n, h // 2, w // 2, c), np.float32)
    argmax = np.empty(out.shape, np.int32)
    maxpool2d_forward(out, argmax, x, *GEOMETRY)
    return x, out, argmax, rng.normal(size=out.shape).astype(np.float32)


@SHAPES
def test_maxpool2d_forward(bench_op, rng, name):
    x, out, argmax, _ = pool(rng, name)
    bench_op("maxpool2d_forward", f"maxpool2d_forward {label(name)}",
             (np.empty_like(out), np.empty_like(argmax), x, *GEOMETRY))


@SHAPES
def test_maxpool2d_backward(bench_op, rng, name):
    x, _, argmax, dout = pool(rng, name)
    bench_op("maxpool2d_backward", f"maxpool2d_backward {label(name)}",
             (np.empty_like(x), dout, argmax, *GEOMETRY))


def torch_pool(torch, threads, rng, name, backward):
    torch.set_num_threads(threads)
    x, out, argmax, dout = pool(rng, name)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(backward)
    return (x, out, argmax, dout), xt


@SHAPES
def test_maxpool2d_forward_torch(benchmark, threads, rng, name):
    torch = pytest.importorskip("torch")
    (_, out, _, _), xt = torch_pool(torch, threads, rng, name, backward=False)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.max_pool2d(xt, 2)

    benchmark.group = f"maxpool2d_forward {label(name)}"
    benchmark.extra_info.update(backend="torch", threads=threads)
    assert_close(benchmark(forward).numpy().transpose(0, 2, 3, 1), out, np.float32)


@SHAPES
def test_maxpool2d_backward_torch(benchmark, threads, rng, name):
    # the forward graph is built once and kept (retain_graph): the timed call is the backward alone
    from fastnn.kernels.pooling.reference import maxpool2d_backward

    torch = pytest.importorskip("torch")
    (x, _, argmax, dout), xt = torch_pool(torch, threads, rng, name, backward=True)
    y = torch.nn.functional.max_pool2d(xt, 2)
    g = torch.from_numpy(dout.transpose(0, 3, 1, 2).copy())

    def backward():
        return torch.autograd.grad(y, xt, g, retain_graph=True)

    benchmark.group = f"maxpool2d_backward {label(name)}"
    benchmark.extra_info.update(backend="torch", threads=threads)
    (dx,) = benchmark(backward)
    expected = np.empty_like(x)
    maxpool2d_backward(expected, dout, argmax, *GEOMETRY)
    assert_close(dx.numpy().transpose(0, 2, 3, 1), expected, np.float32)
