"""How the kernels split their work: when to go parallel, and the fixed row chunks of the column sums.

A parallel column sum (dense's db, batchnorm's statistics) keeps one partial per chunk (no atomics) and
adds the partials in chunk order. The chunks depend only on the shape, never on the thread count, and the
serial path walks the same chunks, so 1 and N threads give bit-identical sums.
"""
from .config import CHUNK, GRAIN, jit


# work: elements (or multiply-adds) -> run the prange loop? Not below GRAIN, where the fork/join costs
# more than the work. (With one thread a prange loop would buy nothing, but numba.get_num_threads()
# inside a kernel reads a ctypes pointer, and Numba will not cache such a function.)
@jit
def parallel(work):
    return work >= GRAIN


# (M,C) -> rows per chunk, number of chunks: about CHUNK elements each, at least one row
@jit
def row_chunks(m, c):
    rows = max(1, CHUNK // c)
    return rows, (m + rows - 1) // rows


# partial (chunks, C) -> total (C,) = sum of the rows of partial, in order
@jit
def sum_partials(total, partial):
    total[:] = partial[0]
    for k in range(1, partial.shape[0]):
        total += partial[k]
