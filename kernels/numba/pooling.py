"""2-D max pooling (Numba), channels-last, with the winners kept for the backward.

Legend: N batch, H W input size, C channels, KH KW pool size, sh sw strides, ph pw padding above/left,
OH OW output size. argmax (N,OH,OW,C) int32 holds the winner's position inside its window, i * KW + j.
As in the reference: padded cells never win, ties go to the first maximum in row-major window order, and
a NaN wins (the first one), so it reaches the loss.
Max is separable: the forward first takes the best of every input column over a window's rows, along
whole image rows (W*C contiguous, vectorised), then the best of each window's columns, C at a time.
The backward adds each output's gradient at its recorded winner: it never reads x, and measured faster
than finding the winner again (see benches/bench_pooling.py and the numbers in the README).
Parallel over fixed chunks of samples above GRAIN (conv2d's sample_chunks); each sample is written by
one thread only.
"""
import numpy as np

from ._config import jit, pjit, prange
from .conv2d import sample_chunks


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


# samples [lo, hi): out = max over each window, argmax = the winning tap. Max is separable: first the best
# of each input column over the window's rows (long contiguous rows of W*C, vectorised), then the best of
# the window's columns, C channels at a time. Row winners carry i*KW, so the index stays exact on ties.
@jit
def _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, lo, hi):
    _, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    n = w * c
    colv = np.empty((2, n), x.dtype)
    coli = np.empty((2, n), np.int32)
    rowidx = np.empty((kh, n), np.int32)   # rowidx[i] = i * KW: the index of a row's own cells
    for i in range(kh):
        rowidx[i, :] = i * kw
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
            for q in range(ow):
                j0, j1, ws = _valid(q, sw, pw, kw, w)
                o, a = orow[q], arow[q]
                if j0 >= j1:
                    o[:] = -np.inf
                    a[:] = 0
                    continue
                b = (ws + j0) * c
                fv, fi = cv[b:b + c], ci[b:b + c]
                for ch in range(c):
                    o[ch] = fv[ch]
                    a[ch] = fi[ch] + j0
                for j in range(j0 + 1, j1):
                    b = (ws + j) * c
                    _merge(o, a, o, a, 0, cv[b:b + c], ci[b:b + c], j)


# samples [lo, hi): dx = each output's gradient at its window's winner, 0 elsewhere.
# Windows that tile the image exactly (stride = pool size, no padding, no remainder; 2x2/2 on even sizes)
# cover every cell once: each cell is written once, g or 0, with no zeroing pass and no read-modify-write.
# Otherwise dx = 0 first, then each gradient is added at its winner (overlapping windows add up); a window
# inside the image adds at (its corner + the tap's offset), one over the padding checks the winner's row
# and column (a winner is never a padded cell, except in a window over padding only).
@jit
def _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, lo, hi):
    _, h, w, c = dx.shape
    _, oh, ow, _ = dout.shape
    ti = np.empty(kh * kw, np.int64)
    tj = np.empty(kh * kw, np.int64)
    toff = np.empty(kh * kw, np.int64)   # tap -> its offset from the window's corner in a flat sample
    for t in range(kh * kw):
        ti[t], tj[t] = t // kw, t % kw
        toff[t] = (ti[t] * w + tj[t]) * c
    tiled = sh == kh and sw == kw and ph == 0 and pw == 0 and h == oh * kh and w == ow * kw
    zero, one = dx.dtype.type(0), dx.dtype.type(1)
    for s in range(lo, hi):
        d = dx[s].reshape(h * w * c)
        if not tiled:
            d[:] = 0
        for r in range(oh):
            i0, i1, hs = _valid(r, sh, ph, kh, h)
            for q in range(ow):
                j0, j1, ws = _valid(q, sw, pw, kw, w)
                g = dout[s, r, q]
                a = argmax[s, r, q]
                corner = (hs * w + ws) * c
                if tiled:
                    for t in range(kh * kw):
                        cell = d[corner + toff[t]:corner + toff[t] + c]
                        for ch in range(c):
                            # a product, as in the reference: a NaN gradient spreads over its window
                            cell[ch] = g[ch] * (one if a[ch] == t else zero)
                elif i1 - i0 == kh and j1 - j0 == kw:
                    for ch in range(c):
                        d[np.uintp(corner + toff[a[ch]] + ch)] += g[ch]
                else:
                    for ch in range(c):
                        i, j = hs + ti[a[ch]], ws + tj[a[ch]]
                        if 0 <= i < h and 0 <= j < w:
                            d[np.uintp((i * w + j) * c + ch)] += g[ch]


@pjit
def _forward_parallel(out, argmax, x, kh, kw, sh, sw, ph, pw, per, chunks):
    n = x.shape[0]
    for ch in prange(chunks):
        _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, ch * per, min(n, (ch + 1) * per))


@pjit
def _backward_parallel(dx, dout, argmax, kh, kw, sh, sw, ph, pw, per, chunks):
    n = dx.shape[0]
    for ch in prange(chunks):
        _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, ch * per, min(n, (ch + 1) * per))


# x (N,H,W,C) -> out (N,OH,OW,C), argmax (N,OH,OW,C)
@jit
def maxpool2d_forward(out, argmax, x, kh, kw, sh, sw, ph, pw):
    n = x.shape[0]
    per, chunks = sample_chunks(n, out.size * kh * kw)
    if chunks == 1:
        _forward_samples(out, argmax, x, kh, kw, sh, sw, ph, pw, 0, n)
    else:
        _forward_parallel(out, argmax, x, kh, kw, sh, sw, ph, pw, per, chunks)


# dout (N,OH,OW,C) -> dx (N,H,W,C): each output's gradient goes to its window's winner
@jit
def maxpool2d_backward(dx, dout, argmax, kh, kw, sh, sw, ph, pw):
    n = dx.shape[0]
    per, chunks = sample_chunks(n, dx.size + dout.size)
    if chunks == 1:
        _backward_samples(dx, dout, argmax, kh, kw, sh, sw, ph, pw, 0, n)
    else:
        _backward_parallel(dx, dout, argmax, kh, kw, sh, sw, ph, pw, per, chunks)
