"""One training epoch of Adam on the 10,000 real digits (fastnn.datasets.mnist_10k): MLP 784-256-128-10
and LeNet-5, every fastnn backend beside PyTorch's CPU build (eager, and under torch.compile where it
compiles) and JAX (the whole step under jit, optax's Adam), at the same thread count; and predict at batch
1024.

    pytest benches/suites/bench_training.py --benchmark-only --benchmark-columns=median,rounds
    python benches/suites/bench_training.py [--batch 64] [--rounds 6]   # one run, every engine in turns

The script also measures, in the same run, this machine's fp32 GEMM rate (2048^3, the faster of NumPy's
BLAS and torch.mm) and reports each epoch's FLOP/s as a fraction of it, and the hostile case: fastnn in
processes that import torch first with OMP_WAIT_POLICY=ACTIVE exported, taking turns with clean ones.
Compilation (Numba, XLA, inductor) and the first-use allocation happen in a warm-up epoch outside the timed
call.
"""
import argparse
import json
import os
import subprocess
import sys
import time

if os.environ.get("FASTNN_BENCH_TORCH_FIRST"):   # the hostile case's processes (main, below)
    import torch  # noqa: F401

import numpy as np
import pytest

import fastnn
from fastnn import layers

BATCH = int(os.environ.get("FASTNN_BENCH_BATCH", "64"))


def digits():
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist_10k.load_data()
    x = np.concatenate([x_train, x_test]).astype(np.float32)[..., None] / 255
    y = np.concatenate([y_train, y_test]).astype(np.int64)
    return x, y


def fastnn_model(arch):
    if arch == "mlp":
        stack = [layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(256, activation="relu"),
                 layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")]
    else:
        stack = [layers.Input((28, 28, 1)), layers.Conv2D(6, 5, padding="same", activation="relu"),
                 layers.MaxPooling2D(2), layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),
                 layers.Flatten(), layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
                 layers.Dense(10, activation="softmax")]
    model = fastnn.Sequential(stack, seed=0)
    model.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


def fastnn_epoch(backend_name, arch, x, y):
    fastnn.set_backend(backend_name)
    model = fastnn_model(arch)
    model.fit(x[:BATCH * 4], y[:BATCH * 4], batch_size=BATCH, epochs=1, verbose=0)   # compile, allocate

    def epoch():
        # a model follows the selected backend (its kernels are looked up again when the selection has
        # changed, once, before the first batch): the engines take turns in one process
        fastnn.set_backend(backend_name)
        return model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0).history["loss"][-1]

    def predict():
        fastnn.set_backend(backend_name)
        return model.predict(x[:PREDICT], batch_size=PREDICT)
    predict()   # allocates predict's buffers, untimed
    epoch.predict = predict
    return epoch


def torch_epoch(arch, x, y, threads, compiled=False):
    """PyTorch eager, or (compiled) with the network under torch.compile (inductor: forward and backward
    compiled; Adam's update stays eager)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    if arch == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                            nn.Linear(128, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    run = torch.compile(net) if compiled else net
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(xt), generator=gen)
        for lo in range(0, len(xt), BATCH):
            idx = order[lo:lo + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(run(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return float(loss.detach())

    def predict():
        with torch.no_grad():
            return run(xt[:PREDICT]).softmax(1).numpy()
    epoch()   # warm-up (and compilation)
    predict()
    epoch.predict = predict
    return epoch


def torch_compiled_epoch(arch, x, y, threads):
    return torch_epoch(arch, x, y, threads, compiled=True)


def jax_epoch(arch, x, y, threads):
    """The same model and Adam in JAX: the whole step (forward, loss, gradients, optax update) under jit."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if threads == 1:   # XLA's CPU thread pool, before jax loads
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp
    import optax

    def glorot(key, shape, fan_in, fan_out):
        limit = np.sqrt(6 / (fan_in + fan_out))
        return jax.random.uniform(key, shape, jnp.float32, -limit, limit)

    keys = iter(jax.random.split(jax.random.PRNGKey(0), 8))
    if arch == "mlp":
        sizes = [(784, 256), (256, 128), (128, 10)]
        params = [(glorot(next(keys), s, *s), jnp.zeros(s[1])) for s in sizes]
        convs = []
    else:
        convs = [((5, 5, 1, 6), "SAME"), ((5, 5, 6, 16), "VALID")]
        sizes = [(400, 120), (120, 84), (84, 10)]
        params = [(glorot(next(keys), s, 25 * s[2], 25 * s[3]), jnp.zeros(s[3])) for s, _ in convs]
        params += [(glorot(next(keys), s, *s), jnp.zeros(s[1])) for s in sizes]

    def forward(params, xb):
        h = xb
        for (w, b), (_, padding) in zip(params, convs):   # NHWC, HWIO: channels-last as fastnn
            h = jax.lax.conv_general_dilated(h, w, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = jax.nn.relu(h + b)
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = h.reshape(h.shape[0], -1)
        for i, (w, b) in enumerate(params[len(convs):]):
            h = h @ w + b
            h = jax.nn.relu(h) if i < len(sizes) - 1 else h
        return h

    def loss_fn(params, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(forward(params, xb), yb).mean()

    opt = optax.adam(1e-3, eps=1e-7)
    state = [params, opt.init(params)]

    @jax.jit
    def step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(x))
        for lo in range(0, len(x), BATCH):
            idx = order[lo:lo + BATCH]
            state[0], state[1], loss = step(state[0], state[1], x[idx], y[idx])
        return float(loss)

    forward_jit = jax.jit(lambda params, xb: jax.nn.softmax(forward(params, xb)))

    def predict():
        return np.asarray(forward_jit(state[0], x[:PREDICT]))
    epoch()   # warm-up: compiles the step for a full and for the last, shorter batch
    predict()
    epoch.predict = predict
    return epoch


BACKENDS = fastnn.available_backends()
# the engines fastnn is measured against, and the module each needs
ANCHORS = {"torch": torch_epoch, "torch.compile": torch_compiled_epoch, "jax": jax_epoch}
NEEDS = {"torch": "torch", "torch.compile": "torch", "jax": "jax"}
PREDICT = 1024   # predict's batch
# Seconds between two engines' turns. An engine's idle threads spin a while after its work (XLA's and
# PyTorch's do, at their defaults) and would slow whichever engine runs next by up to half; the pause lets
# them settle, and the order is drawn anew each round. A predict turn starts with one untimed call, which
# brings the engine's weights back into cache after the other engines ran.
SETTLE = 0.3


def flops_per_sample(arch):
    """Floating-point operations of one training step per sample: 2 per multiply-add, forward (every layer),
    weight gradients (every layer) and input gradients (every layer but the first)."""
    if arch == "mlp":
        layers_ = [784 * 256, 256 * 128, 128 * 10]
    else:   # conv: output positions x filters x window; then the dense layers
        layers_ = [28 * 28 * 6 * 5 * 5 * 1, 10 * 10 * 16 * 5 * 5 * 6, 400 * 120, 120 * 84, 84 * 10]
    return 2 * (2 * sum(layers_) + sum(layers_[1:]))


def gemm_rate(threads, repeats=3):
    """This machine's fp32 matrix-product rate in FLOP/s, now: 2048^3, the faster of NumPy's BLAS (at the
    given threads) and torch.mm."""
    from threadpoolctl import threadpool_limits

    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    candidates = {}
    with threadpool_limits(threads, user_api="blas"):
        candidates["numpy"] = lambda: a @ a
        try:
            import torch

            torch.set_num_threads(threads)
            t = torch.from_numpy(a)
            candidates["torch"] = lambda: torch.mm(t, t)
        except ImportError:
            pass
        best = {}
        for name, fn in candidates.items():
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            best[name] = 2 * n ** 3 / min(times)
    name = max(best, key=best.get)
    return best[name], name


@pytest.fixture(scope="module")
def data():
    return digits()


def _engine(engine, arch, x, y):
    if engine in ANCHORS:
        pytest.importorskip(NEEDS[engine])
        try:
            return ANCHORS[engine](arch, x, y, fastnn.get_num_threads())
        except Exception as exc:   # torch.compile needs a working C++ toolchain
            pytest.skip(f"{engine} did not run: {type(exc).__name__}: {exc}")
    return fastnn_epoch(engine, arch, x, y)


@pytest.mark.parametrize("arch", ["mlp", "lenet"])
@pytest.mark.parametrize("engine", BACKENDS + list(ANCHORS))
def test_epoch(benchmark, data, arch, engine):
    x, y = data
    run = _engine(engine, arch, x, y)
    benchmark.group = f"epoch-{arch}-batch{BATCH}"
    benchmark.extra_info["samples"] = len(x)
    loss = benchmark.pedantic(run, rounds=3, iterations=1)
    assert np.isfinite(loss)


@pytest.mark.parametrize("arch", ["mlp", "lenet"])
@pytest.mark.parametrize("engine", BACKENDS + list(ANCHORS))
def test_predict(benchmark, data, arch, engine):
    x, y = data
    run = _engine(engine, arch, x, y)
    benchmark.group = f"predict-{arch}-batch{PREDICT}"
    probs = benchmark.pedantic(run.predict, rounds=5, iterations=1)
    assert np.allclose(np.asarray(probs).sum(1), 1, atol=1e-4)


def _turns(runs, rounds, what=None, calls=1, untimed=0):
    """Median seconds per call of each engine, the engines taking turns in a new order every round (a fixed
    seed), each turn starting SETTLE seconds after the last one ended: `untimed` calls, then `calls` timed."""
    engines = list(runs)
    times = {engine: [] for engine in engines}
    order = np.random.default_rng(0)
    for _ in range(rounds):
        for engine in order.permutation(engines):
            fn = runs[engine] if what is None else getattr(runs[engine], what)
            time.sleep(SETTLE)
            for _ in range(untimed):
                fn()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times[engine].append((time.perf_counter() - t0) / calls)
    return {engine: float(np.median(t)) for engine, t in times.items()}


def _available(engine):
    try:
        __import__(NEEDS.get(engine, "fastnn"))
        return True
    except ImportError:
        return False


def _child(rounds):
    """One process of the hostile comparison: samples/s of the fastnn engines (JSON on stdout)."""
    x, y = digits()
    out = {}
    for arch in ("mlp", "lenet"):
        runs = {b: fastnn_epoch(b, arch, x, y) for b in ["auto"] + [b for b in BACKENDS if b != "numpy"]}
        out.update({f"{arch} {b}": len(x) / t for b, t in _turns(runs, rounds).items()})
    print(json.dumps(out))


def hostile(processes=5, rounds=2):
    """fastnn in fresh processes that import torch first with OMP_WAIT_POLICY=ACTIVE exported, taking turns
    with clean processes: the median samples/s of each, per model and backend. Five of each: a slow phase of
    a shared machine lasts seconds, a whole process's epochs, and with three a phase that caught two of one
    kind moved the ratio by up to 2x."""
    clean_env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "FASTNN_BENCH_TORCH_FIRST")}
    envs = {"clean": clean_env, "hostile": {**clean_env, "OMP_WAIT_POLICY": "ACTIVE", "FASTNN_BENCH_TORCH_FIRST": "1"}}
    results = {name: [] for name in envs}
    for _ in range(processes):
        for name, env in envs.items():
            run = subprocess.run([sys.executable, __file__, "--child", "--rounds", str(rounds)], env=env,
                                 capture_output=True, text=True, check=True)
            results[name].append(json.loads(run.stdout.strip().splitlines()[-1]))
    return {row: {name: float(np.median([r[row] for r in results[name]])) for name in envs}
            for row in results["clean"][0]}


def main(argv=None):
    """Every engine's samples/s per epoch (and predict), the ratios to PyTorch and JAX, the fraction of the
    machine's GEMM rate, all measured in this one run; then the hostile case.

    The engines take turns, one epoch each per round, so a drift in the machine's speed (a noisy neighbour)
    reaches every engine alike instead of whichever happened to run during it."""
    global BATCH
    import platform

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=BATCH, help=f"batch size (default {BATCH})")
    parser.add_argument("--rounds", type=int, default=6, help="epochs per engine (default 6)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile-case processes")
    args = parser.parse_args(argv)
    BATCH = args.batch
    os.environ["FASTNN_BENCH_BATCH"] = str(BATCH)   # for the hostile case's processes
    if args.child:
        return _child(args.rounds)
    x, y = digits()
    threads = fastnn.get_num_threads()
    rate, rate_by = gemm_rate(threads)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} threads, "
          f"{len(x)} samples/epoch, batch {BATCH}, median of {args.rounds} epochs per engine, taken in turns; "
          f"fp32 GEMM rate {rate / 1e9:.0f} GFLOP/s ({rate_by}, 2048^3)")
    engines = ["auto"] + [b for b in BACKENDS if b != "numpy"] + ["numpy"]
    for anchor in ANCHORS:
        if _available(anchor):
            engines.append(anchor)
        else:
            print(f"{NEEDS[anchor]} not installed: no {anchor} row")
    for arch in ("mlp", "lenet"):
        runs = {}
        for engine in engines:
            try:
                runs[engine] = ANCHORS[engine](arch, x, y, threads) if engine in ANCHORS else fastnn_epoch(
                    engine, arch, x, y)
            except Exception as exc:   # torch.compile needs a working C++ toolchain
                print(f"{arch:6s} {engine}: not run ({type(exc).__name__}: {str(exc).splitlines()[0][:100]})")
        rates = {engine: len(x) / t for engine, t in _turns(runs, args.rounds).items()}
        predicts = {engine: PREDICT / t for engine, t in _turns(runs, 2 * args.rounds, "predict", 5, untimed=1).items()}
        flops = flops_per_sample(arch)
        for engine, r in rates.items():
            vs = "  ".join(f"{r / rates[a]:5.2f}x {a}" for a in ("torch", "jax") if a in rates)
            print(f"{arch:6s} {engine:13s} {r:9,.0f} samples/s  {vs}  {r * flops / rate:5.1%} of GEMM rate  "
                  f"predict({PREDICT}) {predicts[engine]:10,.0f} samples/s"
                  + (f" ({predicts[engine] / predicts['jax']:.2f}x jax)" if "jax" in predicts else ""))
    fastnn.set_backend("auto")
    if not args.no_hostile:
        print("hostile case: torch imported first, OMP_WAIT_POLICY=ACTIVE, in processes taking turns with clean ones")
        for row, r in hostile().items():
            print(f"{row:14s} clean {r['clean']:9,.0f}  hostile {r['hostile']:9,.0f} samples/s  "
                  f"hostile/clean {r['hostile'] / r['clean']:.2f}")


if __name__ == "__main__":
    main()
