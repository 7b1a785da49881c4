"""Each optimizer's update against a step computed by hand from Keras's formulas; plain gradient descent
decreases a convex function; simulated annealing solves XOR without gradients."""
import math

import numpy as np
import pytest

import fastnn
from fastnn import layers, optimizers


def one_step(opt, w0, g, steps=1):
    w = np.array(w0, dtype=np.float64)
    grad = np.array(g, dtype=np.float64)
    opt.build(w, grad)
    for _ in range(steps):
        opt.apply()
    return w


W0, G = [1.0, -2.0, 0.5], [0.1, -0.3, 2.0]


def test_sgd_plain():
    np.testing.assert_allclose(one_step(optimizers.SGD(0.1), W0, G), [0.99, -1.97, 0.3])


def test_sgd_momentum_two_steps():
    # v1 = -lr g; w1 = w0 + v1; v2 = m v1 - lr g; w2 = w1 + v2
    lr, m = 0.1, 0.9
    g = np.array(G)
    v1 = -lr * g
    v2 = m * v1 - lr * g
    np.testing.assert_allclose(one_step(optimizers.SGD(lr, momentum=m), W0, G, steps=2), np.array(W0) + v1 + v2)


def test_sgd_nesterov():
    lr, m = 0.1, 0.9
    g = np.array(G)
    v1 = -lr * g
    np.testing.assert_allclose(one_step(optimizers.SGD(lr, momentum=m, nesterov=True), W0, G),
                               np.array(W0) + m * v1 - lr * g)


def test_adagrad():
    lr, g = 0.5, np.array(G)
    acc = 0.1 + g * g
    np.testing.assert_allclose(one_step(optimizers.Adagrad(lr), W0, G), np.array(W0) - lr * g / np.sqrt(acc + 1e-7))


def test_rmsprop_with_and_without_momentum():
    lr, rho, g = 0.01, 0.9, np.array(G)
    v = (1 - rho) * g * g
    step = lr * g / np.sqrt(v + 1e-7)
    np.testing.assert_allclose(one_step(optimizers.RMSprop(lr), W0, G), np.array(W0) - step)
    np.testing.assert_allclose(one_step(optimizers.RMSprop(lr, momentum=0.5), W0, G), np.array(W0) - step)


def test_adam_first_steps():
    lr, b1, b2, eps, g = 0.001, 0.9, 0.999, 1e-7, np.array(G)
    w, m, v = np.array(W0), np.zeros(3), np.zeros(3)
    for t in (1, 2):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - alpha * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(one_step(optimizers.Adam(lr), W0, G, steps=2), w, rtol=1e-12)
    # the first Adam step moves every weight by about lr, whatever the gradient's scale
    np.testing.assert_allclose(np.abs(one_step(optimizers.Adam(lr), W0, G) - W0), lr, rtol=1e-3)


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.RMSprop().rho == 0.9
    assert optimizers.Adagrad().initial_accumulator_value == 0.1


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_gradient_descent_decreases_a_convex_function(name):
    """Least squares: f(w) = mean((x w - y)^2) is convex; small steps must make it fall."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    model = fastnn.Sequential([layers.Input((3,)), layers.Dense(1)], seed=0, dtype="float64")
    opt = {"sgd": optimizers.SGD(0.05), "adam": optimizers.Adam(0.05), "rmsprop": optimizers.RMSprop(0.05),
           "adagrad": optimizers.Adagrad(0.5)}[name]
    model.compile(opt, "mse")
    losses = [model.train_on_batch(x, y) for _ in range(60)]
    if name == "sgd":   # plain GD with a small step decreases the loss at every step
        assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.2 * losses[0]


def test_learning_rate_is_validated_and_settable():
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="learning_rate"):
            optimizers.Adam(bad)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.SGD("fast")
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(0.1, momentum=1.5)
    opt = optimizers.Adam()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    with pytest.raises(ValueError):
        opt.learning_rate = -1
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get("adamw2")


def test_simulated_annealing_solves_xor_without_gradients():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.float64)
    model = fastnn.Sequential([layers.Input((2,)), layers.Dense(4, activation="tanh"),
                               layers.Dense(1, activation="sigmoid")], seed=1, dtype="float64")
    opt = optimizers.SimulatedAnnealing(learning_rate=0.3, initial_temperature=0.05, cooling=0.995, seed=1)
    model.compile(opt, "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=4, epochs=3000, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before and after < 0.05
    assert ((model.predict(x)[:, 0] > 0.5) == (y > 0.5)).all()
    assert 0 < opt.accepted < opt.iterations
