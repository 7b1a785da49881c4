"""The per-call context: every buffer one call of a model writes, and what its forward keeps for backward.

A Context is built once per (model build, batch size, mode) and reused by every later call of that
kind, so a step allocates nothing sized by the batch. It is out to one caller at a time (ContextPool),
which is what lets any number of threads predict with one model at once: the layers hold only weights
and config, and everything a call writes lives here.

Modes: "train" (fit, train_on_batch: gradients, the loss, layer state such as dropout's stream),
"test" (evaluate: the loss, no gradients) and "predict" (outputs only, any final softmax kept).
"""
import threading
from collections import OrderedDict

import numpy as np

MODES = ("train", "test", "predict")


class LayerContext:
    """One layer's slot: its declared buffers as attributes, ctx.logits, ctx.state, and what forward saves."""

    def __init__(self, buffers, logits=False, state=None):
        for name, spec in buffers.items():
            setattr(self, name, spec if isinstance(spec, np.ndarray) else np.empty(*spec))
        self.logits, self.state = logits, state
        kept = dict(self.__dict__)
        self._kept = kept["_kept"] = kept

    def release(self):
        """Forget what the last call saved (it may be the caller's input, which a pooled context outlives)."""
        self.__dict__ = self._kept.copy()


class Context:
    """All one call needs for a batch of n in one mode: a slot per node, one per loss head, and the step's plan.

    forward_plan: (layer.forward, slot, input, output value) per node in order; backward_plan:
    (layer.backward, slot, output value, input, need_dx, sum buffer) in reverse. For a layer of one input,
    input is a value number and the sum buffer the buffer where the gradients of a value read several times
    add up (else None); for a merge layer both are tuples, one per input. outputs: the output values, and
    out_sums their sum buffers (an output that a node reads too). Bound once here, so the step does no
    lookups.
    """

    def __init__(self, graph, n, mode, heads=None, states=None, input_shapes=None, dtype=None):
        self.n, self.mode = n, mode
        training = mode == "train"
        heads = heads or []
        scored = mode != "predict" and bool(heads)
        # a node whose output goes to a head that absorbed its final activation skips it (ctx.logits)
        logits = {v for v, head in zip(graph.outputs, heads) if scored and head.fused}
        first = graph.n_inputs
        self.slots = [LayerContext(node.layer.buffers(n), first + i in logits, states[i] if training else None)
                      for i, node in enumerate(graph.nodes)]
        self.heads = [LayerContext(head.buffers(n)) for head in heads] if scored else []
        self.n_inputs, self.outputs = first, graph.outputs
        self.single = len(graph.outputs) == 1
        self.output = graph.outputs[0]
        self.values = [None] * (first + len(graph.nodes))
        self.grads = [None] * (first + len(graph.nodes))
        sums = {v: np.empty((n,) + graph.value_shape(v, input_shapes), dtype) for v in graph.shared} \
            if training else {}
        self.out_sums = tuple(sums.get(v) for v in graph.outputs)

        def wire(inputs, merges):
            if merges:
                return inputs, tuple(sums.get(v) for v in inputs)
            return inputs[0], sums.get(inputs[0])

        pairs = list(zip(graph.nodes, self.slots))
        self.forward_plan = [(node.layer.forward, slot, wire(node.inputs, node.merges)[0], first + i)
                             for i, (node, slot) in enumerate(pairs)]
        # a layer called more than once (shared) writes its weight gradients at its last call's backward,
        # which runs first; its earlier calls add theirs
        last = {id(node.layer): i for i, node in enumerate(graph.nodes)}
        self.backward_plan = [(node.layer.backward if last[id(node.layer)] == i else _adding(node.layer),
                               slot, first + i, *wire(node.inputs, node.merges)[:1], node.need_dx,
                               wire(node.inputs, node.merges)[1])
                              for i, (node, slot) in reversed(list(enumerate(pairs)))] if training else []
        self.generation = None

    def release(self):
        for slot in self.slots:
            slot.release()
        n = len(self.values)
        self.values[:] = self.grads[:] = [None] * n


def _adding(layer):
    """layer.backward for a call of a shared layer whose gradients add to those its later calls wrote: they
    are set aside in buffers of this context's, the call writes its own, and the two are summed."""
    grads = [w.grad for w in layer.weights_spec if w.grad is not None]
    kept = [np.empty_like(g) for g in grads]

    def backward(slot, dout, need_dx):
        for g, k in zip(grads, kept):
            np.copyto(k, g)
        dx = layer.backward(slot, dout, need_dx)
        for g, k in zip(grads, kept):
            g += k
        return dx
    return backward


class ContextPool:
    """Idle contexts by mode and batch size; checkout() hands one to a single caller until checkin().

    Per mode it keeps the `sizes` most recently used batch sizes (fit's batch and its last short one,
    validation's, predict's...) and up to `per_size` idle contexts of each (one per thread that used it
    at the same time). clear() drops them all: contexts out at that moment are dropped when returned.
    The lock guards only this bookkeeping; no step runs under it.
    """

    def __init__(self, make, sizes=4, per_size=8):
        self._make, self.sizes, self.per_size = make, sizes, per_size
        self._idle = {mode: OrderedDict() for mode in MODES}
        self._lock = threading.Lock()
        self._generation = 0

    def checkout(self, mode, n):
        with self._lock:
            idle = self._idle[mode].get(n)
            if idle:
                return idle.pop()
            generation = self._generation
        ctx = self._make(mode, n)
        ctx.generation = generation
        return ctx

    def checkin(self, ctx):
        ctx.release()
        with self._lock:
            if ctx.generation != self._generation:
                return
            by_size = self._idle[ctx.mode]
            idle = by_size.setdefault(ctx.n, [])
            by_size.move_to_end(ctx.n)
            if len(idle) < self.per_size:
                idle.append(ctx)
            while len(by_size) > self.sizes:
                by_size.popitem(last=False)

    def clear(self):
        with self._lock:
            self._generation += 1
            for by_size in self._idle.values():
                by_size.clear()

    def lease(self, mode):
        return Lease(self, mode)


class Lease:
    """Contexts of one mode held for a whole loop (one per batch size met), returned together at exit."""

    def __init__(self, pool, mode):
        self._pool, self._mode, self._held = pool, mode, {}

    def get(self, n):
        ctx = self._held.get(n)
        if ctx is None:
            ctx = self._held[n] = self._pool.checkout(self._mode, n)
        return ctx

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for ctx in self._held.values():
            self._pool.checkin(ctx)
        self._held.clear()
        return False
