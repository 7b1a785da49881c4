"""Every reference backward against central finite differences, in float64 on small shapes."""
import numpy as np
import pytest

from fastnn.kernels.activations import reference as A
from fastnn.kernels.batchnorm import reference as batchnorm
from fastnn.kernels.conv2d import reference as conv2d
from fastnn.kernels.dense import reference as dense
from fastnn.kernels.dropout import reference as dropout
from fastnn.kernels.losses import reference as losses
from fastnn.kernels.pooling import reference as pooling
from fastnn.kernels.softmax_ce import reference as softmax_ce

RNG = np.random.default_rng(0)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of x (modified in place)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def assert_grad(analytic, f, x, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(analytic, numeric_grad(f, x), rtol=rtol, atol=atol)


@pytest.mark.parametrize("act", [A.LINEAR, A.RELU, A.SIGMOID, A.TANH])
def test_activation_backward(act):
    x = RNG.normal(size=(3, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    c = RNG.normal(size=x.shape)
    out = np.empty_like(x)

    def f():
        A.activation_forward(out, x, act)
        return float((out * c).sum())

    f()
    dx = np.empty_like(x)
    A.activation_backward(dx, c.copy(), out.copy(), act)
    assert_grad(dx, f, x)


@pytest.mark.parametrize("act", [A.LINEAR, A.RELU, A.SIGMOID, A.TANH])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_backward(act, bias):
    n, fin, k = 4, 3, 5
    x, w = RNG.normal(size=(n, fin)), RNG.normal(size=(fin, k))
    b = RNG.normal(size=k) if bias else None
    c = RNG.normal(size=(n, k))
    out = np.empty((n, k))

    def f():
        dense.dense_forward(out, x, w, b, act)
        return float((out * c).sum())

    f()
    dx, dw = np.empty_like(x), np.empty_like(w)
    db = np.empty(k) if bias else None
    dense.dense_backward(dx, dw, db, c.copy(), x, w, out.copy(), act)
    assert_grad(dx, f, x)
    assert_grad(dw, f, w)
    if bias:
        assert_grad(db, f, b)


def test_softmax_backward():
    x, c = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    out = np.empty_like(x)

    def f():
        softmax_ce.softmax_forward(out, x)
        return float((out * c).sum())

    f()
    dx = np.empty_like(x)
    softmax_ce.softmax_backward(dx, c, out.copy())
    assert_grad(dx, f, x)


def _loss_case(fn, logits, y, scale):
    loss, d = np.empty(logits.shape[0]), np.empty_like(logits)

    def f():
        fn(loss, d, logits, y, scale)
        return float(loss.sum() * scale)

    f()
    return d.copy(), f


@pytest.mark.parametrize("name", ["softmax_ce", "mse", "sigmoid_bce", "binary_ce_probs", "categorical_ce_probs"])
def test_fused_loss_gradients(name):
    n, k = 4, 3
    scale = 1 / n
    if name in ("binary_ce_probs", "categorical_ce_probs"):
        x = RNG.uniform(0.1, 0.9, size=(n, k))
    else:
        x = RNG.normal(size=(n, k)) * 3
    y = RNG.dirichlet(np.ones(k), size=n) if "ce" in name else RNG.uniform(size=(n, k))
    fn = getattr(softmax_ce, name, None) or getattr(losses, name)
    d, f = _loss_case(fn, x, y, scale)
    assert_grad(d, f, x)


def test_sparse_softmax_ce_is_p_minus_onehot():
    n, k = 5, 4
    logits = RNG.normal(size=(n, k)) * 10
    labels = RNG.integers(0, k, size=n)
    loss, d = np.empty(n), np.empty((n, k))
    softmax_ce.sparse_softmax_ce(loss, d, logits, labels, 1 / n, -np.inf, np.inf)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(d, (p - np.eye(k)[labels]) / n, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(n), labels]), rtol=1e-9, atol=1e-12)
    # the dense-target form agrees with the sparse one
    loss2, d2 = np.empty(n), np.empty((n, k))
    softmax_ce.softmax_ce(loss2, d2, logits, np.eye(k)[labels], 1 / n)
    np.testing.assert_allclose(d2, d, atol=1e-15)
    np.testing.assert_allclose(loss2, loss, rtol=1e-12, atol=1e-15)


def test_softmax_ce_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0]])
    loss, d = np.empty(1), np.empty((1, 3))
    softmax_ce.sparse_softmax_ce(loss, d, logits, np.array([2]), 1.0, -np.inf, np.inf)
    assert np.isfinite(loss).all() and np.isfinite(d).all()
    np.testing.assert_allclose(loss, [2000.0])


@pytest.mark.parametrize("stride,pad,shape,k", [
    (1, (0, 0), (2, 5, 6, 2), (3, 3)),
    (2, (1, 1), (1, 6, 5, 3), (3, 3)),
    (1, (2, 2), (2, 4, 4, 1), (5, 5)),
    (2, (0, 0), (1, 7, 7, 2), (2, 3)),
])
@pytest.mark.parametrize("act", [A.LINEAR, A.TANH])
def test_conv2d_backward(stride, pad, shape, k, act):
    from fastnn.layers import conv_output_size
    n, h, w_, c = shape
    kh, kw = k
    filters = 3
    if pad == (0, 0):
        oh, ow = conv_output_size(h, kh, stride, "valid")[0], conv_output_size(w_, kw, stride, "valid")[0]
        ph, pw = 0, 0
    else:
        (oh, ph), (ow, pw) = conv_output_size(h, kh, stride, "same"), conv_output_size(w_, kw, stride, "same")
    x, wt = RNG.normal(size=shape), RNG.normal(size=(kh, kw, c, filters))
    b = RNG.normal(size=filters)
    cc = RNG.normal(size=(n, oh, ow, filters))
    out = np.empty((n, oh, ow, filters))

    def f():
        conv2d.conv2d_forward(out, x, wt, b, stride, stride, ph, pw, act)
        return float((out * cc).sum())

    f()
    dx, dw, db = np.empty_like(x), np.empty_like(wt), np.empty_like(b)
    conv2d.conv2d_backward(dx, dw, db, cc.copy(), x, wt, out.copy(), stride, stride, ph, pw, act)
    assert_grad(dx, f, x)
    assert_grad(dw, f, wt)
    assert_grad(db, f, b)


def test_conv2d_forward_matches_direct_loops():
    x, w, b = RNG.normal(size=(2, 5, 4, 2)), RNG.normal(size=(3, 2, 2, 3)), RNG.normal(size=3)
    out = np.empty((2, 3, 3, 3))
    conv2d.conv2d_forward(out, x, w, b, 1, 1, 0, 0, A.LINEAR)
    for n in range(2):
        for i in range(3):
            for j in range(3):
                for k in range(3):
                    ref = (x[n, i:i + 3, j:j + 2, :] * w[:, :, :, k]).sum() + b[k]
                    assert out[n, i, j, k] == pytest.approx(ref)


@pytest.mark.parametrize("pool,stride,pad,shape", [
    ((2, 2), 2, (0, 0), (2, 4, 6, 3)),
    ((3, 3), 2, (0, 0), (1, 7, 5, 2)),
    ((2, 2), 2, (1, 1), (1, 5, 5, 2)),
    ((3, 3), 1, (0, 0), (1, 5, 5, 1)),
])
def test_maxpool_backward(pool, stride, pad, shape):
    from fastnn.layers import conv_output_size
    n, h, w, c = shape
    if pad == (0, 0):
        oh, ow = conv_output_size(h, pool[0], stride, "valid")[0], conv_output_size(w, pool[1], stride, "valid")[0]
    else:
        oh, ow = conv_output_size(h, pool[0], stride, "same")[0], conv_output_size(w, pool[1], stride, "same")[0]
    x = RNG.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) / 7  # distinct values
    cc = RNG.normal(size=(n, oh, ow, c))
    out, am = np.empty((n, oh, ow, c)), np.empty((n, oh, ow, c), dtype=np.int32)

    def f():
        pooling.maxpool2d_forward(out, am, x, *pool, stride, stride, *pad)
        return float((out * cc).sum())

    f()
    dx = np.empty_like(x)
    pooling.maxpool2d_backward(dx, cc, am.copy(), *pool, stride, stride, *pad)
    assert_grad(dx, f, x, atol=1e-6)


def test_batchnorm_backward():
    m, c = 6, 3
    x = RNG.normal(size=(m, c)) * 2 + 1
    gamma, beta = RNG.normal(size=c), RNG.normal(size=c)
    cc = RNG.normal(size=(m, c))
    out, mean, invstd = np.empty_like(x), np.empty(c), np.empty(c)

    def f():
        batchnorm.batchnorm_forward(out, mean, invstd, x, gamma, beta, np.zeros(c), np.ones(c), 0.99, 1e-3, True)
        return float((out * cc).sum())

    f()
    dx, dg, db = np.empty_like(x), np.empty(c), np.empty(c)
    batchnorm.batchnorm_backward(dx, dg, db, cc, x, mean.copy(), invstd.copy(), gamma)
    assert_grad(dx, f, x, rtol=1e-4, atol=1e-6)
    assert_grad(dg, f, gamma)
    assert_grad(db, f, beta)


def test_batchnorm_moving_statistics_follow_keras():
    x = RNG.normal(size=(8, 2))
    mm, mv = np.zeros(2), np.ones(2)
    out, mean, invstd = np.empty_like(x), np.empty(2), np.empty(2)
    batchnorm.batchnorm_forward(out, mean, invstd, x, np.ones(2), np.zeros(2), mm, mv, 0.9, 1e-3, True)
    np.testing.assert_allclose(mm, 0.1 * x.mean(0))
    np.testing.assert_allclose(mv, 0.9 + 0.1 * x.var(0))
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3))


def test_dropout_backward_and_rate():
    x = RNG.normal(size=(50, 40))
    out, mask = np.empty_like(x), np.empty_like(x)
    dropout.dropout_forward(out, mask, x, 0.25, 1234)
    assert abs((mask == 0).mean() - 0.25) < 0.03
    np.testing.assert_allclose(mask[mask != 0], 1 / 0.75)
    c = RNG.normal(size=x.shape)

    def f():
        dropout.dropout_forward(out, mask, x, 0.25, 1234)
        return float((out * c).sum())

    dx = np.empty_like(x)
    dropout.dropout_backward(dx, c, mask)
    assert_grad(dx, f, x)
    # same seed, same mask; another seed, another mask
    m2 = np.empty_like(x)
    dropout.dropout_forward(out, m2, x, 0.25, 1234)
    np.testing.assert_array_equal(m2, mask)
    dropout.dropout_forward(out, m2, x, 0.25, 1235)
    assert (m2 != mask).any()
