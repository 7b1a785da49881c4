"""The Numba kernels' scratch (kernels/_scratch.py): reused between calls with the same shapes, never
leaking one call's values into the next, and a training step that allocates (almost) nothing."""
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn import backend
from fastnn.kernels.activations.reference import RELU

from ..ops.conformance import COMPILED, assert_close, ref

pytestmark = pytest.mark.skipif("numba" not in COMPILED, reason="the numba backend is not available")


@pytest.fixture
def scratch_module():
    backend.kernel("conv2d_forward", "numba")   # imports fastnn.kernels
    module = importlib.import_module("fastnn.kernels._scratch")
    module.clear()
    yield module
    module.clear()


def test_same_key_same_buffers_and_least_recently_used_dropped(scratch_module):
    x = np.ones(3, np.float32)
    calls = []

    def sizes(a):
        calls.append(1)
        return 10, 4, np.int64

    first = scratch_module.scratch("k0", sizes, x)
    assert first[0].dtype == np.float32 and first[1].dtype == np.int64 and not first[0].any()
    assert first[0].ctypes.data % scratch_module.ALIGN == 0
    assert scratch_module.scratch("k0", sizes, x)[0] is first[0] and len(calls) == 1
    for i in range(1, scratch_module.LIMIT):
        scratch_module.scratch(f"k{i}", sizes, x)
    scratch_module.scratch("k0", sizes, x)          # k0 is now the most recently used
    scratch_module.scratch("new", sizes, x)         # drops k1, the least recently used
    assert scratch_module.scratch("k0", sizes, x)[0] is first[0]
    before = len(calls)
    scratch_module.scratch("k1", sizes, x)
    assert len(calls) == before + 1


@pytest.mark.parametrize("c, padding, with_dx", [(6, 0, True), (1, 2, False), (3, 1, True)])
def test_conv2d_second_call_sees_none_of_the_first(scratch_module, c, padding, with_dx):
    """The weight-gradient partials and tiles live on between calls: a second call with other values must
    still give the reference's result (partials that were not zeroed would add the first call's dw)."""
    rng = np.random.default_rng(c)
    fwd, bwd = backend.kernel("conv2d_forward", "numba"), backend.kernel("conv2d_backward", "numba")
    shape, wshape = (16, 9, 11, c), (3, 3, c, 5)
    oh, ow = 9 + 2 * padding - 2, 11 + 2 * padding - 2
    results = []
    for _ in range(2):
        x = rng.normal(size=shape).astype(np.float32)
        w = rng.normal(size=wshape).astype(np.float32)
        b = rng.normal(size=5).astype(np.float32)
        dout = rng.normal(size=(16, oh, ow, 5)).astype(np.float32)
        out, out_ref = np.empty((16, oh, ow, 5), np.float32), np.empty((16, oh, ow, 5), np.float32)
        fwd(out, x, w, b, 1, 1, padding, padding, RELU)
        ref("conv2d_forward")(out_ref, x, w, b, 1, 1, padding, padding, RELU)
        assert_close(out, out_ref, np.float32)
        grads = [np.empty_like(x) if with_dx else None, np.empty_like(w), np.empty_like(b)]
        grads_ref = [np.empty_like(x) if with_dx else None, np.empty_like(w), np.empty_like(b)]
        bwd(*grads, dout.copy(), x, w, out, 1, 1, padding, padding, RELU)
        ref("conv2d_backward")(*grads_ref, dout.copy(), x, w, out_ref, 1, 1, padding, padding, RELU)
        for got, want in zip(grads, grads_ref):
            if want is not None:
                assert_close(got, want, np.float32)
        results.append(grads[1])
    assert not np.array_equal(results[0], results[1])


def test_maxpool_second_call_sees_none_of_the_first(scratch_module):
    rng = np.random.default_rng(1)
    fwd = backend.kernel("maxpool2d_forward", "numba")
    for _ in range(2):
        x = rng.normal(size=(32, 8, 8, 6)).astype(np.float32)
        out, argmax = np.empty((32, 4, 4, 6), np.float32), np.empty((32, 4, 4, 6), np.int32)
        out_ref, argmax_ref = np.empty_like(out), np.empty_like(argmax)
        fwd(out, argmax, x, 2, 2, 2, 2, 0, 0)
        ref("maxpool2d_forward")(out_ref, argmax_ref, x, 2, 2, 2, 2, 0, 0)
        np.testing.assert_array_equal(out, out_ref)
        np.testing.assert_array_equal(argmax, argmax_ref)


def test_a_training_step_allocates_only_numbas_call_boxes():
    """Numba's runtime counts its allocations (NUMBA_NRT_STATS=1, read when Numba loads, hence the fresh
    process). Before the scratch existed a LeNet-5 step at batch 64 made 888, 860 of them in conv2d and
    pooling; what is left is Numba's own: one box per array argument of a call from Python, one schedule
    per parallel loop (116 per step: the dense layers' products add 42 to the 74 of the kernels before them)."""
    script = textwrap.dedent("""
        import fastnn, numpy as np
        from fastnn import layers
        from numba.core.runtime import rtsys
        fastnn.set_backend("numba")
        model = fastnn.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2), layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax")], seed=0)
        model.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.random((64, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, 64)
        for _ in range(2):
            model.train_on_batch(x, y)
        before = rtsys.get_allocation_stats().alloc
        model.train_on_batch(x, y)
        print(rtsys.get_allocation_stats().alloc - before)
    """)
    env = {**os.environ, "NUMBA_NRT_STATS": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    allocations = int(done.stdout.split()[-1])
    assert allocations < 150, f"{allocations} Numba allocations in one LeNet-5 training step"


def test_python_threads_get_their_own_scratch(scratch_module):
    """Two Python threads run the same conv2d backward shape at once (the kernels release the GIL): each has
    its own buffers, so both match the reference (one shared scratch would mix their tiles and partials)."""
    import threading

    rng = np.random.default_rng(5)
    bwd = backend.kernel("conv2d_backward", "numba")
    jobs = []
    for _ in range(2):
        x = rng.normal(size=(32, 12, 12, 4)).astype(np.float32)
        w = rng.normal(size=(3, 3, 4, 8)).astype(np.float32)
        out = np.abs(rng.normal(size=(32, 10, 10, 8))).astype(np.float32)   # relu outputs, all active
        dout = rng.normal(size=out.shape).astype(np.float32)
        want = [np.empty_like(x), np.empty_like(w), np.empty(8, np.float32)]
        ref("conv2d_backward")(*want, dout.copy(), x, w, out, 1, 1, 0, 0, RELU)
        jobs.append((x, w, out, dout, want))
    failures = []

    def run(x, w, out, dout, want):
        for _ in range(20):
            got = [np.empty_like(x), np.empty_like(w), np.empty(8, np.float32)]
            bwd(*got, dout.copy(), x, w, out, 1, 1, 0, 0, RELU)
            for g, v in zip(got, want):
                if not np.allclose(g, v, rtol=1e-4, atol=1e-4):
                    failures.append(float(np.abs(g - v).max()))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, f"{len(failures)} results differ from the reference, by up to {max(failures)}"
