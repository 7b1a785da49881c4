"""Numba backend: @njit kernels with the reference names and signatures (options in _config.py)."""
import numba


def set_num_threads(n):
    """Threads for every parallel kernel here (capped at the pool Numba started with)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


def get_num_threads():
    return numba.get_num_threads()
