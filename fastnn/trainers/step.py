"""One step over a Context: the forward walk, the fused loss and accuracy, the backward walk, the update.

The walks go through the node list of the model's graph (forward in order, backward in reverse), through
the plans the context bound once; nothing here knows which kind of model it runs.
"""
import math

import numpy as np

from .. import backend
from ..kernels.losses.reference import EPSILON, clip_bounds


# compile()'s accuracy metrics: "accuracy" (and "acc") take the kind that fits the loss, as Keras resolves them;
# the named kinds must fit it
ACCURACY = {"accuracy": None, "acc": None, "sparse_categorical_accuracy": "sparse",
            "categorical_accuracy": "categorical", "binary_accuracy": "binary"}


def accuracy_kind(loss, out_shape):
    """Which accuracy fits the loss on an output of per-sample shape out_shape: "sparse" (argmax against
    labels), "binary" (thresholded, element-wise) or "categorical" (argmax against one-hot rows)."""
    if loss.target == "sparse":
        return "sparse"
    return "binary" if int(np.prod(out_shape)) == 1 or loss.name == "binary_crossentropy" else "categorical"


def check_output(loss, out_shape, name=None, metrics=()):
    """ValueError when the loss cannot score an output of per-sample shape out_shape, or a metric named for
    one kind of accuracy does not fit it (name: the output's, for a model of several)."""
    where = "the model" if name is None else f"output {name!r}"
    if loss.target == "sparse" and (len(out_shape) != 1 or out_shape[0] < 2):
        raise ValueError(f"{loss.name} expects {where} to give one score per class, shape (None, K) with K >= 2. "
                         f"Received: output shape {(None,) + tuple(out_shape)}")
    kind = accuracy_kind(loss, out_shape)
    for m in metrics:
        if ACCURACY.get(m) not in (None, kind):
            raise ValueError(f"compile(metrics=...): {m!r} does not fit {loss.name} on {where} (its accuracy is "
                             f"{kind} accuracy; 'accuracy' picks it). Received: metrics {list(metrics)}")


class LossHead:
    """What compile() decided for one output of a built model: the loss kernel, whether the output
    activation is fused into it (softmax + cross-entropy computed from the logits), how accuracy reads the
    output, and the output's weight in the model's loss (loss_weights).

    layer: the layer whose call gives the output; fusable: whether its final activation may move into the
    loss (Graph.fusable); name: the output's name in the logs ("<name>_loss", "<name>_accuracy"), None for
    a model of one output (whose logs are "loss" and the metric's name); key: its name in dicts of targets."""

    def __init__(self, layer, loss, metrics_names, dtype, fusable=True, name=None, weight=1.0, key=None):
        out_shape = layer.output_shape
        self.loss_fn, self.out_shape, self.name, self.weight = loss, tuple(out_shape), name, float(weight)
        self.key = key   # what targets, losses and weights given as a dict are keyed by
        check_output(loss, out_shape, name, metrics_names)
        tail = layer.output_activation()
        fused = (fusable and not loss.from_logits and loss.fuses is not None
                 and layer.fuse_output_activation(loss.fuses))
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
        self.binary = accuracy_kind(loss, out_shape) == "binary"
        # the name accuracy is logged under ("accuracy" or "acc", as compile() was given it; "<output>_accuracy"
        # for an output of several), or None
        metric = next((m for m in metrics_names if m in ACCURACY), None)
        self.accuracy = metric if name is None or metric is None else f"{name}_{metric}"
        self.loss_key = "loss" if name is None else f"{name}_loss"
        self.dtype = dtype
        # A model that outputs probabilities (softmax or sigmoid, from_logits=False) gets Keras's loss on them:
        # the fused kernel works from the logits, and Keras's clipping applies where it bites (in the kernel
        # for integer labels, else _clip).
        self.clip = fused   # fused implies from_logits=False: the model's own softmax or sigmoid was dropped
        self.sigmoid = loss.fuses == "sigmoid"
        eps = dtype.type(EPSILON)
        self.eps, self.one_minus_eps = eps, dtype.type(1) - eps
        # sparse labels on logits: one kernel call gives the losses, the gradient and the correct count; it
        # clips a per-sample loss outside bounds, -log of the clipped probabilities' bounds (none from logits)
        self.sparse_kernel = self.loss_name == "sparse_softmax_ce"
        self.bounds = clip_bounds(dtype) if self.clip else (-math.inf, math.inf)

    def buffers(self, n):
        """Per-sample losses, dloss/dout, one-hot rows for labels, and the accuracy's scratch."""
        rows = ((n, self.k), self.dtype)
        buffers = {"loss": ((n,), self.dtype), "dout": rows}
        if self.onehot:
            buffers.update(onehot=rows, rows=np.arange(n))
        if self.binary:
            buffers.update(above=((n, self.k), np.bool_), truth=((n, self.k), np.bool_))
        elif not self.sparse_kernel:
            buffers.update(pred=((n,), np.intp), label=((n,), np.intp), hit=((n,), np.bool_))
        if self.clip and not self.sparse_kernel:
            buffers.update(p=rows, inside=((n, self.k), np.bool_), below=((n, self.k), np.bool_))
        return buffers

    def score(self, slot, out, y, w=None):
        """(mean loss of the batch, correct predictions, 0 when no accuracy is asked for); writes dloss/dout
        (mean reduction, times the output's weight) into slot.dout. With per-sample weights w (N,), Keras's
        "sum_over_batch_size": sum(w * loss) / N."""
        n = out.shape[0]
        if self.sparse_kernel:
            correct = self._kernel(slot.loss, slot.dout, out.reshape(n, -1), y, 1.0 / n, *self.bounds)
            if not self.accuracy:
                correct = 0
        else:
            labels = y
            if self.onehot:
                slot.onehot[...] = 0
                slot.onehot[slot.rows, y] = 1
                y = slot.onehot
            self._kernel(slot.loss, slot.dout, out.reshape(n, -1), y, 1.0 / n)
            if self.clip:
                self._clip(slot, y, n)
            correct = self.correct(slot, out, labels) if self.accuracy else 0
        if w is not None:
            slot.loss *= w
            slot.dout *= w[:, None]
        if self.weight != 1.0:
            slot.dout *= self.weight
        return float(slot.loss.sum()) / n, correct

    def _clip(self, slot, y, n):
        """Keras's cross-entropy on probabilities (its JAX and torch backends): each probability clipped to
        [eps, 1 - eps] (eps = 1e-7) before its log, so where clipping bites the loss is -log(eps) or
        -log(1 - eps) and the gradient through it is zero. Only the rows it changes are recomputed. (With
        sparse labels the kernel clips: sparse_softmax_ce.)"""
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
    """The model's output for x, written into ctx's buffers (a view of one of them, or of x); for a model of
    several inputs x is a tuple, for one of several outputs the result is a list."""
    values = ctx.values
    if ctx.n_inputs == 1:
        values[0] = x
    else:
        values[:ctx.n_inputs] = x
    for layer_forward, slot, i, o in ctx.forward_plan:
        values[o] = layer_forward(slot, values[i] if type(i) is int else [values[j] for j in i], training)
    return values[ctx.output] if ctx.single else [values[o] for o in ctx.outputs]


def backward(ctx, douts):
    """Weight gradients into the model's flat gradient buffer; each layer's input gradient into ctx. douts:
    the loss's gradient for each output. The gradients of a value read by several nodes add up in its sum
    buffer."""
    grads = ctx.grads
    grads[:] = [None] * len(grads)
    for v, dout, total in zip(ctx.outputs, douts, ctx.out_sums):
        _deliver(grads, v, dout, total)
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


def score(ctx, heads, outs, y, w):
    """(the model's loss: each output's mean loss times its weight, summed; per head (mean loss, correct
    count)), with each head's dloss/dout in its slot. For a model of one output, outs, y and w are its
    array; else lists or tuples, one per output (w None for no weights)."""
    if ctx.single:
        head = heads[0]
        part = head.score(ctx.heads[0], outs, y, w)
        return part[0] * head.weight, (part,)
    total, parts = 0.0, []
    for k, (head, slot, out) in enumerate(zip(heads, ctx.heads, outs)):
        part = head.score(slot, out, y[k], None if w is None else w[k])
        parts.append(part)
        total += part[0] * head.weight
    return total, parts


def train_step(ctx, heads, optimizer, x, y, w=None):
    """Forward, fused loss, backward and one optimizer update; returns score()'s (loss, per-head parts).
    w: per-sample loss weights (N,) or None (per output, for a model of several)."""
    if not optimizer.uses_gradients:
        loss = optimizer.minimize_step(lambda: score(ctx, heads, forward(ctx, x, False), y, w)[0])
        return loss, score(ctx, heads, forward(ctx, x, False), y, w)[1]
    outs = forward(ctx, x, True)
    loss, parts = score(ctx, heads, outs, y, w)
    if not math.isfinite(loss):
        return loss, parts   # no update from a NaN gradient: the weights stay as they were
    if ctx.single:
        backward(ctx, (ctx.heads[0].dout.reshape(outs.shape),))
    else:
        backward(ctx, [slot.dout.reshape(out.shape) for slot, out in zip(ctx.heads, outs)])
    optimizer.apply()
    return loss, parts


def test_step(ctx, heads, x, y, w=None):
    """score()'s (loss, per-head parts) of a batch in inference mode; w: per-sample loss weights or None."""
    return score(ctx, heads, forward(ctx, x, False), y, w)
