"""Numba backend: @njit kernels with the reference names and signatures."""
