"""Fully connected layer with its bias and element-wise activation fused (kernels/dense/reference.py).

Legend: N batch, F input features, K units.
The matrix products run on _gemm.h's register-blocked microkernel, in the same OpenMP pool as every other
kernel, so a training step never hands the cores to BLAS's own threads (docs/design.md, "The thread
model"). Each product is cut into tasks of PANEL rows x NR columns of its result, numbered column block by
column block, so a thread's consecutive tasks reuse one block of B from its cache. Every task computes its
whole reduction in one order, so 1 and N threads give the same bits.
- forward: out = x @ w, each task adding the bias and applying the activation to its tile while the tile
  is in cache: one parallel region.
- backward: one region turns dout into dz = dout * act'(out) and db (column blocks over every row) and
  writes w's transpose (the B of dx); a second runs the tasks of dw = x^T @ dz and dx = dz @ w^T together.
"""
import numpy as np

from cython.parallel cimport prange

from _gemm cimport FASTNN_NR, gemm
from _shared cimport (act_backward, act_forward, bind_threads, check_act, fastnn_threads, floating, GEMM_GRAIN,
                      GRAIN, LINEAR)

from .._scratch import scratch

bind_threads()

# kernels/design.py's DENSE_PANEL (rows per task of a product), DENSE_COLS (columns per task of the
# backward's first region) and DENSE_TILE (rows of w per tile of its transpose), passed by setup.py
cdef extern from *:
    """
    #if !defined(FASTNN_DENSE_PANEL) || !defined(FASTNN_DENSE_COLS) || !defined(FASTNN_DENSE_TILE)
    #error "FASTNN_DENSE_* come from kernels/design.py: build through setup.py"
    #endif
    """
    enum: PANEL "FASTNN_DENSE_PANEL"
    enum: COLS "FASTNN_DENSE_COLS"
    enum: TILE "FASTNN_DENSE_TILE"


cdef inline Py_ssize_t _blocks(Py_ssize_t n, Py_ssize_t size) noexcept nogil:
    return (n + size - 1) // size


# The block of a product's result that task t computes: rows [r0, r1) of `rows`, columns [c0, c1) of `cols`,
# the tasks numbered column block by column block, `panels` row blocks of PANEL to a column block of NR
cdef struct Tile:
    Py_ssize_t r0, r1, c0, c1


cdef inline Tile _tile(Py_ssize_t t, Py_ssize_t panels, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    cdef Tile s
    cdef Py_ssize_t q = t // panels
    s.r0 = (t - q * panels) * PANEL
    s.r1 = min(rows, s.r0 + PANEL)
    s.c0 = q * FASTNN_NR
    s.c1 = min(cols, s.c0 + FASTNN_NR)
    return s


# (float elements, int elements, int type) of a call's scratch: w's transpose (K, F) when dx is wanted; the
# row offsets of x's rows (N), of x^T's rows (F) and of dz's rows (N)
def _sizes(x, Py_ssize_t k, bint with_dx):
    n, f = x.shape
    return (k * f if with_dx else 0), 2 * n + f, np.intp


# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, int act):
    check_act(act)
    x = np.ascontiguousarray(x)
    _, offsets = scratch(("dense", x.shape, w.shape[1], x.dtype.char, False), _sizes, x, w.shape[1], False)
    _forward(out, out.reshape(-1), x, x.reshape(-1), w, w.reshape(-1), b, offsets, act)


# c, a, bw: out, x and w, flat (the microkernel's operands)
def _forward(floating[:, ::1] out, floating[::1] c, const floating[:, ::1] x, const floating[::1] a,
             const floating[:, ::1] w, const floating[::1] bw, const floating[::1] b, Py_ssize_t[::1] ao, int act):
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], k = w.shape[1], i, j, t
    cdef Tile s
    cdef Py_ssize_t panels = _blocks(n, PANEL), tasks = panels * _blocks(k, FASTNN_NR)
    cdef bint has_b = b is not None
    if n == 0 or k == 0:
        return
    if f == 0:
        out[:, :] = 0
        _bias_act(out, b, act)
        return
    for i in range(n):
        ao[i] = i * f
    for t in prange(tasks, nogil=True, num_threads=fastnn_threads(), schedule="static",
                    use_threads_if=n * f * k >= GEMM_GRAIN):
        s = _tile(t, panels, n, k)
        gemm(c, s.r0 * k + s.c0, k, s.r1 - s.r0, s.c1 - s.c0, a, 0, ao, s.r0, bw, s.c0, 1, 0, 0, f, 1, k, False)
        if has_b or act != LINEAR:
            for i in range(s.r0, s.r1):
                for j in range(s.c0, s.c1):
                    out[i, j] = act_forward(out[i, j] + b[j] if has_b else out[i, j], act)


# dout (N,K) is overwritten with the pre-activation gradient dz = dout * act'(out)
# dx (N,F) or None (first layer: no input gradient), dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, int act):
    check_act(act)
    x = np.ascontiguousarray(x)
    wt, offsets = scratch(("dense", x.shape, w.shape[1], x.dtype.char, dx is not None), _sizes, x, w.shape[1],
                          dx is not None)
    _backward(dw, dw.reshape(-1), dx, None if dx is None else dx.reshape(-1), db, dout, dout.reshape(-1), x,
              x.reshape(-1), w, out, wt, offsets, act)


# cw, cx, g, a: dw, dx, dz and x, flat (the microkernel's operands); an array comes first, for Cython's
# choice of float type
def _backward(floating[:, ::1] dw, floating[::1] cw, floating[:, ::1] dx, floating[::1] cx, floating[::1] db,
              floating[:, ::1] dz, floating[::1] g, const floating[:, ::1] x, const floating[::1] a,
              const floating[:, ::1] w, const floating[:, ::1] out, floating[::1] wt, Py_ssize_t[::1] ao, int act):
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], k = w.shape[1], i, j, t, c0, c1, blk, i0, ti
    cdef Tile s
    cdef Py_ssize_t wpanels = _blocks(f, PANEL), wtasks = wpanels * _blocks(k, FASTNN_NR)
    cdef Py_ssize_t xpanels = _blocks(n, PANEL), xtasks = 0
    cdef bint has_dx = dx is not None, has_db = db is not None
    cdef floating v
    if has_dx:
        xtasks = xpanels * _blocks(f, FASTNN_NR)
    # dz, db and w's transpose, each task a block of columns of dz over every row (sums in row order, no
    # atomics) and the same block of rows of wt
    for blk in prange(_blocks(k, COLS), nogil=True, num_threads=fastnn_threads(), schedule="static",
                      use_threads_if=n * k + (f * k if has_dx else 0) >= GRAIN):
        c0 = blk * COLS
        c1 = min(k, c0 + COLS)
        if has_db:
            for j in range(c0, c1):
                db[j] = 0
        if has_db or act != LINEAR:
            for i in range(n):
                for j in range(c0, c1):
                    v = act_backward(dz[i, j], out[i, j], act)
                    dz[i, j] = v
                    if has_db:
                        db[j] += v
        if has_dx:   # in tiles of TILE rows of w, which stay in cache while the block's columns are read
            for ti in range(_blocks(f, TILE)):
                i0 = ti * TILE
                for j in range(c0, c1):
                    for i in range(i0, min(f, i0 + TILE)):
                        wt[j * f + i] = w[i, j]
    if has_dx and k == 0:
        dx[:, :] = 0
    if f * k == 0:
        return
    if n == 0:
        dw[:, :] = 0
        return
    for i in range(n):
        ao[n + f + i] = i * k    # dz's rows
    for i in range(f):
        ao[n + i] = i            # x^T's rows: column i of x, read with stride F
    # dw (F,K) = x^T @ dz: tasks [0, wtasks); dx (N,F) = dz @ w^T: tasks [wtasks, wtasks + xtasks)
    for t in prange(wtasks + xtasks, nogil=True, num_threads=fastnn_threads(), schedule="static",
                    use_threads_if=n * f * k >= GEMM_GRAIN):
        if t < wtasks:
            s = _tile(t, wpanels, f, k)
            gemm(cw, s.r0 * k + s.c0, k, s.r1 - s.r0, s.c1 - s.c0, a, 0, ao, n + s.r0, g, s.c0, 1, 0, 0, n, f, k,
                 False)
        else:
            s = _tile(t - wtasks, xpanels, n, f)
            gemm(cx, s.r0 * f + s.c0, f, s.r1 - s.r0, s.c1 - s.c0, g, 0, ao, n + f + s.r0, wt, s.c0, 1, 0, 0, k, 1,
                 f, False)


# z (N,K) <- act(z + b), b (K,) or None: the forward of an empty reduction (F == 0)
def _bias_act(floating[:, ::1] z, const floating[::1] b, int act):
    cdef Py_ssize_t i, j
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = act_forward(z[i, j] + b[j] if b is not None else z[i, j], act)
