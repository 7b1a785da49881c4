"""Shared pieces of the benchmark suites: one row per backend (numpy, the reference, is the baseline row),
and the bench_op fixture, which times one kernel call and checks its result against the reference.

    python -m pytest benches/suites/ --benchmark-only                       # every suite, all cores
    FASTNN_NUM_THREADS=1 python -m pytest benches/suites/ --benchmark-only  # one thread (kernels and BLAS)

Compilation (the first call of a Numba kernel) and allocation happen before the timed call; the timed
call is the kernel alone, on preallocated buffers, exactly as a layer calls it.
"""
from fastnn import backend
import numpy as np
import pytest

from fastnn.testing import assert_close, copy_args

BACKENDS = backend.available_backends()  # "numpy" first: the baseline row of every group
@pytest.fixture(scope="session", autouse=True)
def threads():
    """FASTNN_NUM_THREADS (default: every core), applied to every backend and to BLAS for the whole run."""
    n = backend.get_num_threads()
    backend.set_num_threads(n)
    return n


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_collect_file(file_path, parent):
    """Collect bench_<family>.py (the suites' names) as test modules."""
    # a file named on the command line is collected by pytest itself
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def bench_op(benchmark, backend_name, threads):
    """bench_op(op, group, args, repeatable=True): time backend_name's op(*args) in group.

    The kernel is compiled (called once on copies) first. Every array argument must then match the
    reference's: on the timed buffers when another call on them gives the same result (repeatable), else
    (optimizer steps, which move param) on that first call over fresh copies."""
    def run(op, group, args, repeatable=True):
        try:
            fn = backend.kernel(op, backend_name)
        except backend.BackendUnavailableError as exc:
            pytest.skip(str(exc))
        expected = copy_args(args)
        backend.kernel(op, "numpy")(*expected)
        fresh = copy_args(args)
        fn(*fresh)  # compiles; untimed
        benchmark.group = group
        benchmark.extra_info.update(backend=backend_name, threads=threads)
        benchmark(fn, *args)
        actual = args if repeatable else fresh
        for i, (a, e) in enumerate(zip(actual, expected)):
            if isinstance(e, np.ndarray):
                assert a.dtype == e.dtype
                try:
                    assert_close(a, e, e.dtype)
                except AssertionError as exc:
                    raise AssertionError(f"{op} ({backend_name}) argument {i} differs from the reference") from exc

    return run
