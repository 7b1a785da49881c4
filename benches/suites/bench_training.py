"""One training epoch of Adam on the 10,000 real digits (fastnn.datasets.mnist_10k), batch 64:
MLP 784-256-128-10 and LeNet-5, every fastnn backend beside PyTorch's CPU build at the same thread count.

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
    if backend_name == "auto" and "numba" in fastnn.available_backends():
        # auto takes Numba's kernels once they are compiled (Cython until then, on a fresh cache): measure
        # that steady state, as after `python -m fastnn warmup`, by compiling this model's first
        fastnn_epoch("numba", arch, x, y)
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


BACKENDS = fastnn.available_backends()


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.mark.parametrize("arch", ["mlp", "lenet"])
@pytest.mark.parametrize("engine", BACKENDS + ["torch"])
def test_epoch(benchmark, data, arch, engine):
    x, y = data
    if engine == "torch":
        pytest.importorskip("torch")
        run = torch_epoch(arch, x, y, fastnn.get_num_threads())
    else:
        run = fastnn_epoch(engine, arch, x, y)
    benchmark.group = f"epoch-{arch}-batch{BATCH}"
    benchmark.extra_info["samples"] = len(x)
    loss = benchmark.pedantic(run, rounds=3, iterations=1)
    assert np.isfinite(loss)


def main(rounds=5):
    """Median samples/s per engine and the ratio to PyTorch, all measured in this one run.

    The engines take turns, one epoch each per round, so a drift in the machine's speed (a noisy neighbour)
    reaches every engine alike instead of whichever happened to run during it."""
    import platform

    x, y = digits()
    threads = fastnn.get_num_threads()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} threads, "
          f"{len(x)} samples/epoch, batch {BATCH}, median of {rounds} epochs per engine, taken in turns")
    print(fastnn.backend_report().splitlines()[-1])
    engines = ["auto"] + [b for b in BACKENDS if b != "numpy"] + ["numpy"]
    try:
        import torch  # noqa: F401
        engines.append("torch")
    except ImportError:
        print("torch not installed: no PyTorch row")
    for arch in ("mlp", "lenet"):
        runs = {engine: torch_epoch(arch, x, y, threads) if engine == "torch" else fastnn_epoch(engine, arch, x, y)
                for engine in engines}
        times = {engine: [] for engine in engines}
        for _ in range(rounds):
            for engine, run in runs.items():
                t0 = time.perf_counter()
                run()
                times[engine].append(time.perf_counter() - t0)
        rates = {engine: len(x) / float(np.median(t)) for engine, t in times.items()}
        for engine, rate in rates.items():
            ratio = f"{rate / rates['torch']:.2f}x torch" if "torch" in rates else ""
            print(f"{arch:6s} {engine:7s} {rate:10,.0f} samples/s  {ratio}")
    fastnn.set_backend("auto")


if __name__ == "__main__":
    main()
