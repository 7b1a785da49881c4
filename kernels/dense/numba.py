"""Fully connected layer (Numba), bias and activation fused, on the register-blocked GEMM of _numba/gemm.py.

Legend: N batch, F input features, K units. The same design as kernels/dense/cython.pyx: the products run
in Numba's thread pool (never BLAS's), cut into tasks of PANEL rows x NR columns of the result, numbered
column block by column block; every task computes its whole reduction in one order, so 1 and N threads
give the same bits.
- forward: out = x @ w, each task adding the bias and applying the activation to its tile: one loop.
- backward: one loop turns dout into dz = dout * act'(out) and db (column blocks over every row) and writes
  w's transpose (the B of dx); a second runs the tasks of dw = x^T @ dz and dx = dz @ w^T together.
"""
import numpy as np

from .._numba.chunks import parallel_above_grain
from .._numba.config import jit, prange
from .._numba.gemm import NR, TAIL_WORK, gemm, gemm_tail, row_offsets
from .._scratch import scratch
from ..activations.numba import backward_flat, check_code, forward_flat
from ..design import DENSE_COLS as COLS
from ..design import DENSE_PANEL as PANEL
from ..design import DENSE_TILE as TILE
from ..design import GEMM_GRAIN


@jit
def _blocks(n, size):
    return (n + size - 1) // size


# c[r0:r1, c0:c1] of the product (c flat, rows of ldc) = A's rows ao[r0:r1] @ B's columns c0:c1; work: the
# tail's scratch
@jit
def _tile(c, ldc, r0, r1, c0, c1, a, ao, b, steps, work):
    if c1 - c0 == NR:
        gemm(c[r0 * ldc + c0:], ldc, r1 - r0, NR, a, ao[r0:], b[c0:], steps, False)
    else:
        gemm_tail(c[r0 * ldc + c0:], ldc, r1 - r0, c1 - c0, a, ao[r0:], b[c0:], steps, False, work)


# out[r0:r1, c0:c1] <- act(out[r0:r1, c0:c1] + b[c0:c1]): a tile of the forward, while it is in cache. (Here
# and in _dz_columns: the slices' loops live in @jit helpers, which a parallel kernel calls, because in a
# parallel kernel each array expression would become a parallel loop of its own.)
@jit
def _bias_act(out, b, act, r0, r1, c0, c1):
    for i in range(r0, r1):
        row = out[i, c0:c1]
        if b is not None:
            for j in range(row.size):
                row[j] += b[c0 + j]
        forward_flat(row, row, act)


# columns c0:c1 of dz <- dz * act'(out), of db <- their sums over every row (in row order), and rows c0:c1 of
# wt <- w's columns when with_dx
@jit
def _dz_columns(dz, db, out, act, w, wt, with_dx, c0, c1):
    n, f = dz.shape[0], w.shape[0]
    if db is not None:
        for j in range(c0, c1):
            db[j] = 0
    for i in range(n):
        row = dz[i, c0:c1]
        backward_flat(row, row, out[i, c0:c1], act)
        if db is not None:
            for j in range(row.size):
                db[c0 + j] += row[j]
    if with_dx:   # in tiles of TILE rows of w, which stay in cache while the block's columns are read
        for i0 in range(0, f, TILE):
            for j in range(c0, c1):
                for i in range(i0, min(f, i0 + TILE)):
                    wt[j * f + i] = w[i, j]


def _forward_work(out, x, w, b, act, ao, work):
    return x.shape[0] * x.shape[1] * w.shape[1]


# out (N,K) = act(x @ w + b); ao (N,): x's row offsets; work: TAIL_WORK per panel when K % NR (the tail
# tasks, one per panel, may run at once), else empty
@parallel_above_grain("out", _forward_work, GEMM_GRAIN)
def _forward(out, x, w, b, act, ao, work):
    n, f = x.shape
    k = w.shape[1]
    panels = _blocks(n, PANEL)
    c, a, bw = out.reshape(n * k), x.reshape(n * f), w.reshape(f * k)
    for t in prange(panels * _blocks(k, NR)):
        q = t // panels
        p = t - q * panels
        r0, c0 = p * PANEL, q * NR
        r1, c1 = min(n, r0 + PANEL), min(k, c0 + NR)
        # (the steps are built in the loop: a parallel loop takes no tuple from outside it)
        _tile(c, k, r0, r1, c0, c1, a, ao, bw, ((1, 0, 0), (f, 1, k)), work[p * TAIL_WORK:(p + 1) * TAIL_WORK])
        _bias_act(out, b, act, r0, r1, c0, c1)


# the backward's row tables: x^T's rows (x's columns) at [N, N+F), dz's at [N+F, 2N+F)
@jit
def _backward_rows(ao, n, f, k):
    row_offsets(ao[n:n + f], 1)
    row_offsets(ao[n + f:n + f + n], k)


# the tails' scratch of a product with rows rows and width cols: TAIL_WORK per panel when cols % NR, else none
def _tails(rows, cols):
    return _blocks(rows, PANEL) * TAIL_WORK if cols % NR else 0


def _forward_sizes(x, k):
    return _tails(x.shape[0], k), x.shape[0], np.int64


# ValueError unless every buffer of a call has the shape x (N,F) and w's width K give it (the jitted loops
# index without bounds checks)
def _check_shapes(op, x, k, **buffers):
    n, f = x.shape
    expected = {"out": (n, k), "dout": (n, k), "w": (f, k), "dw": (f, k), "dx": (n, f), "b": (k,), "db": (k,)}
    for name, a in buffers.items():
        if a is not None and a.shape != expected[name]:
            raise ValueError(f"{op}: {name} expects shape {expected[name]}. Received: shape {a.shape}")


# x (N,F) w (F,K) b (K,) or None  ->  out (N,K) = act(x @ w + b)
def dense_forward(out, x, w, b, act):
    check_code(act)
    x = np.ascontiguousarray(x)
    n, f = x.shape
    k = w.shape[1]
    _check_shapes("dense_forward", x, k, out=out, w=w, b=b)
    if n == 0 or k == 0:
        return
    if f == 0:   # an empty product: the bias and the activation only
        out[:] = 0 if b is None else b
        forward_flat(out.reshape(-1), out.reshape(-1), act)
        return
    work, ao = scratch(("dense_forward", x.shape, k, x.dtype.char), _forward_sizes, x, k)
    row_offsets(ao, f)
    _forward(out, x, w, b, act, ao, work)


# dz (N,K) <- dz * act'(out); db (K,) or None <- its column sums (over every row, in row order); wt (K,F) <-
# w's transpose when with_dx
def _prologue_work(dz, db, out, act, w, wt, with_dx):
    return dz.size + (w.size if with_dx else 0)


@parallel_above_grain("dz", _prologue_work)
def _prologue(dz, db, out, act, w, wt, with_dx):
    k = dz.shape[1]
    for blk in prange(_blocks(k, COLS)):
        _dz_columns(dz, db, out, act, w, wt, with_dx, blk * COLS, min(k, blk * COLS + COLS))


def _gradient_work(dw, dx, dz, x, wt, ao, work, xwork):
    return x.shape[0] * x.shape[1] * dz.shape[1]


# dw (F,K) = x^T @ dz and, given dx (N,F), dx = dz @ w^T (wt: w^T, flat); ao: x^T's rows at [N, N+F), dz's
# rows at [N+F, 2N+F)
@parallel_above_grain("dw", _gradient_work, GEMM_GRAIN)
def _gradients(dw, dx, dz, x, wt, ao, work, xwork):
    n, f = x.shape
    k = dz.shape[1]
    wpanels, xpanels = _blocks(f, PANEL), _blocks(n, PANEL)
    wtasks = wpanels * _blocks(k, NR)
    xtasks = xpanels * _blocks(f, NR) if dx is not None else 0
    cw, a, g = dw.reshape(f * k), x.reshape(n * f), dz.reshape(n * k)
    for t in prange(wtasks + xtasks):
        if t < wtasks:
            q = t // wpanels
            p = t - q * wpanels
            r0, c0 = p * PANEL, q * NR
            _tile(cw, k, r0, min(f, r0 + PANEL), c0, min(k, c0 + NR), a, ao[n:n + f], g,
                  ((1, 0, 0), (n, f, k)), work[p * TAIL_WORK:(p + 1) * TAIL_WORK])
        elif dx is not None:
            q = (t - wtasks) // xpanels
            p = (t - wtasks) - q * xpanels
            r0, c0 = p * PANEL, q * NR
            _tile(dx.reshape(n * f), f, r0, min(n, r0 + PANEL), c0, min(f, c0 + NR), g, ao[n + f:], wt,
                  ((1, 0, 0), (k, 1, f)), xwork[p * TAIL_WORK:(p + 1) * TAIL_WORK])


# scratch: the tails of dw (F,K), of dx (N,F) when with_dx, w's transpose (K,F) when with_dx; the row tables
def _backward_sizes(x, k, with_dx):
    n, f = x.shape
    return _tails(f, k) + (_tails(n, f) + k * f if with_dx else 0), 2 * n + f, np.int64


# dout (N,K) is overwritten with dz = dout * act'(out); dx (N,F) or None, dw (F,K), db (K,) or None
def dense_backward(dx, dw, db, dout, x, w, out, act):
    check_code(act)
    x = np.ascontiguousarray(x)
    n, f = x.shape
    k = w.shape[1]
    _check_shapes("dense_backward", x, k, dx=dx, dw=dw, db=db, dout=dout, w=w, out=out)
    with_dx = dx is not None
    work, ao = scratch(("dense_backward", x.shape, k, x.dtype.char, with_dx), _backward_sizes, x, k, with_dx)
    wtails, xtails = _tails(f, k), _tails(n, f) if with_dx else 0
    wt = work[wtails + xtails:wtails + xtails + k * f]
    _prologue(dout, db, out, act, w, wt, with_dx)
    if with_dx and k == 0:
        dx[:] = 0
    if f * k == 0:
        return
    if n == 0:
        dw[:] = 0
        return
    _backward_rows(ao, n, f, k)
    _gradients(dw, dx, dout, x, wt, ao, work[:wtails], work[wtails:wtails + xtails])
