"""Fully connected layer (Numba): BLAS for the products, bias and activation fused into one pass.

Legend: N batch, F input features, K units. The entry points are plain Python: each calls NumPy's BLAS
for a GEMM and an @njit kernel for the element-wise pass. np.dot inside @njit would call SciPy's
OpenBLAS instead, measured 20-30% slower than NumPy's at the MLP's shapes (64x784->256: 408 vs 311 us,
one thread). The GEMMs never run inside a prange region, so BLAS threads never nest in ours.
"""
import numpy as np

from .._numba.chunks import parallel, row_chunks, sum_partials
from .._numba.config import jit, pjit, prange
from .._scratch import scratch
from ..activations.numba import backward_flat, check_code, forward_flat


# out (rows,K) b (K,) or None: out = act(out + b), row by row while the row is in cache
@jit
def _bias_act_rows(out, b, act):
    for i in range(out.shape[0]):
        row = out[i]
        if b is not None:
            for j in range(row.size):
                row[j] += b[j]
        forward_flat(row, row, act)


@pjit
def _bias_act(out, b, act):
    check_code(act)
    n, k = out.shape
    if not parallel(n * k):
        _bias_act_rows(out, b, act)
    else:
        for i in prange(n):
            _bias_act_rows(out[i:i + 1], b, act)


# dout out (rows,K): dout <- dz = dout * act'(out); colsum (K,) = the column sums of dz
@jit
def _dz_rows(dout, out, act, colsum):
    colsum[:] = 0
    for i in range(dout.shape[0]):
        row = dout[i]
        backward_flat(row, row, out[i], act)
        for j in range(row.size):
            colsum[j] += row[j]


# dout (N,K) overwritten with dz; db (K,) or None = sum over rows of dz, by the fixed chunks of _numba/chunks.py
# (without a bias the partial sums are simply not used: one loop either way, compiled once); work: the
# partial sums' scratch, _partial_sizes
@pjit
def _dz_db(dout, out, act, db, work):
    check_code(act)
    n, k = dout.shape
    rows, chunks = row_chunks(n, k)
    partial = work[:chunks * k].reshape(chunks, k)
    if not parallel(n * k):
        for c in range(chunks):
            _dz_rows(dout[c * rows:(c + 1) * rows], out[c * rows:(c + 1) * rows], act, partial[c])
    else:
        for c in prange(chunks):
            _dz_rows(dout[c * rows:(c + 1) * rows], out[c * rows:(c + 1) * rows], act, partial[c])
    if db is not None:
        sum_partials(db, partial)


# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, act):
    np.matmul(x, w, out=out)
    _bias_act(out, b, act)


# _scratch.scratch's sizes for _dz_db: (chunks, K) partial sums
def _partial_sizes(dout):
    _, chunks = row_chunks(*dout.shape)
    return chunks * dout.shape[1], 0, np.int64


# dout (N,K) is overwritten with dz = dout * act'(out); dx (N,F) or None, dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, act):
    work, _ = scratch(("dense_backward", dout.shape, dout.dtype.char), _partial_sizes, dout)
    _dz_db(dout, out, act, db, work)
    np.matmul(x.T, dout, out=dw)
    if dx is not None:
        np.matmul(dout, w.T, out=dx)
