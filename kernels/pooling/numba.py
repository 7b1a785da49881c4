"""2-D max pooling (Numba), channels-last, with the winners kept for the backward.

Legend: N batch, H W input size, C channels, KH KW pool size, sh sw strides, ph pw padding above/left,
OH OW output size. argmax (N,OH,OW,C) int32 holds the winner's position inside its window, i * KW + j.
As in the reference: padded cells never win, ties go to the first maximum in row-major window order, and
a NaN wins (the first one), so it reaches the loss.
Max is separable: the forward first takes the best of every input column over a window's rows, along
whole image rows (W*C contiguous, vectorised), then the best of each window's columns, C at a time.
The backward adds each output's gradient at its recorded winner and never reads x: 3.5-6x faster than
finding the winners again at the LeNet and Fashion shapes (one thread), for an int32 per output.
Parallel over the chunks of samples of plan.py's Layout; each sample is written by one thread only. Each
thread's row buffers and the shared index tables are views of scratch kept between calls, laid out as
plan.py says (kernels/_scratch.py), so a training step allocates nothing here.
"""
from functools import lru_cache

import numpy as np

from .._numba.chunks import chunk_rows, split, worker_threads
from .._numba.config import jit, pjit, prange
from .._scratch import part_sizes, scratch
from .plan import Layout, Plan, index_type, maxpool2d_layout, maxpool2d_plan


# the window of output (oh, ow) covers input rows oh*sh - ph + [i0, i1) and columns ow*sw - pw + [j0, j1)
@jit
def _valid(o, s, p, k, size):
    start = o * s - p
    return max(0, -start), min(k, size - start), start


# (nv, ni) <- the better of (av, ai + aj) and (bv, bi + bj) element-wise (nv may be av): the larger value,
# a NaN over a number, else (a tie, or two NaNs) the smaller window index. The value comes from np.maximum
# and the index from a bit mask, so every store is unconditional: LLVM turns a select of the loaded value
# into a masked store, and a load from a masked store stalls (no store forwarding).
@jit
def _merge(nv, ni, av, ai, aj, bv, bi, bj):
    for t in range(nv.size):
        cur, new, ca, na = av[t], bv[t], ai[t] + aj, bi[t] + bj
        win = (new > cur) | ((new == cur) & (na < ca)) | ((new != new) & ((cur == cur) | (na < ca)))
        m = -np.int32(win)
        nv[t] = np.maximum(cur, new)
        ni[t] = (na & m) | (ca & ~m)


# one output row when no window reaches into column padding: out/argmax (OW*C,) from the column winners
# cv/ci (W*C,) of the window's rows. The best over a window's columns is taken for every start position
# along the whole row, tap by tap (KW-1 merges of long contiguous slices: vectorised), then each window's
# C results are copied out. For stride 2 that compares twice what is needed: measured 1.9x faster than
# merging C channels window by window at C = 6 (LeNet's first pool, 361 vs 677 us, one thread), a tie at
# C = 16 and 32, and slower at 64, where the window-by-window loop over C vectorises well.
@jit
def _row_windows(o, a, cv, ci, hv, hx, kw, sw, c):
    span = hv.shape[1]
    bv, bi = cv[:span], ci[:span]
    k = 0
    for j in range(1, kw):
        _merge(hv[k], hx[k], bv, bi, 0, cv[j * c:j * c + span], ci[j * c:j * c + span], j)
        bv, bi = hv[k], hx[k]
        k = 1 - k
    ow = o.size // c
    for q in range(ow):
        src, dst = bv[q * sw * c:], o[q * c:(q + 1) * c]
        srci, dsti = bi[q * sw * c:], a[q * c:(q + 1) * c]
        for ch in range(dst.size):
            dst[ch] = src[ch]
            dsti[ch] = srci[ch]


# samples [lo, hi): out = max over each window, argmax = the winning tap. Max is separable: first the best
# of each input column over the window's rows (long contiguous rows of W*C, vectorised), then the best of
# the window's columns, C channels at a time. Row winners carry i*KW, so the index stays exact on ties.
# rowidx: the shared int scratch, cf/ci the running thread's (plan.py's Layout lay)
@jit
def _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, rowidx, cf, ci, p, lay, lo, hi):
    _, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    n = w * c
    whole, span, pair, runs = p.whole, p.span, lay.pair_at, lay.runs_at
    colv, coli = cf[:2 * n].reshape(2, n), ci[:2 * n].reshape(2, n)
    scratch_v = cf[pair:pair + 2 * c].reshape(2, c)   # the horizontal chain's intermediate results
    scratch_i = ci[pair:pair + 2 * c].reshape(2, c)
    hv = cf[runs:runs + 2 * span].reshape(2, span)
    hx = ci[runs:runs + 2 * span].reshape(2, span)
    for s in range(lo, hi):
        xs = x[s].reshape(h, n)
        for r in range(oh):
            i0, i1, hs = _valid(r, sh, ph, kh, h)
            orow = out[s, r]
            arow = argmax[s, r]
            if i0 >= i1:  # only padding under the window (padding >= pool size): as the reference
                orow[:] = -np.inf
                arow[:] = 0
                continue
            cv, ci = xs[hs + i0], rowidx[i0]
            k = 0
            for i in range(i0 + 1, i1):
                _merge(colv[k], coli[k], cv, ci, 0, xs[hs + i], rowidx[i], 0)
                cv, ci = colv[k], coli[k]
                k = 1 - k
            if whole:
                _row_windows(orow.reshape(ow * c), arow.reshape(ow * c), cv, ci, hv, hx, kw, sw, c)
                continue
            for q in range(ow):
                j0, j1, ws = _valid(q, sw, pw, kw, w)
                o, a = orow[q], arow[q]
                if j0 >= j1:
                    o[:] = -np.inf
                    a[:] = 0
                    continue
                # one merge per further column, each out of place (in place, LLVM's overlap check fails and
                # the loop runs scalar): through the scratch pair, the last one into out and argmax
                b = (ws + j0) * c
                if j1 - j0 == 1:
                    for ch in range(c):
                        o[ch] = cv[b + ch]
                        a[ch] = ci[b + ch] + j0
                elif j1 - j0 == 2:
                    _merge(o, a, cv[b:b + c], ci[b:b + c], j0, cv[b + c:b + 2 * c], ci[b + c:b + 2 * c], j0 + 1)
                else:
                    _merge(scratch_v[0], scratch_i[0], cv[b:b + c], ci[b:b + c], j0,
                           cv[b + c:b + 2 * c], ci[b + c:b + 2 * c], j0 + 1)
                    for j in range(j0 + 2, j1):
                        b = (ws + j) * c
                        k = (j - j0) % 2   # reads scratch k, writes scratch 1 - k
                        if j == j1 - 1:
                            _merge(o, a, scratch_v[k], scratch_i[k], 0, cv[b:b + c], ci[b:b + c], j)
                        else:
                            _merge(scratch_v[1 - k], scratch_i[1 - k], scratch_v[k], scratch_i[k], 0,
                                   cv[b:b + c], ci[b:b + c], j)


# samples [lo, hi): dx = each output's gradient at its window's winner, 0 elsewhere.
# Windows that tile the image exactly (stride = pool size, no padding, no remainder; 2x2/2 on even sizes)
# cover every cell once: each cell is written once, g or 0, with no zeroing pass and no read-modify-write.
# Otherwise dx = 0 first, then each gradient is added at its winner (overlapping windows add up); a window
# inside the image adds at (its corner + the tap's offset), one over the padding checks the winner's row
# and column (a winner is never a padded cell, except in a window over padding only).
# ti, tj, toff: tap -> its row, column, and offset from the window's corner in a flat sample
@jit
def _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ti, tj, toff, tiled, lo, hi):
    _, h, w, c = dx.shape
    _, oh, ow, _ = dout.shape
    zero = dx.dtype.type(0)
    for s in range(lo, hi):
        d = dx[s].reshape(h * w * c)
        gs = dout[s].reshape(oh * ow * c)
        ams = argmax[s].reshape(oh * ow * c)
        if not tiled:
            d[:] = 0
        for r in range(oh):
            i0, i1, hs = _valid(r, sh, ph, kh, h)
            for q in range(ow):
                j0, j1, ws = _valid(q, sw, pw, kw, w)
                corner = (hs * w + ws) * c
                at = (r * ow + q) * c   # this output's channels in gs and ams
                if tiled:
                    g, a = gs[at:at + c], ams[at:at + c]
                    for t in range(kh * kw):
                        cell = d[corner + toff[t]:corner + toff[t] + c]
                        for ch in range(c):
                            cell[ch] = g[ch] if a[ch] == t else zero
                elif i1 - i0 == kh and j1 - j0 == kw:
                    for ch in range(c):
                        u = np.uintp(at + ch)
                        d[np.uintp(corner + toff[ams[u]] + ch)] += gs[u]
                else:
                    for ch in range(c):
                        u = np.uintp(at + ch)
                        i, j = hs + ti[ams[u]], ws + tj[ams[u]]
                        if 0 <= i < h and 0 <= j < w:
                            d[np.uintp((i * w + j) * c + ch)] += gs[u]


# The call's Plan and Layout (plan.py), and as plain tuples for the compiled functions, which name their
# fields again (Plan(*pt)): Numba types a plain tuple in C, a named tuple in Python (about 4 us a call).
@lru_cache(maxsize=64)
def _geometry(x_shape, out_shape, kh, kw, sh, sw, ph, pw, backward):
    (n, h, w, c), (_, oh, ow, _) = x_shape, out_shape
    lay = maxpool2d_layout(n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, backward)
    return lay, tuple(maxpool2d_plan(h, w, c, oh, ow, kh, kw, sh, sw, ph, pw)), tuple(lay)


# elements of the two scratch buffers, their int type: _scratch.scratch's `sizes`
def _scratch_sizes(x, lay, threads, backward):
    return (*part_sizes(lay, threads), index_type(backward))


# the call's Plan and Layout as tuples, its float and int scratch, and the threads it runs on
def _call(name, x, out, kh, kw, sh, sw, ph, pw):
    backward = name == "maxpool2d_backward"
    lay, pt, lt = _geometry(x.shape, out.shape, kh, kw, sh, sw, ph, pw, backward)
    threads = worker_threads()
    key = (name, x.shape, out.shape, kh, kw, sh, sw, ph, pw, x.dtype.char, threads)
    return (pt, lt, *scratch(key, _scratch_sizes, x, lay, threads, backward), threads)


# thread t runs chunks t, t + threads, ... with its own scratch ft[t], it[t]
@pjit
def _forward_parallel(out, argmax, x, kh, kw, sh, sw, ph, pw, rowidx, ft, it, p, lay):
    n, threads = x.shape[0], ft.shape[0]
    for t in prange(threads):
        for ch in range(t, lay.chunks, threads):
            lo, hi = chunk_rows(ch, lay.chunks, n)
            _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, rowidx, ft[t], it[t], p, lay, lo, hi)


@pjit
def _backward_parallel(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ti, tj, toff, tiled, chunks):
    for ch in prange(chunks):
        lo, hi = chunk_rows(ch, chunks, dx.shape[0])
        _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ti, tj, toff, tiled, lo, hi)


@jit
def _forward(out, argmax, x, kh, kw, sh, sw, ph, pw, pt, lt, fbuf, ibuf, threads):
    p, lay = Plan(*pt), Layout(*lt)
    _, _, ft, rowidx, it = split(fbuf, ibuf, lay, threads)
    rowidx = rowidx.reshape(kh, x.shape[2] * x.shape[3])   # rowidx[i] = i * KW: the index of a row's own cells
    for i in range(kh):
        rowidx[i, :] = i * kw
    if lay.chunks == 1 or threads == 1:
        _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, rowidx, ft[0], it[0], p, lay, 0, x.shape[0])
    else:
        _forward_parallel(out, argmax, x, kh, kw, sh, sw, ph, pw, rowidx, ft, it, p, lay)


@jit
def _backward(dx, dout, argmax, kh, kw, sh, sw, ph, pw, pt, lt, fbuf, ibuf, threads):
    p, lay = Plan(*pt), Layout(*lt)
    taps = split(fbuf, ibuf, lay, threads)[3]
    w, c = dx.shape[2], dx.shape[3]
    t = kh * kw
    ti, tj, toff = taps[:t], taps[t:2 * t], taps[2 * t:3 * t]
    for k in range(t):
        ti[k], tj[k] = k // kw, k % kw
        toff[k] = (ti[k] * w + tj[k]) * c
    if lay.chunks == 1 or threads == 1:
        _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ti, tj, toff, p.tiled, 0, dx.shape[0])
    else:
        _backward_parallel(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ti, tj, toff, p.tiled, lay.chunks)


# x (N,H,W,C) -> out (N,OH,OW,C), argmax (N,OH,OW,C)
def maxpool2d_forward(out, argmax, x, kh, kw, sh, sw, ph, pw):
    _forward(out, argmax, x, kh, kw, sh, sw, ph, pw, *_call("maxpool2d_forward", x, out, kh, kw, sh, sw, ph, pw))


# dout (N,OH,OW,C) -> dx (N,H,W,C): each output's gradient goes to its window's winner
def maxpool2d_backward(dx, dout, argmax, kh, kw, sh, sw, ph, pw):
    _backward(dx, dout, argmax, kh, kw, sh, sw, ph, pw, *_call("maxpool2d_backward", dx, dout, kh, kw, sh, sw, ph, pw))
