"""fastnn's kernels, installed as fastnn.kernels: one folder per op family, one module per backend.

    kernels/<family>/reference.py   plain NumPy, the specification
    kernels/<family>/numba.py       Numba (@njit) kernels, the same names and signatures
    kernels/<family>/cython.pyx     Cython (OpenMP) kernels, the same names and signatures
    kernels/_numba/, kernels/_cython/   what the families of one backend share (options, threads, GEMM)
    kernels/ops.py                  the table of families, ops and backends that everything reads

docs/design.md describes the whole.
"""
