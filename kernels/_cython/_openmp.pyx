"""The thread count shared by every kernel of this backend, and what the CPU runs.

The count lives in one C int here; each kernel module binds to it at import (_shared.bind_threads) and
passes it to every prange as num_threads, so fastnn.set_num_threads holds whatever OpenMP's own setting is.
This module is always built for the baseline, so it loads on any CPU and can tell which variant of the
kernel modules will (CPU_LEVEL, from _cpu.h).
"""
from cpython.pycapsule cimport PyCapsule_New

from _shared cimport FASTNN_OPENMP, fastnn_bind_threads, fastnn_max_threads

cdef extern from "_cpu.h":
    int fastnn_cpu_level()

# Whether the kernels were compiled with OpenMP; without it every kernel runs serially.
OPENMP = bool(FASTNN_OPENMP)
# 0: the baseline only, 1: also the AVX2 build (x86-64-v3), 2: also the AVX-512 build (x86-64-v4)
CPU_LEVEL = fastnn_cpu_level()

cdef int threads = fastnn_max_threads()
THREADS_SLOT = PyCapsule_New(&threads, b"fastnn.threads", NULL)
fastnn_bind_threads(&threads)


def set_num_threads(int n):
    global threads
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive int. Received: n={n!r}")
    threads = n if FASTNN_OPENMP else 1


def get_num_threads():
    return threads
