"""Fully connected layer with its bias and element-wise activation fused (kernels/dense/reference.py).

Legend: N batch, F input features, K units.
The matrix products go to NumPy's BLAS (np.matmul into the preallocated output): it measured faster than
scipy.linalg.cython_blas here and than tiled loops, and importing scipy.linalg would add ~0.4 s to the
start of every process. The element-wise passes around the products are fused into one loop each.
"""
import numpy as np

from cython.parallel cimport prange

from _shared cimport (act_backward, act_forward, bind_threads, check_act, fastnn_threads, floating, GRAIN,
                      LINEAR)

bind_threads()

cdef enum:
    COLS = 64  # columns per parallel task in the backward's column sums


# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, int act):
    check_act(act)
    np.matmul(x, w, out=out)
    if b is not None or act != LINEAR:
        _bias_act(out, b, act)


# dout (N,K) is overwritten with the pre-activation gradient dz = dout * act'(out)
# dx (N,F) or None (first layer: no input gradient), dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, int act):
    check_act(act)
    if db is not None or act != LINEAR:
        _act_grad_colsum(dout, db, out, act)
    np.matmul(x.T, dout, out=dw)
    if dx is not None:
        np.matmul(dout, w.T, out=dx)


# z (N,K) <- act(z + b), b (K,) or None
def _bias_act(floating[:, ::1] z, const floating[::1] b, int act):
    cdef Py_ssize_t i, k, n = z.shape[0], m = z.shape[1]
    cdef bint has_b = b is not None
    for i in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * m >= GRAIN):
        if has_b:
            for k in range(m):
                z[i, k] = act_forward(z[i, k] + b[k], act)
        else:
            for k in range(m):
                z[i, k] = act_forward(z[i, k], act)


# dz (N,K) <- dz * act'(out) in place; db (K,) or None <- column sums of dz
def _act_grad_colsum(floating[:, ::1] dz, floating[::1] db, const floating[:, ::1] out, int act):
    cdef Py_ssize_t i, k, k0, k1, blk, n = dz.shape[0], m = dz.shape[1]
    cdef Py_ssize_t nblk = (m + COLS - 1) // COLS
    cdef bint has_db = db is not None
    cdef floating v
    # each task owns a block of columns over every row, so the sums need no atomics and keep row order
    for blk in prange(nblk, nogil=True, num_threads=fastnn_threads(),
                      schedule="static", use_threads_if=n * m >= GRAIN):
        k0 = blk * COLS
        k1 = min(m, k0 + COLS)
        if has_db:
            for k in range(k0, k1):
                db[k] = 0
        for i in range(n):
            for k in range(k0, k1):
                v = act_backward(dz[i, k], out[i, k], act)
                dz[i, k] = v
                if has_db:
                    db[k] += v
