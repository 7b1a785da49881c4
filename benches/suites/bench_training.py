"""One training epoch of Adam on the 10,000 real digits (fastnn.datasets.mnist_10k), batch 64:
MLP 784-256-128-10 and LeNet-5, every fastnn backend beside PyTorch's CPU build and JAX (the whole step
under jit, optax's Adam) at the same thread count.

    pytest benches/suites/bench_training.py --benchmark-only --benchmark-columns=median,rounds
    python benches/suites/bench_training.py          # prints samples/s and the ratio to PyTorch, one run

Compilation (Numba) and the first-use allocation happen in a warm-up epoch outside the timed call.
"""
import os
import time

# fastnn first: it sets the idle-thread policy that OpenBLAS reads when NumPy loads (fastnn/_threads.py)
import fastnn  # isort: skip
import numpy as np
import pytest

from fastnn import layers

BATCH = 64


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
    return epoch


def torch_epoch(arch, x, y, threads):
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
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(xt), generator=gen)
        for lo in range(0, len(xt), BATCH):
            idx = order[lo:lo + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return float(loss.detach())
    epoch()   # warm-up
    return epoch


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
    epoch()   # warm-up: compiles the step for a full and for the last, shorter batch
    return epoch


BACKENDS = fastnn.available_backends()
ANCHORS = {"torch": torch_epoch, "jax": jax_epoch}   # the engines fastnn is measured against


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.mark.parametrize("arch", ["mlp", "lenet"])
@pytest.mark.parametrize("engine", BACKENDS + ["torch", "jax"])
def test_epoch(benchmark, data, arch, engine):
    x, y = data
    if engine in ANCHORS:
        pytest.importorskip(engine)
        run = ANCHORS[engine](arch, x, y, fastnn.get_num_threads())
    else:
        run = fastnn_epoch(engine, arch, x, y)
    benchmark.group = f"epoch-{arch}-batch{BATCH}"
    benchmark.extra_info["samples"] = len(x)
    loss = benchmark.pedantic(run, rounds=3, iterations=1)
    assert np.isfinite(loss)


def main(rounds=6):
    """Median samples/s per engine and the ratio to PyTorch, all measured in this one run.

    The engines take turns, one epoch each per round, so a drift in the machine's speed (a noisy neighbour)
    reaches every engine alike instead of whichever happened to run during it; rounds = engines, so each
    engine follows each other one once."""
    import platform

    x, y = digits()
    threads = fastnn.get_num_threads()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} threads, "
          f"{len(x)} samples/epoch, batch {BATCH}, median of {rounds} epochs per engine, taken in turns")
    print(fastnn.backend_report().splitlines()[-1])
    engines = ["auto"] + [b for b in BACKENDS if b != "numpy"] + ["numpy"]
    for anchor in ANCHORS:
        try:
            __import__(anchor)
            engines.append(anchor)
        except ImportError:
            print(f"{anchor} not installed: no {anchor} row")
    for arch in ("mlp", "lenet"):
        runs = {engine: ANCHORS[engine](arch, x, y, threads) if engine in ANCHORS
                else fastnn_epoch(engine, arch, x, y) for engine in engines}
        times = {engine: [] for engine in engines}
        for r in range(rounds):
            # each round starts with the next engine: whatever an engine leaves behind (XLA's and OpenBLAS's
            # threads spin a while after their work) falls on every engine in turn, not always the same one
            for engine in engines[r % len(engines):] + engines[:r % len(engines)]:
                t0 = time.perf_counter()
                runs[engine]()
                times[engine].append(time.perf_counter() - t0)
        rates = {engine: len(x) / float(np.median(t)) for engine, t in times.items()}
        for engine, rate in rates.items():
            ratio = f"{rate / rates['torch']:.2f}x torch" if "torch" in rates else ""
            print(f"{arch:6s} {engine:7s} {rate:10,.0f} samples/s  {ratio}")
    fastnn.set_backend("auto")


if __name__ == "__main__":
    main()
