"""Optimizer steps over the flat parameter buffers of the two reference models, float32.

MLP 784-256-128-10: 235,146 parameters; LeNet-5 (6 and 16 5x5 filters, dense 400-120-84-10): 61,706.
"""
import numpy as np
import pytest

MODELS = {
    "mlp_235k": 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
    "lenet5_62k": (5 * 5 * 1 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10),
}
SIZES = pytest.mark.parametrize("model", list(MODELS))
# (op, state buffers, hyperparameters); Adam's alpha is lr with the bias corrections of step 10
STEPS = {
    "sgd_momentum": ("sgd_step", 1, (0.01, 0.9, False)),
    "sgd_nesterov": ("sgd_step", 1, (0.01, 0.9, True)),
    "adagrad": ("adagrad_step", 1, (0.01, 1e-7)),
    "rmsprop": ("rmsprop_step", 2, (0.001, 0.9, 0.0, 1e-7)),
    "adam": ("adam_step", 2, (0.001 * np.sqrt(1 - 0.999**10) / (1 - 0.9**10), 0.9, 0.999, 1e-7)),
}


@pytest.mark.parametrize("name", list(STEPS))
@SIZES
def test_step(bench_op, rng, name, model):
    op, n_state, hyper = STEPS[name]
    p = MODELS[model]
    param, grad = rng.normal(size=p).astype(np.float32), rng.normal(size=p).astype(np.float32)
    state = [np.abs(rng.normal(size=p)).astype(np.float32) for _ in range(n_state)]
    # each call moves param and the state: the check runs on one call over fresh copies
    bench_op(op, f"{name} {model}", (param, grad, *state, *hyper), repeatable=False)
