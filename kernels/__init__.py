"""Compiled kernels, installed as fastnn._kernels: numba/ (JIT) and cython/ (ahead of time).

Each backend is a package whose modules carry the names of fastnn/reference/ and whose functions carry
the same names and signatures as the reference ops.
"""
