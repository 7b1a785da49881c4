"""One step over a Context: the forward walk, the fused loss and accuracy, the backward walk, the update.

The walks go through the node list of the model's graph (forward in order, backward in reverse), through
the plans the context bound once; nothing here knows which kind of model it runs.
"""
import math

import numpy as np

from .. import backend
from ..kernels.losses.reference import EPSILON


class LossHead:
    """What compile() decided for a built model: the loss kernel, whether the output activation is fused
    into it (softmax + cross-entropy computed from the logits), and how accuracy reads the output."""

    def __init__(self, graph, loss, metrics_names, dtype):
        layer = graph.output_layer
        out_shape = layer.output_shape
        if loss.target == "sparse" and (len(out_shape) != 1 or out_shape[0] < 2):
            raise ValueError(f"{loss.name} expects the model to output one score per class, shape (None, K) "
                             f"with K >= 2. Received: output shape {(None,) + out_shape}")
        tail = layer.output_activation()
        fused = (not loss.from_logits and loss.fuses is not None and layer.fuse_output_activation(loss.fuses))
        if not fused:
            layer.fuse_output_activation(None)
        self.fused = fused
        self.loss_name = loss.plan(tail, fused)
        self._kernel = backend.kernel(self.loss_name, dtype=dtype)
        self.onehot = loss.target == "sparse" and self.loss_name == "categorical_ce_probs"
        # accuracy on one output: probabilities > 0.5, or logits > 0 when the sigmoid was fused away
        self.threshold = 0.0 if (fused or loss.from_logits) else 0.5
        self.sparse = loss.target == "sparse"
        self.k = int(np.prod(out_shape))
        self.binary = not self.sparse and (self.k == 1 or loss.name == "binary_crossentropy")
        # the name accuracy is logged under ("accuracy" or "acc", as compile() was given it), or None
        self.accuracy = next((m for m in metrics_names if m in ("accuracy", "acc")), None)
        self.dtype = dtype
        # A model that outputs probabilities (softmax or sigmoid, from_logits=False) gets Keras's loss on them:
        # the fused kernel works from the logits, then _clip applies Keras's clipping where it bites.
        self.clip = fused   # fused implies from_logits=False: the model's own softmax or sigmoid was dropped
        self.sigmoid = loss.fuses == "sigmoid"
        eps = dtype.type(EPSILON)
        self.eps, self.one_minus_eps = eps, dtype.type(1) - eps
        # -log of the clipped probabilities' bounds: a per-sample loss outside them had its target clipped
        self.loss_bounds = (-np.log(self.one_minus_eps), -np.log(eps))

    def buffers(self, n):
        """Per-sample losses, dloss/dout, one-hot rows for labels, and the accuracy's scratch."""
        rows = ((n, self.k), self.dtype)
        buffers = {"loss": ((n,), self.dtype), "dout": rows}
        if self.onehot:
            buffers.update(onehot=rows, rows=np.arange(n))
        if self.binary:
            buffers.update(above=((n, self.k), np.bool_), truth=((n, self.k), np.bool_))
        else:
            buffers.update(pred=((n,), np.intp), label=((n,), np.intp), hit=((n,), np.bool_))
        if self.clip and self.sparse:
            buffers.update(clipped=((n,), np.bool_), below=((n,), np.bool_))
        elif self.clip:
            buffers.update(p=rows, inside=((n, self.k), np.bool_), below=((n, self.k), np.bool_))
        return buffers

    def loss(self, slot, out, y, w=None):
        """Mean loss of the batch; writes dloss/dout (mean reduction) into slot.dout. With per-sample weights
        w (N,), Keras's "sum_over_batch_size": sum(w * loss) / N."""
        n = out.shape[0]
        if self.onehot:
            slot.onehot[...] = 0
            slot.onehot[slot.rows, y] = 1
            y = slot.onehot
        self._kernel(slot.loss, slot.dout, out.reshape(n, -1), y, 1.0 / n)
        if self.clip:
            self._clip(slot, y, n)
        if w is not None:
            slot.loss *= w
            slot.dout *= w[:, None]
        return float(slot.loss.sum()) / n

    def _clip(self, slot, y, n):
        """Keras's cross-entropy on probabilities (its JAX and torch backends): each probability clipped to
        [eps, 1 - eps] (eps = 1e-7) before its log, so where clipping bites the loss is -log(eps) or
        -log(1 - eps) and the gradient through it is zero. Only the rows it changes are recomputed."""
        if self.sparse:   # only the target's probability counts: its loss is -log p
            lo, hi = self.loss_bounds
            np.greater_equal(slot.loss, hi, out=slot.clipped)
            np.logical_or(slot.clipped, np.less_equal(slot.loss, lo, out=slot.below), out=slot.clipped)
            if slot.clipped.any():
                slot.dout[slot.clipped] = 0
                np.clip(slot.loss, lo, hi, out=slot.loss)
            return
        y = y.reshape(n, -1)
        k = self.k if self.sigmoid else 1   # the sigmoid kernel's gradient is a mean over the outputs
        np.multiply(slot.dout, n * k, out=slot.p)
        slot.p += y   # the probabilities, from the gradient (p - y) / (n k)
        np.greater(slot.p, self.eps, out=slot.inside)
        np.logical_and(slot.inside, np.less(slot.p, self.one_minus_eps, out=slot.below), out=slot.inside)
        if slot.inside.all():
            return
        rows = ~slot.inside.all(axis=1)
        p, t, inside = slot.p[rows], y[rows], slot.inside[rows]
        pc = np.clip(p, self.eps, self.one_minus_eps)
        if self.sigmoid:
            slot.loss[rows] = -(t * np.log(pc) + (1 - t) * np.log(1 - pc)).mean(axis=1)
            slot.dout[rows] = (p - t) * inside / (n * self.k)
        else:
            slot.loss[rows] = -(t * np.log(pc)).sum(axis=1)
            weight = (t * inside).sum(axis=1, keepdims=True)   # d/dlogits of -sum_k t_k [inside_k] log p_k
            slot.dout[rows] = (p * weight - t * inside) / n

    def correct(self, slot, out, y):
        """How many predictions in the batch are right (Keras's accuracy for this loss)."""
        n = out.shape[0]
        out = out.reshape(n, -1)
        if self.binary:
            np.greater(out, self.threshold, out=slot.above)
            np.greater(y.reshape(n, -1), 0.5, out=slot.truth)
            return int(np.count_nonzero(np.equal(slot.above, slot.truth, out=slot.above))) / out.shape[1]
        np.argmax(out, axis=1, out=slot.pred)
        label = y if self.sparse else np.argmax(y.reshape(n, -1), axis=1, out=slot.label)
        return int(np.count_nonzero(np.equal(slot.pred, label, out=slot.hit)))


def forward(ctx, x, training):
    """The model's output for x, written into ctx's buffers (a view of one of them, or of x)."""
    values = ctx.values
    values[0] = x
    for layer_forward, slot, i, o in ctx.forward_plan:
        values[o] = layer_forward(slot, values[i] if type(i) is int else [values[j] for j in i], training)
    return values[ctx.output]


def backward(ctx, dout):
    """Weight gradients into the model's flat gradient buffer; each layer's input gradient into ctx. The
    gradients of a value read by several nodes add up in its sum buffer."""
    grads = ctx.grads
    grads[:] = [None] * len(grads)
    grads[ctx.output] = dout
    for layer_backward, slot, o, i, need_dx, total in ctx.backward_plan:
        d = grads[o]
        if d is None:
            continue
        dx = layer_backward(slot, d, need_dx)
        if type(i) is int:
            _deliver(grads, i, dx, total)
        else:
            for v, part, into in zip(i, dx, total):
                _deliver(grads, v, part, into)


def _deliver(grads, v, dx, total):
    """Hand a node's input gradient dx to value v: as it is, or added into v's sum buffer `total`."""
    if dx is None:
        return
    if total is None:
        grads[v] = dx
    elif grads[v] is None:
        np.copyto(total, dx)
        grads[v] = total
    else:
        total += dx


def train_step(ctx, head, optimizer, x, y, w=None):
    """Forward, fused loss, backward and one optimizer update; returns (mean loss, correct count).
    w: per-sample loss weights (N,) or None."""
    slot = ctx.head
    if not optimizer.uses_gradients:
        loss = optimizer.minimize_step(lambda: head.loss(slot, forward(ctx, x, False), y, w))
        return loss, head.correct(slot, forward(ctx, x, False), y) if head.accuracy else 0
    out = forward(ctx, x, True)
    loss = head.loss(slot, out, y, w)
    correct = head.correct(slot, out, y) if head.accuracy else 0
    if not math.isfinite(loss):
        return loss, correct   # no update from a NaN gradient: the weights stay as they were
    backward(ctx, slot.dout.reshape(out.shape))
    optimizer.apply()
    return loss, correct


def test_step(ctx, head, x, y, w=None):
    """(mean loss, correct count) of a batch in inference mode; w: per-sample loss weights or None."""
    out = forward(ctx, x, False)
    return head.loss(ctx.head, out, y, w), head.correct(ctx.head, out, y) if head.accuracy else 0
