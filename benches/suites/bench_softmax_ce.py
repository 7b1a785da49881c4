"""Softmax cross-entropy (dense and sparse labels), softmax, and the other losses at the MNIST output: 64x10."""
import numpy as np
import pytest

from fastnn.kernels.losses.reference import clip_bounds

N, K = 64, 10
GROUP = f"{N}x{K}"


@pytest.fixture
def problem(rng):
    logits = (rng.normal(size=(N, K)) * 3).astype(np.float32)
    labels = rng.integers(0, K, size=N).astype(np.int64)
    onehot = np.eye(K, dtype=np.float32)[labels]
    return logits, labels, onehot


def test_softmax_ce(bench_op, problem):
    logits, _, onehot = problem
    bench_op("softmax_ce", f"softmax_ce {GROUP}",
             (np.empty(N, np.float32), np.empty_like(logits), logits, onehot, 1 / N))


def test_sparse_softmax_ce(bench_op, problem):
    logits, labels, _ = problem
    bench_op("sparse_softmax_ce", f"sparse_softmax_ce {GROUP}",
             (np.empty(N, np.float32), np.empty_like(logits), logits, labels, 1 / N, *clip_bounds(np.float32)))


def test_softmax_forward(bench_op, problem):
    logits = problem[0]
    bench_op("softmax_forward", f"softmax_forward {GROUP}", (np.empty_like(logits), logits))


@pytest.mark.parametrize("op", ["mse", "sigmoid_bce", "binary_ce_probs", "categorical_ce_probs"])
def test_loss(bench_op, problem, op):
    logits, _, onehot = problem
    pred = logits if op in ("mse", "sigmoid_bce") else 1 / (1 + np.exp(-logits))
    bench_op(op, f"{op} {GROUP}", (np.empty(N, np.float32), np.empty_like(pred), pred, onehot, 1 / N))
