"""2-D max pooling, channels-last (kernels/pooling/reference.py).

Legend: N batch, H W input size, C channels, PH PW pool size, sh sw strides, ph pw padding above/left
(padded cells never win: they count as -inf), OH OW output size.
argmax (N,OH,OW,C) int32 holds the winning position inside each window, i * PW + j; ties go to the
first maximum in row-major window order, and a NaN wins as in np.argmax, in every backend.
Which loops a call takes and where its scratch lies: plan.py (shared with the Numba backend).
"""
from functools import lru_cache

from .._scratch import part_sizes, scratch, split
from .plan import index_type, maxpool2d_layout, maxpool2d_plan

from libc.math cimport INFINITY
from libc.stdint cimport int32_t

from cython.parallel cimport prange, threadid

from _shared cimport bind_threads, fastnn_threads, floating, GRAIN

bind_threads()


# The call's Plan and Layout (plan.py)
@lru_cache(maxsize=64)
def _geometry(x_shape, out_shape, kh, kw, sh, sw, ph, pw, backward):
    (n, h, w, c), (_, oh, ow, _) = x_shape, out_shape
    return (maxpool2d_plan(h, w, c, oh, ow, kh, kw, sh, sw, ph, pw),
            maxpool2d_layout(n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, backward))


# (float elements, int elements, int type): _scratch.scratch's `sizes`
def _scratch_sizes(x, lay, threads, backward):
    return (*part_sizes(lay, threads), index_type(backward))


# the call's Plan, Layout, and its scratch's parts (_scratch.split), kept between calls
def _call(name, x, out, kh, kw, sh, sw, ph, pw):
    backward = name == "maxpool2d_backward"
    plan, lay = _geometry(x.shape, out.shape, kh, kw, sh, sw, ph, pw, backward)
    threads = fastnn_threads()
    key = (name, x.shape, out.shape, kh, kw, sh, sw, ph, pw, x.dtype.char, threads)
    return plan, lay, split(*scratch(key, _scratch_sizes, x, lay, threads, backward), lay, threads)


# x (N,H,W,C) -> out (N,OH,OW,C), argmax (N,OH,OW,C)
def maxpool2d_forward(out, argmax, x, int kh, int kw, int sh, int sw, int ph, int pw):
    # per thread: the best of each input column over a window's rows, and its index, then at runs_at the
    # best over the columns from every start position (whole rows) and its index
    plan, lay, (_, _, colv, _, coli) = _call("maxpool2d_forward", x, out, kh, kw, sh, sw, ph, pw)
    _forward(out, argmax, x.reshape(x.shape[0], x.shape[1], -1), colv, coli, kh, kw, sh, sw, ph, pw, plan.whole,
             plan.span, lay.runs_at)


# Max is separable: one task per output row (sample b, row r) first takes the best of every input column
# over the window's rows (whole image rows of W*C, contiguous: vectorised), then each window's best over
# its columns, C at a time. Only the window's cells inside the image are compared (padded cells never
# win); a window over padding only gives -inf at position 0, as the reference. Every merge stores
# unconditionally (a select, not a branch), so GCC vectorises both passes; a loop over every window cell,
# channels inner, bounds tested per cell, takes 1.1-1.6x as long at LeNet's pools.
# With "whole" rows (plan.py) the columns are merged for every start position along the row instead, and each
# window's C results then picked out: for stride 2 it compares twice what is needed, and with C = 6 it beats
# merging C channels window by window, as in the Numba backend (numba.py, _row_windows).
# x (N,H,W*C); colv coli (threads, Layout.thread): the column winners, then at `runs` the merged runs
def _forward(floating[:, :, :, ::1] out, int32_t[:, :, :, ::1] argmax, const floating[:, :, ::1] x,
             floating[:, ::1] colv, int32_t[:, ::1] coli, int kh, int kw, int sh, int sw, int ph, int pw,
             bint whole, Py_ssize_t span, Py_ssize_t runs):
    cdef Py_ssize_t n = out.shape[0], oh = out.shape[1], ow = out.shape[2], nc = out.shape[3]
    cdef Py_ssize_t h = x.shape[1], row = x.shape[2], w = row // nc
    cdef Py_ssize_t t, b, r, q, c, i, j, hs, ws, i0, i1, j0, j1, base, p, tid
    cdef int32_t vi, ci
    cdef floating v, cur
    cdef bint take
    cdef int threads = colv.shape[0]   # read outside the parallel block (the debug build checks it)
    for t in prange(n * oh, nogil=True, num_threads=threads, schedule="static",
                    use_threads_if=n * oh * ow * nc * kh * kw >= GRAIN):
        tid = threadid()
        b = t // oh
        r = t % oh
        hs = r * sh - ph
        i0 = max(0, -hs)
        i1 = min(kh, h - hs)
        if i0 >= i1:
            for q in range(ow):
                for c in range(nc):
                    out[b, r, q, c] = -INFINITY
                    argmax[b, r, q, c] = 0
        else:
            for p in range(row):
                colv[tid, p] = x[b, hs + i0, p]
                coli[tid, p] = i0 * kw
            for i in range(i0 + 1, i1):
                # a later row wins if strictly greater, or a NaN over a number: ties keep the earlier row
                for p in range(row):
                    v = x[b, hs + i, p]
                    cur = colv[tid, p]
                    take = (v > cur) | ((v != v) & (cur == cur))
                    colv[tid, p] = v if take else cur
                    coli[tid, p] = <int32_t>(i * kw) if take else coli[tid, p]
            if whole:
                _merge_runs(colv, coli, tid, runs, span, kw, nc)
                for q in range(ow):
                    for c in range(nc):
                        out[b, r, q, c] = colv[tid, runs + q * sw * nc + c]
                        argmax[b, r, q, c] = coli[tid, runs + q * sw * nc + c]
            else:
                for q in range(ow):
                    ws = q * sw - pw
                    j0 = max(0, -ws)
                    j1 = min(kw, w - ws)
                    if j0 >= j1:
                        for c in range(nc):
                            out[b, r, q, c] = -INFINITY
                            argmax[b, r, q, c] = 0
                        j1 = j0   # no columns to merge
                    else:
                        base = (ws + j0) * nc
                        for c in range(nc):
                            out[b, r, q, c] = colv[tid, base + c]
                            argmax[b, r, q, c] = coli[tid, base + c] + j0
                    for j in range(j0 + 1, j1):
                        # columns can tie with an earlier column's lower row: compare the window positions
                        base = (ws + j) * nc
                        for c in range(nc):
                            v = colv[tid, base + c]
                            vi = coli[tid, base + c] + <int32_t>j
                            cur = out[b, r, q, c]
                            ci = argmax[b, r, q, c]
                            take = _wins(v, vi, cur, ci)
                            out[b, r, q, c] = v if take else cur
                            argmax[b, r, q, c] = vi if take else ci


# whether (v, at window position vi) beats (cur, at ci): larger, or equal and earlier, or a NaN over a number
# (or over a later NaN); the same test as the reference's argmax
cdef inline bint _wins(floating v, int32_t vi, floating cur, int32_t ci) noexcept nogil:
    return (v > cur) | ((v == cur) & (vi < ci)) | ((v != v) & ((cur == cur) | (vi < ci)))


# colv[tid, runs + t], coli[...] <- the best of columns t, t + C, ..., t + (KW-1) C of the row's column winners
# colv[tid, :W C] and its window index, for t < span; ties to the earlier column, a NaN wins
cdef void _merge_runs(floating[:, ::1] colv, int32_t[:, ::1] coli, Py_ssize_t tid, Py_ssize_t runs, Py_ssize_t span,
                      int kw, Py_ssize_t nc) noexcept nogil:
    cdef Py_ssize_t t, j
    cdef floating v, cur
    cdef int32_t vi, ci
    cdef bint take
    for t in range(span):
        colv[tid, runs + t] = colv[tid, t]
        coli[tid, runs + t] = coli[tid, t]
    for j in range(1, kw):
        for t in range(span):
            v = colv[tid, j * nc + t]
            vi = coli[tid, j * nc + t] + <int32_t>j
            cur = colv[tid, runs + t]
            ci = coli[tid, runs + t]
            take = _wins(v, vi, cur, ci)
            colv[tid, runs + t] = v if take else cur
            coli[tid, runs + t] = vi if take else ci


# dout (N,OH,OW,C) -> dx (N,H,W,C): each output's gradient goes to its window's winner
def maxpool2d_backward(dx, dout, argmax, int kh, int kw, int sh, int sw, int ph, int pw):
    plan, _, (_, _, _, taps, _) = _call("maxpool2d_backward", dx, dout, kh, kw, sh, sw, ph, pw)
    _backward(dx.reshape(dx.shape[0], -1), dx.shape[1], dx.shape[2], dout, argmax, taps, kh, kw, sh, sw, ph, pw,
              plan.tiled, plan.inside)


# dx (N,H*W*C); taps (3 KH KW, plan.py): window position k is at row di[k] = taps[k], column
# dj[k] = taps[KH KW + k] of its window (looked up rather than divided out per output); tiled and inside:
# plan.py's Plan.
# Windows that tile the image exactly (stride = pool size, no padding, no remainder: 2x2/2 on even sizes)
# cover every cell once, so each cell is written once, g or 0, in memory order: no zeroing pass and no
# scattered read-modify-write (as the Numba backend does). With fewer than 8 channels that select loop is
# too short to vectorise: dx = 0, then each gradient is added at its winner (overlapping windows add up),
# without the row and column checks when every window lies inside the image. LeNet's pools, one thread:
# 64x10x10x16 117 -> 45 us (tiled), 64x28x28x6 213 -> 146 us (scatter without the checks).
def _backward(floating[:, ::1] dx, Py_ssize_t h, Py_ssize_t w, const floating[:, :, :, ::1] dout,
              const int32_t[:, :, :, ::1] argmax, Py_ssize_t[::1] taps, Py_ssize_t kh, Py_ssize_t kw,
              int sh, int sw, int ph, int pw, bint tiled, bint inside):
    cdef Py_ssize_t n = dout.shape[0], oh = dout.shape[1], ow = dout.shape[2], nc = dout.shape[3]
    cdef Py_ssize_t b, r, q, c, i, j, at, k, t = kh * kw
    for k in range(t):
        taps[k] = k // kw
        taps[t + k] = k % kw
    cdef const Py_ssize_t[::1] di = taps[:t], dj = taps[t:2 * t]
    cdef int threads = fastnn_threads()
    # one task per sample: overlapping windows of a sample add into the same cells of that sample only
    for b in prange(n, nogil=True, num_threads=threads, schedule="static", use_threads_if=n * oh * ow * nc >= GRAIN):
        if tiled:
            for r in range(oh):
                for i in range(kh):
                    for q in range(ow):
                        for j in range(kw):
                            at = ((r * kh + i) * w + q * kw + j) * nc
                            for c in range(nc):
                                dx[b, at + c] = dout[b, r, q, c] if argmax[b, r, q, c] == i * kw + j else 0
        elif inside:   # two calls with a constant: GCC inlines each, and this one drops the checks
            _scatter(dx, dout, argmax, di, dj, b, h, w, sh, sw, ph, pw, False)
        else:
            _scatter(dx, dout, argmax, di, dj, b, h, w, sh, sw, ph, pw, True)


# dx[b] = 0, then each gradient of sample b added at its winner; checked: whether a winner's row and column
# may lie in the padding (a window over padding only has its winner there, and nowhere to go)
cdef inline void _scatter(floating[:, ::1] dx, const floating[:, :, :, ::1] dout, const int32_t[:, :, :, ::1] argmax,
                          const Py_ssize_t[::1] di, const Py_ssize_t[::1] dj, Py_ssize_t b, Py_ssize_t h,
                          Py_ssize_t w, int sh, int sw, int ph, int pw, bint checked) noexcept nogil:
    cdef Py_ssize_t r, q, c, k, ih, iw, nc = dout.shape[3]
    for k in range(dx.shape[1]):
        dx[b, k] = 0
    for r in range(dout.shape[1]):
        for q in range(dout.shape[2]):
            for c in range(nc):
                k = argmax[b, r, q, c]
                if 0 <= k < di.shape[0]:
                    ih = r * sh + di[k] - ph
                    iw = q * sw + dj[k] - pw
                    if not checked or (0 <= ih < h and 0 <= iw < w):
                        dx[b, (ih * w + iw) * nc + c] += dout[b, r, q, c]
