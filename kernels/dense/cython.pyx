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

from _gemm cimport FASTNN_NR, gemm_at
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


# Each kernel takes its buffers once, as 2-D views (every view a call takes costs a buffer acquisition, a fixed
# cost that the small layers of a training step feel), checks their shapes against x's and w's, and reaches
# their elements through pointers.


# ValueError unless the view `name` of op has shape (rows, cols) == (want_rows, want_cols); cols and want_cols
# -1 for a 1-D view
cdef inline int _check(str op, str name, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t want_rows,
                       Py_ssize_t want_cols) except -1:
    if rows != want_rows or cols != want_cols:
        shape, want = (rows, cols), (want_rows, want_cols)
        if cols < 0:
            shape, want = (rows,), (want_rows,)
        raise ValueError(f"{op}: {name} expects shape {want}. Received: shape {shape}")
    return 0

# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, int act):
    check_act(act)
    x = np.ascontiguousarray(x)
    _, offsets = scratch(("dense", x.shape, w.shape[1], x.dtype.char, False), _sizes, x, w.shape[1], False)
    _forward(out, x, w, b, offsets, act)


def _forward(floating[:, ::1] out, const floating[:, ::1] x, const floating[:, ::1] w, const floating[::1] b,
             Py_ssize_t[::1] ao, int act):
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], k = w.shape[1], i, t
    cdef Py_ssize_t panels = _blocks(n, PANEL), tasks = panels * _blocks(k, FASTNN_NR)
    cdef const floating *bias = NULL
    _check("dense_forward", "out", out.shape[0], out.shape[1], n, k)
    _check("dense_forward", "w", w.shape[0], k, f, k)
    if b is not None:
        _check("dense_forward", "b", b.shape[0], -1, k, -1)
    if n == 0 or k == 0:
        return
    if b is not None:
        bias = &b[0]
    if f == 0:
        out[:, :] = 0
        _bias_act(out, b, act)
        return
    for i in range(n):
        ao[i] = i * f
    for t in prange(tasks, nogil=True, num_threads=fastnn_threads(), schedule="static",
                    use_threads_if=n * f * k >= GEMM_GRAIN):
        _forward_task(t, panels, n, f, k, &out[0, 0], &x[0, 0], &w[0, 0], bias, &ao[0], act)


# Task t of the forward: its tile of out = x @ w (c, a, bw: out, x, w), then the bias and the activation on
# the tile while it is in cache
cdef inline int _forward_task(Py_ssize_t t, Py_ssize_t panels, Py_ssize_t n, Py_ssize_t f, Py_ssize_t k,
                              floating *c, const floating *a, const floating *bw, const floating *b,
                              const Py_ssize_t *ao, int act) except -1 nogil:
    cdef Py_ssize_t i, j
    cdef Tile s = _tile(t, panels, n, k)
    gemm_at(c, n * k, s.r0 * k + s.c0, k, s.r1 - s.r0, s.c1 - s.c0, a, n * f, 0, ao, n, s.r0, bw, f * k, s.c0,
            1, 0, 0, f, 1, k, False)
    if b != NULL or act != LINEAR:
        for i in range(s.r0, s.r1):
            for j in range(s.c0, s.c1):
                c[i * k + j] = act_forward(c[i * k + j] + b[j] if b != NULL else c[i * k + j], act)
    return 0


# dout (N,K) is overwritten with the pre-activation gradient dz = dout * act'(out)
# dx (N,F) or None (first layer: no input gradient), dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, int act):
    check_act(act)
    x = np.ascontiguousarray(x)
    wt, offsets = scratch(("dense", x.shape, w.shape[1], x.dtype.char, dx is not None), _sizes, x, w.shape[1],
                          dx is not None)
    _backward(dw, dx, db, dout, x, w, out, wt, offsets, act)


# an array comes first, for Cython's choice of float type
def _backward(floating[:, ::1] dw, floating[:, ::1] dx, floating[::1] db, floating[:, ::1] dz,
              const floating[:, ::1] x, const floating[:, ::1] w, const floating[:, ::1] out, floating[::1] wt,
              Py_ssize_t[::1] ao, int act):
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], k = w.shape[1], i, t, blk
    cdef Py_ssize_t wpanels = _blocks(f, PANEL), wtasks = wpanels * _blocks(k, FASTNN_NR)
    cdef Py_ssize_t xpanels = _blocks(n, PANEL), xtasks = 0, blocks = _blocks(k, COLS)
    cdef bint has_dx = dx is not None
    cdef floating *dbp = NULL
    cdef floating *dxp = NULL
    cdef floating *wtp = NULL
    cdef floating *dzp = NULL
    cdef const floating *outp = NULL
    cdef const floating *wp = NULL
    _check("dense_backward", "w", w.shape[0], k, f, k)
    _check("dense_backward", "dw", dw.shape[0], dw.shape[1], f, k)
    _check("dense_backward", "dout", dz.shape[0], dz.shape[1], n, k)
    _check("dense_backward", "out", out.shape[0], out.shape[1], n, k)
    if has_dx:
        _check("dense_backward", "dx", dx.shape[0], dx.shape[1], n, f)
    if db is not None:
        _check("dense_backward", "db", db.shape[0], -1, k, -1)
    if has_dx:
        xtasks = xpanels * _blocks(f, FASTNN_NR)
        if f * k:
            wtp = &wt[0]
        if n * f * k:
            dxp = &dx[0, 0]
    if k == 0:
        if has_dx:
            dx[:, :] = 0
        return
    if db is not None:
        dbp = &db[0]
    if n:
        dzp, outp = &dz[0, 0], &out[0, 0]
    if f:
        wp = &w[0, 0]
    # dz, db and w's transpose, each task a block of columns of dz over every row (sums in row order, no
    # atomics) and the same block of rows of wt
    for blk in prange(blocks, nogil=True, num_threads=fastnn_threads(), schedule="static",
                      use_threads_if=n * k + (f * k if has_dx else 0) >= GRAIN):
        _dz_block(blk, n, f, k, dzp, dbp, outp, wp, wtp, act)
    if f == 0:
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
        _gradient_task(t, wtasks, wpanels, xpanels, n, f, k, &dw[0, 0], dxp, dzp, &x[0, 0], wtp, &ao[0])


# Block blk of COLS columns: dz <- dz * act'(out) and db <- its column sums (db may be NULL), and, given wt,
# the same rows of wt <- w's columns, in tiles of TILE rows of w, which stay in cache while the block's
# columns are read
cdef inline void _dz_block(Py_ssize_t blk, Py_ssize_t n, Py_ssize_t f, Py_ssize_t k, floating *dz, floating *db,
                           const floating *out, const floating *w, floating *wt, int act) noexcept nogil:
    cdef Py_ssize_t c0 = blk * COLS, c1 = min(k, c0 + COLS), i, j, i0, ti
    cdef floating v
    if db != NULL:
        for j in range(c0, c1):
            db[j] = 0
    if db != NULL or act != LINEAR:
        for i in range(n):
            for j in range(c0, c1):
                v = act_backward(dz[i * k + j], out[i * k + j], act)
                dz[i * k + j] = v
                if db != NULL:
                    db[j] += v
    if wt != NULL:
        for ti in range(_blocks(f, TILE)):
            i0 = ti * TILE
            for j in range(c0, c1):
                for i in range(i0, min(f, i0 + TILE)):
                    wt[j * f + i] = w[i * k + j]


# Task t of the gradients' products: dw's tiles first (cw: dw, a: x, read as x^T through ao[N:N+F]), then
# dx's (cx: dx, g: dz, its rows at ao[N+F:], wt: w^T)
cdef inline int _gradient_task(Py_ssize_t t, Py_ssize_t wtasks, Py_ssize_t wpanels, Py_ssize_t xpanels,
                               Py_ssize_t n, Py_ssize_t f, Py_ssize_t k, floating *cw, floating *cx,
                               const floating *g, const floating *a, const floating *wt,
                               const Py_ssize_t *ao) except -1 nogil:
    cdef Tile s
    if t < wtasks:
        s = _tile(t, wpanels, f, k)
        gemm_at(cw, f * k, s.r0 * k + s.c0, k, s.r1 - s.r0, s.c1 - s.c0, a, n * f, 0, ao, 2 * n + f, n + s.r0,
                g, n * k, s.c0, 1, 0, 0, n, f, k, False)
    else:
        s = _tile(t - wtasks, xpanels, n, f)
        gemm_at(cx, n * f, s.r0 * f + s.c0, f, s.r1 - s.r0, s.c1 - s.c0, g, n * k, 0, ao, 2 * n + f,
                n + f + s.r0, wt, k * f, s.c0, 1, 0, 0, k, 1, f, False)
    return 0


# z (N,K) <- act(z + b), b (K,) or None: the forward of an empty reduction (F == 0)
def _bias_act(floating[:, ::1] z, const floating[::1] b, int act):
    cdef Py_ssize_t i, j
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = act_forward(z[i, j] + b[j] if b is not None else z[i, j], act)
