"""Cold start: a fresh Python process imports fastnn, builds LeNet-5 and runs its first training step.

For each backend, in its own process: the time from interpreter start to the end of the first
train_on_batch, less the time of the second (the step itself, warm), is what a user waits for before
training starts: imports, kernel loading, workspace allocation and, for Numba, compilation (from its
cache when one exists: run twice to see both).

    python benches/suites/bench_cold_start.py                 # one process per backend, Numba's cache as it is
    pytest benches/suites/bench_cold_start.py --benchmark-only
"""
import json
import subprocess
import sys

import pytest

CHILD = r"""
import time
t0 = time.perf_counter()
import fastnn
import numpy as np
fastnn.set_backend(BACKEND)
model = fastnn.models.lenet5(seed=0)
model.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
y = np.arange(64) % 10
t_import = time.perf_counter() - t0
model.train_on_batch(x, y)
t_first = time.perf_counter() - t0
t1 = time.perf_counter()
model.train_on_batch(x, y)
step = time.perf_counter() - t1
print(json.dumps({"import": t_import, "first": t_first, "step": step, "overhead": t_first - step}))
"""


def cold_start(backend_name):
    """Seconds: import (+ model build), first step done, one warm step, overhead = first - step."""
    code = "import json\nBACKEND = " + repr(backend_name) + CHILD
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def backends():
    import fastnn

    return fastnn.available_backends()


@pytest.mark.parametrize("backend_name", backends())
def test_cold_start(benchmark, backend_name):
    benchmark.group = "cold start: import + LeNet-5 + first step, fresh process"
    result = benchmark.pedantic(cold_start, args=(backend_name,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def main():
    for name in backends():
        r = cold_start(name)
        print(f"{name:7s} overhead {r['overhead']:6.2f} s  (import + build {r['import']:.2f} s, first step done at "
              f"{r['first']:.2f} s, a warm step {r['step'] * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
