"""One table, every op of the op table at the MNIST models' shapes: numpy / numba / cython, float32, batch 64.

Shapes: LeNet-5 (conv1 (64,28,28,1)->6 5x5 same relu, pool 2x2, conv2 (64,14,14,6)->16 5x5 valid relu,
dense 400-120-84-10) and the MLP 784-256-128-10 (dense, dropout, Adam over its 235k parameters), and a
batch norm over conv-sized rows (64*28*28, 32). One group per op and shape, numpy the baseline row; the
winner of each group is what "auto" picks: benches/tools/auto_table.py times these cases into kernels/auto.json.

    python -m pytest benches/suites/bench_backends.py --benchmark-only --benchmark-columns=min,median,rounds
    FASTNN_NUM_THREADS=1 python -m pytest benches/suites/bench_backends.py --benchmark-only   # one thread
"""
import numpy as np
import pytest

from fastnn.kernels.activations.reference import LINEAR, RELU, SIGMOID, TANH
from fastnn.kernels.losses.reference import clip_bounds

N = 64
MLP_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10  # 235,146


def _normal(rng, *shape, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(np.float32)


def _dense(rng, fin, fout, act, backward):
    x, w, b = _normal(rng, N, fin), _normal(rng, fin, fout, scale=fin ** -0.5), _normal(rng, fout, scale=0.1)
    out = np.maximum(x @ w + b, 0) if act == RELU else x @ w + b
    if not backward:
        return (np.empty_like(out), x, w, b, act)
    # dout becomes dz = dout * act'(out) on the first call, and stays that on every later one
    return (np.empty_like(x), np.empty_like(w), np.empty_like(b), _normal(rng, N, fout), x, w, out, act)


def _conv(rng, h, c, k, pad, backward, first_layer):
    from fastnn.kernels.conv2d.reference import conv2d_forward

    x, w, b = _normal(rng, N, h, h, c), _normal(rng, 5, 5, c, k, scale=(25 * c) ** -0.5), _normal(rng, k)
    o = h if pad else h - 4
    out = np.empty((N, o, o, k), np.float32)
    conv2d_forward(out, x, w, b, 1, 1, pad, pad, RELU)
    if not backward:
        return (np.empty_like(out), x, w, b, 1, 1, pad, pad, RELU)
    dx = None if first_layer else np.empty_like(x)
    return (dx, np.empty_like(w), np.empty_like(b), _normal(rng, *out.shape), x, w, out, 1, 1, pad, pad, RELU)


def _pool(rng, backward):
    from fastnn.kernels.pooling.reference import maxpool2d_forward

    x = np.maximum(_normal(rng, N, 28, 28, 6), 0)  # a relu output: ties at 0 are common
    out, argmax = np.empty((N, 14, 14, 6), np.float32), np.empty((N, 14, 14, 6), np.int32)
    maxpool2d_forward(out, argmax, x, 2, 2, 2, 2, 0, 0)
    if not backward:
        return (np.empty_like(out), np.empty_like(argmax), x, 2, 2, 2, 2, 0, 0)
    return (np.empty_like(x), _normal(rng, *out.shape), argmax, 2, 2, 2, 2, 0, 0)


def _batchnorm(rng, backward):
    m, c = N * 28 * 28, 32
    x, gamma, beta = _normal(rng, m, c), np.ones(c, np.float32), np.zeros(c, np.float32)
    mean, invstd = x.mean(0), 1 / np.sqrt(x.var(0) + 1e-3)
    if not backward:
        return (np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32), x, gamma, beta,
                np.zeros(c, np.float32), np.ones(c, np.float32), 0.99, 1e-3, True)
    return (np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32), _normal(rng, m, c), x, mean, invstd,
            gamma)


def _dropout(rng, backward):
    x = _normal(rng, N, 256)
    if not backward:
        return (np.empty_like(x), np.empty_like(x), x, 0.5, 1234)
    return (np.empty_like(x), _normal(rng, N, 256), (rng.random(x.shape) >= 0.5).astype(np.float32) * 2)


def _adam(rng):
    p = MLP_PARAMS
    return (_normal(rng, p), _normal(rng, p, scale=0.01), _normal(rng, p, scale=0.01),
            np.abs(_normal(rng, p, scale=1e-4)), 1e-3, 0.9, 0.999, 1e-7)


def _sparse_ce(rng):
    return (np.empty(N, np.float32), np.empty((N, 10), np.float32), _normal(rng, N, 10, scale=3),
            rng.integers(0, 10, size=N), 1 / N, *clip_bounds(np.float32))   # Keras's clipping bounds


def _activation(rng, act, backward):
    from fastnn.kernels.activations.reference import activation_forward

    x = _normal(rng, N, 24, 24, 6, scale=3)   # LeNet's first convolution's output
    if not backward:
        return (np.empty_like(x), x, act)
    out = np.empty_like(x)
    activation_forward(out, x, act)
    return (np.empty_like(x), _normal(rng, *x.shape), out, act)


def _softmax(rng, backward):
    x = _normal(rng, N, 10, scale=3)
    if not backward:
        return (np.empty_like(x), x)
    out = np.exp(x - x.max(axis=1, keepdims=True))
    return (np.empty_like(x), _normal(rng, N, 10), out / out.sum(axis=1, keepdims=True))


def _loss(rng, kind):
    """(loss, dpred, pred, y, scale) at the MLP's output: probabilities for the *_probs losses."""
    pred = _normal(rng, N, 10, scale=3)
    if kind.endswith("probs"):
        pred = 1 / (1 + np.exp(-pred))
    y = (rng.random((N, 10)) < 0.1).astype(np.float32)
    return (np.empty(N, np.float32), np.empty_like(pred), pred, y, 1 / N)


def _optimizer(rng, name):
    p = MLP_PARAMS
    param, grad = _normal(rng, p), _normal(rng, p, scale=0.01)
    state = [np.abs(_normal(rng, p, scale=1e-3)) for _ in range(2)]
    if name == "sgd_step":
        return (param, grad, state[0], 1e-2, 0.9, False)
    if name == "adagrad_step":
        return (param, grad, state[0], 1e-3, 1e-7)
    return (param, grad, state[0], state[1], 1e-3, 0.9, 0.0, 1e-7)   # rmsprop_step


# group -> (op, arguments from a generator, repeatable: another call on the same buffers gives the same result)
CASES = {
    "dense_forward mlp 64x784->256 relu": ("dense_forward", lambda r: _dense(r, 784, 256, RELU, False), True),
    "dense_backward mlp 64x784->256 relu": ("dense_backward", lambda r: _dense(r, 784, 256, RELU, True), True),
    "dense_forward mlp 64x256->128 relu": ("dense_forward", lambda r: _dense(r, 256, 128, RELU, False), True),
    "dense_backward mlp 64x256->128 relu": ("dense_backward", lambda r: _dense(r, 256, 128, RELU, True), True),
    "dense_forward mlp 64x128->10 linear": ("dense_forward", lambda r: _dense(r, 128, 10, LINEAR, False), True),
    "dense_backward mlp 64x128->10 linear": ("dense_backward", lambda r: _dense(r, 128, 10, LINEAR, True), True),
    "dense_forward lenet 64x400->120 relu": ("dense_forward", lambda r: _dense(r, 400, 120, RELU, False), True),
    "dense_backward lenet 64x400->120 relu": ("dense_backward", lambda r: _dense(r, 400, 120, RELU, True), True),
    "conv2d_forward lenet conv1 64x28x28x1->6 5x5 same": (
        "conv2d_forward", lambda r: _conv(r, 28, 1, 6, 2, False, True), True),
    "conv2d_backward lenet conv1 64x28x28x1->6 5x5 same (no dx)": (
        "conv2d_backward", lambda r: _conv(r, 28, 1, 6, 2, True, True), True),
    "conv2d_forward lenet conv2 64x14x14x6->16 5x5 valid": (
        "conv2d_forward", lambda r: _conv(r, 14, 6, 16, 0, False, False), True),
    "conv2d_backward lenet conv2 64x14x14x6->16 5x5 valid": (
        "conv2d_backward", lambda r: _conv(r, 14, 6, 16, 0, True, False), True),
    "maxpool2d_forward 64x28x28x6 2x2": ("maxpool2d_forward", lambda r: _pool(r, False), True),
    "maxpool2d_backward 64x28x28x6 2x2": ("maxpool2d_backward", lambda r: _pool(r, True), True),
    "sparse_softmax_ce 64x10": ("sparse_softmax_ce", _sparse_ce, True),
    # the moving statistics move on every call; the first call is checked
    "batchnorm_forward train 50176x32": ("batchnorm_forward", lambda r: _batchnorm(r, False), False),
    "batchnorm_backward 50176x32": ("batchnorm_backward", lambda r: _batchnorm(r, True), True),
    "dropout_forward 64x256 rate 0.5": ("dropout_forward", lambda r: _dropout(r, False), True),
    "dropout_backward 64x256": ("dropout_backward", lambda r: _dropout(r, True), True),
    "adam_step mlp 235k params": ("adam_step", _adam, False),
    "activation_forward relu 64x24x24x6": ("activation_forward", lambda r: _activation(r, RELU, False), True),
    "activation_forward sigmoid 64x24x24x6": ("activation_forward", lambda r: _activation(r, SIGMOID, False), True),
    "activation_backward relu 64x24x24x6": ("activation_backward", lambda r: _activation(r, RELU, True), True),
    "activation_backward tanh 64x24x24x6": ("activation_backward", lambda r: _activation(r, TANH, True), True),
    "softmax_forward 64x10": ("softmax_forward", lambda r: _softmax(r, False), True),
    "softmax_backward 64x10": ("softmax_backward", lambda r: _softmax(r, True), True),
    "softmax_ce 64x10": ("softmax_ce", lambda r: _loss(r, "softmax_ce"), True),
    "mse 64x10": ("mse", lambda r: _loss(r, "mse"), True),
    "sigmoid_bce 64x10": ("sigmoid_bce", lambda r: _loss(r, "sigmoid_bce"), True),
    "binary_ce_probs 64x10": ("binary_ce_probs", lambda r: _loss(r, "binary_ce_probs"), True),
    "categorical_ce_probs 64x10": ("categorical_ce_probs", lambda r: _loss(r, "categorical_ce_probs"), True),
    "sgd_step momentum mlp 235k params": ("sgd_step", lambda r: _optimizer(r, "sgd_step"), False),
    "adagrad_step mlp 235k params": ("adagrad_step", lambda r: _optimizer(r, "adagrad_step"), False),
    "rmsprop_step mlp 235k params": ("rmsprop_step", lambda r: _optimizer(r, "rmsprop_step"), False),
}


@pytest.mark.parametrize("group", list(CASES))
def test_op(bench_op, rng, group):
    op, make, repeatable = CASES[group]
    bench_op(op, group, make(rng), repeatable)
