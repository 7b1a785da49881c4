"""Where the time of one training step goes: each part of the step timed inside a loop that does what fit does.

    python benches/tools/step_profile.py                 # the MLP of bench_training.py, batch 64
    python benches/tools/step_profile.py --arch lenet --batch 128 --epochs 5

The model is bench_training.py's (Adam, sparse cross-entropy, the 10,000 shipped digits). After a warm-up epoch,
each epoch runs three ways in turn: `fit` (shuffled), a bare loop of training steps on batches cut in
advance, and the same step taken apart: the shuffled batch's gather (as fit's epoch iterator does it), each
node's forward, the loss head (loss, gradient and accuracy), each node's backward and the optimizer's
update, each timed with time.perf_counter. Prints microseconds per step, the median over the epochs. The
timers add about a microsecond per part, so the parts sum a little above the bare loop. It walks the step
the way fastnn/trainers/step.py does, through the trainer's context (a developer's tool: it reads the
trainer's internals), for the chains of layers bench_training.py builds.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn.trainers import step as steps
from fastnn.trainers.epoch_iterator import _take

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benches" / "suites"))
from bench_training import digits, fastnn_model  # noqa: E402


def parts_of_epoch(model, x, y, batch, rng):
    """{part: seconds} of one shuffled epoch, each part of every step timed on its own."""
    trainer, optimizer = model._trainer, model.optimizer
    head = trainer.heads[0]
    times = {}
    clock = time.perf_counter

    def timed(name, fn, *args):
        t0 = clock()
        result = fn(*args)
        times[name] = times.get(name, 0.0) + clock() - t0
        return result

    xb, yb = np.empty((batch,) + x.shape[1:], x.dtype), np.empty(batch, y.dtype)
    order = rng.permutation(len(x))
    with trainer._pool.lease("train") as contexts:
        ctx = contexts.get(batch)
        names = [type(node.layer).__name__ + f" {i}" for i, node in enumerate(model.graph.nodes)]
        for lo in range(0, len(x) - batch + 1, batch):
            timed("gather", lambda idx: (_take(x, idx, xb), _take(y, idx, yb)), order[lo:lo + batch])
            values = ctx.values
            values[0] = xb
            for (forward, slot, i, o), name in zip(ctx.forward_plan, names):
                values[o] = timed(f"{name} forward", forward, slot, values[i], True)
            out = values[ctx.output]
            timed("loss and accuracy", head.score, ctx.heads[0], out, yb)
            grads = ctx.grads
            grads[:] = [None] * len(grads)
            grads[ctx.output] = ctx.heads[0].dout.reshape(out.shape)
            for (backward, slot, o, i, need_dx, _), name in zip(ctx.backward_plan, reversed(names)):
                if grads[o] is not None:
                    grads[i] = timed(f"{name} backward", backward, slot, grads[o], need_dx)
            timed("optimizer", optimizer.apply)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["mlp", "lenet"], default="mlp")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs of each kind (default 3)")
    args = parser.parse_args()
    x, y = digits()
    x, y = x[:len(x) // args.batch * args.batch], y[:len(y) // args.batch * args.batch]   # whole batches only
    n_steps = len(x) // args.batch
    model = fastnn_model(args.arch)
    model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)   # compile, allocate, warm up
    batches = [(x[i:i + args.batch].copy(), y[i:i + args.batch].copy()) for i in range(0, len(x), args.batch)]
    trainer, rng = model._trainer, np.random.default_rng(0)
    runs = {"fit": [], "bare loop": []}
    parts = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
        runs["fit"].append(time.perf_counter() - t0)
        with trainer._pool.lease("train") as contexts:
            ctx = contexts.get(args.batch)
            t0 = time.perf_counter()
            for xb, yb in batches:
                steps.train_step(ctx, trainer.heads, model.optimizer, xb, yb)
            runs["bare loop"].append(time.perf_counter() - t0)
        parts.append(parts_of_epoch(model, x, y, args.batch, rng))
    us = 1e6 / n_steps
    print(f"{args.arch}, batch {args.batch}, backend {fastnn.backend.get_backend()}, "
          f"{fastnn.backend.get_num_threads()} threads; microseconds per step, median of {args.epochs} epochs")
    for name, t in runs.items():
        print(f"  {name:28s} {np.median(t) * us:8.1f}")
    print("  the step taken apart:")
    for name in parts[0]:
        print(f"    {name:26s} {np.median([p[name] for p in parts]) * us:8.1f}")
    print(f"    {'sum of the parts':26s} {np.median([sum(p.values()) for p in parts]) * us:8.1f}")


if __name__ == "__main__":
    main()
