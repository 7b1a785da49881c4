"""2-D convolution (Numba), channels-last, bias and activation fused: the hot loops of the CNN path.

Legend, the canvas, Q, Qp, K16, every size of a call and its scratch layout: plan.py (shared by both backends).

Every product is _numba.gemm.gemm (a register-blocked microkernel: a 16-wide block of the result in
registers), and it reads its operands where they lie, through a table of row offsets and a two-level
reduction, so nothing is copied into im2row form ("implicit GEMM"):
- forward: out block (n, K16) = bias + windows (n, Q) @ W (Q, K16), where output (oh, ow)'s window starts
  at canvas offset oh sh pitch + ow sw C and runs over KH rows of KW*C elements.
  For C == 1 at stride 1 (the first layer on grey images, K small), the planar form instead: acc (K,
  positions) = wk (K, taps) @ shifted canvas rows, along the canvas's positions (row pitch Wp), so the
  blocks run along the long axis; the Wp - OW positions past each row's end are computed and thrown away.
- dw: partial (Q, K16) += windows^T (Q, n) @ dz (n, K16): row e of windows^T is window element e of every
  output position (a canvas offset, then steps of sh pitch and sw C); dz is dout itself when K % 16 == 0.
  The planar first layer's dw is dot products along the canvas's positions instead (_dot_nt: with K = 6,
  a 16-wide block is mostly padding; measured 2.1x slower).
- dx: dP (n, Qp) = dz (n, K) @ wt (K, Qp), then col2im adds dP's rows into a zero canvas of the sample
  (adding each block's rows straight into the canvas measured slower: the rows overlap there, so each
  row's loads wait on the previous row's stores).
Tiles of output rows bound every buffer (CONV_TILE elements; dz rows 4 tiles), never the batch.
The loops index with range() counters, slice views or unsigned indices: an index that might be negative
makes Numba emit a wraparound select per element, which stops LLVM from vectorising the loop. Activations
run out of place (from a scratch block, or from a copy of dout): called in place, LLVM's runtime overlap
check fails and the element-wise loop falls back to scalar code, about 5x slower.

Parallel over samples: the forward deals them to the threads CONV_SAMPLES at a time; the backward runs fixed
chunks of samples (plan.py's Layout), each owned by one thread: dx needs no locks and dw/db are summed into
one partial per chunk, added in chunk order after the parallel loop. The chunks depend on the shape only,
never on the thread count, so 1 and 2 threads give bit-identical results. The Plan and the Layout are computed
in Python once per shape and handed to the compiled functions as plain tuples (see _geometry).
"""
from functools import lru_cache

import numpy as np

from .._numba.chunks import chunk_rows, parallel, split, worker_threads
from .._numba.config import jit, pjit, prange
from .._numba.gemm import gemm, padded, row_offsets
from .plan import Layout, Plan, conv2d_layout, conv2d_plan
from .._scratch import part_sizes, scratch
from ..design import CONV_SAMPLES
from ..activations.numba import backward_flat, check_code, forward_flat


# -- the first layer's dw ----

# s (M,N) += dot products of length n: s[m, j] += a[ao[m]:ao[m]+n] . b[bo[j]:bo[j]+n]
# a, b flat; ao.size % 4 == 0, bo.size % 2 == 0. Eight independent sums per block, each vectorised.
@jit
def _dot_nt(s, a, ao, b, bo, n):
    zero = a.dtype.type(0)
    for m in range(0, ao.size, 4):
        a0 = a[ao[m]:ao[m] + n]
        a1 = a[ao[m + 1]:ao[m + 1] + n]
        a2 = a[ao[m + 2]:ao[m + 2] + n]
        a3 = a[ao[m + 3]:ao[m + 3] + n]
        for j in range(0, bo.size, 2):
            b0 = b[bo[j]:bo[j] + n]
            b1 = b[bo[j + 1]:bo[j + 1] + n]
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = zero
            for q in range(n):
                y0, y1 = b0[q], b1[q]
                s00 += a0[q] * y0
                s01 += a0[q] * y1
                s10 += a1[q] * y0
                s11 += a1[q] * y1
                s20 += a2[q] * y0
                s21 += a2[q] * y1
                s30 += a3[q] * y0
                s31 += a3[q] * y1
            s[m, j] += s00
            s[m, j + 1] += s01
            s[m + 1, j] += s10
            s[m + 1, j + 1] += s11
            s[m + 2, j] += s20
            s[m + 2, j + 1] += s21
            s[m + 3, j] += s30
            s[m + 3, j + 1] += s31


# -- layout helpers ------------------------------------------------------------------------------------

# canvas (>=Hp, Wp*C) <- sample xs (H, W*C) at row ph, column pw*C; the zero border is never written
@jit
def _fill_canvas(canvas, xs, hp, ph, pw, c):
    cols = (min(xs.shape[1] // c, canvas.shape[1] // c - pw)) * c
    for h in range(min(xs.shape[0], hp - ph)):
        dst = canvas[ph + h, pw * c:pw * c + cols]
        src = xs[h]
        for t in range(cols):
            dst[t] = src[t]


# ds (H, W*C) <- the canvas's interior, zero where the canvas does not reach (the reference's clipping)
@jit
def _read_canvas(ds, canvas, hp, ph, pw, c):
    cols = max(0, min(ds.shape[1] // c, canvas.shape[1] // c - pw)) * c
    for h in range(ds.shape[0]):
        dst = ds[h]
        for t in range(dst.size):
            dst[t] = 0
        if h < hp - ph:
            src = canvas[ph + h, pw * c:pw * c + cols]
            for t in range(cols):
                dst[t] = src[t]


# col2im: the canvas's window of each output pixel r of rows [oh0, oh0+nr) += dP[r] (KH runs of KW*C).
# Flat unsigned indices rather than a view per run: the runs are short (KW*C) and a view costs more than them.
@jit
def _col2im(dp, canvas, oh0, nr, ow, kh, kw, c, sh, sw):
    run = kw * c
    pf = dp.reshape(dp.size)
    cf = canvas.reshape(canvas.size)
    pitch, qp = canvas.shape[1], dp.shape[1]
    for r in range(nr):
        for o in range(ow):
            for i in range(kh):
                src = ((oh0 + r) * sh + i) * pitch + o * sw * c
                dst = (r * ow + o) * qp + i * run
                for t in range(run):
                    cf[np.uintp(src + t)] += pf[np.uintp(dst + t)]


# planar (>=K, >=nr*pitch) <-> inter (nr*OW*K,) channels-last: planar[i, r pitch + o] is inter[(r OW + o) K + i]
# Along o, planar reads/writes are contiguous; the index into inter is unsigned, so no wraparound select.
@jit
def _transpose(planar, inter, nr, ow, k, pitch, to_planar):
    for r in range(nr):
        row = inter[r * ow * k:(r + 1) * ow * k]
        for i in range(k):
            pl = planar[i, r * pitch:r * pitch + ow]
            if to_planar:
                for o in range(ow):
                    pl[o] = row[np.uintp(o * k + i)]
            else:
                for o in range(ow):
                    row[np.uintp(o * k + i)] = pl[o]


# sums (I,) += the row sums of a (I, n)
@jit
def _row_sums(sums, a):
    for i in range(a.shape[0]):
        ai = a[i]
        t = sums[i]
        for q in range(ai.size):
            t += ai[q]
        sums[i] = t


# g[:nr, :K] <- rows [r0, r0+nr) of the sample's dz (R, K); g's columns past K are never written (zeros)
@jit
def _load_rows(g, dz, r0, nr):
    k = dz.shape[1]
    for r in range(nr):
        gr, src = g[r], dz[r0 + r]
        for j in range(k):
            gr[j] = src[j]


# wt (K, >=Q) <- wt[k, (i KW + j) C + c] = w[i, j, c, k], zero padded (dx's B; the planar forward's wk)
@jit
def _pack_weights(wt, w):
    kh, kw, c, k = w.shape
    q = kh * kw * c
    wt[:] = 0
    wf = w.reshape(q, k)
    for j in range(q):
        for i in range(k):
            wt[i, j] = wf[j, i]


# off <- the offsets of the KH*KW taps in the flat canvas, then zeros (padding taps)
@jit
def _tap_offsets(off, kh, kw, wp):
    off[:] = 0
    for i in range(kh):
        for j in range(kw):
            off[i * kw + j] = i * wp + j


# off (OH*OW,) <- where each output's window starts in the canvas
@jit
def _output_offsets(off, oh, ow, sh, sw, c, pitch):
    for r in range(oh):
        for o in range(ow):
            off[r * ow + o] = r * sh * pitch + o * sw * c


# off (Q,) <- where window element (i, j, ch) of the first window lies in the canvas
@jit
def _window_offsets(off, kh, kw, c, pitch):
    for i in range(kh):
        for t in range(kw * c):
            off[i * kw * c + t] = i * pitch + t


# -- scratch ---------------------------------------------------------------------------------------
# A call's buffers are views of two flat scratch arrays kept by kernels/_scratch.py for the call's shapes, laid
# out as plan.py's Layout says. A thread's part serves every sample or chunk it runs, so it stays in cache from
# one to the next; a part per chunk (16 of them, each cold when its chunk starts) measured 15-22% slower in a
# LeNet-5 epoch than fresh allocations, which malloc hands back hot. Only the partial sums, which must not
# depend on the thread count, are per chunk.
# The compiled functions get the Plan and the Layout as plain tuples and name their fields again (Plan(*pt)):
# Numba types a plain tuple of ints in C, a named tuple in Python (about 4 us a call).
@lru_cache(maxsize=64)
def _geometry(x_shape, w_shape, oh, ow, sh, sw, ph, pw, backward, with_dx):
    p = conv2d_plan(*x_shape, *w_shape[:2], w_shape[3], oh, ow, sh, sw, ph, pw)
    lay = conv2d_layout(p, backward, with_dx)
    return p, lay, tuple(p), tuple(lay)


# elements of the two scratch buffers, their int type: _scratch.scratch's `sizes`
def _scratch_sizes(x, lay, threads):
    return (*part_sizes(lay, threads), np.int64)


# the call's Plan and Layout, its float and int scratch, and the threads it runs on (at most MAX_CHUNKS).
# The key holds the plan: what stays zero in the scratch depends on the geometry.
def _call(name, x, w, out, sh, sw, ph, pw, backward, with_dx):
    p, lay, pt, lt = _geometry(x.shape, w.shape, out.shape[1], out.shape[2], sh, sw, ph, pw, backward, with_dx)
    threads = worker_threads()
    fbuf, ibuf = scratch((name, pt, x.dtype.char, with_dx, threads), _scratch_sizes, x, lay, threads)
    return pt, lt, fbuf, ibuf, threads


# -- forward ---------------------------------------------------------------------------------------

# samples [lo, hi): out (N,OH,OW,K) = act(conv(x, w) + bias). sf/si: the shared scratch (bias, then wk or W;
# their row offsets), cf: the running thread's.
@jit
def _forward_samples(out, x, w, sf, si, cf, p, lay, act, lo, hi):
    h, wd, c, k, oh, ow, kh, kw = p.h, p.width, p.nc, p.nk, p.oh, p.ow, p.kh, p.kw
    direct, wp, hp, frows, k16, q, pitch, run = p.direct, p.wp, p.hp, p.frows, p.k16, p.q, p.pitch, p.run
    bias = sf[:k16]
    cv = cf[:p.canvas]
    canvas = cv[:hp * pitch].reshape(hp, pitch)
    pre = cf[lay.pre_at:lay.pre_at + frows * ow * k]   # a block before the activation, which runs out of place
    if direct:
        wk = sf[lay.w_at:lay.w_at + k * kh * kw]   # wk[k, tap]
        apitch = p.apitch
        accf = cf[lay.blk_at:lay.blk_at + k * apitch]
        acc = accf.reshape(k, apitch)
    else:
        wq = sf[lay.w_at:lay.w_at + q * k16]   # W (Q, K16): w's rows, zero padded to K16 filters
        resf = cf[lay.blk_at:lay.blk_at + frows * ow * k16]
        res = resf.reshape(frows * ow, k16)
    for s in range(lo, hi):
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, p.ph, p.pw, c)
        os = out[s].reshape(oh * ow * k)
        for oh0 in range(0, oh, frows):
            nr = min(frows, oh - oh0)
            block = os[oh0 * ow * k:(oh0 + nr) * ow * k]
            if direct:   # acc (K, positions) = bias + wk (K, KH KW) @ the canvas shifted by each tap
                n = padded(nr * wp)
                for i in range(k):
                    acc[i, :n] = bias[i]
                gemm(accf, apitch, k, n, wk, si, cv[oh0 * wp:], ((kh, kw, wp), (kw, 1, 1)), True)
                src = pre[:block.size]
                _transpose(acc, src, nr, ow, k, wp, False)
            else:   # res (n, K16) = bias + windows (n, Q) @ W (Q, K16)
                n = nr * ow
                for r in range(n):
                    res[r] = bias
                gemm(resf, k16, n, k16, cv, si[oh0 * ow:], wq, ((kh, pitch, run * k16), (run, 1, k16)), True)
                if k16 == k:   # res[:n] is laid out as the block
                    src = resf[:n * k]
                else:
                    src = pre[:block.size]
                    for r in range(n):
                        for i in range(k):
                            src[r * k + i] = res[r, i]
            forward_flat(block, src, act)


# the shared scratch: the bias (zeros when b is None, and past K), then wk and the filters' offsets in it
# (planar) or W and the outputs' offsets in the canvas
@jit
def _forward_setup(sf, si, w, b, p, lay):
    k, k16, q = p.nk, p.k16, p.q
    bias = sf[:k16]
    bias[:] = 0
    if b is not None:
        bias[:k] = b
    if p.direct:
        _pack_weights(sf[lay.w_at:lay.w_at + k * q].reshape(k, q), w)
        row_offsets(si[:k], q)
    else:
        wq = sf[lay.w_at:lay.w_at + q * k16].reshape(q, k16)
        wq[:] = 0
        wq[:, :k] = w.reshape(q, k)
        _output_offsets(si[:p.oh * p.ow], p.oh, p.ow, p.sh, p.sw, p.nc, p.pitch)


# thread t runs samples [t S, (t + 1) S), then S (threads + t) on, ... (S: design.py's CONV_SAMPLES), with
# its own scratch ft[t]
@pjit
def _forward_parallel(out, x, w, sf, si, ft, p, lay, act):
    n, threads = p.n, ft.shape[0]
    for t in prange(threads):
        for s0 in range(t * CONV_SAMPLES, n, threads * CONV_SAMPLES):
            _forward_samples(out, x, w, sf, si, ft[t], p, lay, act, s0, min(n, s0 + CONV_SAMPLES))


@jit
def _forward(out, x, w, b, pt, lt, act, fbuf, ibuf, threads):
    p, lay = Plan(*pt), Layout(*lt)
    sf, _, ft, si, _ = split(fbuf, ibuf, lay, threads)
    _forward_setup(sf, si, w, b, p, lay)
    if threads == 1 or p.n == 1 or not parallel(p.n * p.oh * p.ow * p.nk * p.q):
        _forward_samples(out, x, w, sf, si, ft[0], p, lay, act, 0, p.n)
    else:
        _forward_parallel(out, x, w, sf, si, ft, p, lay, act)


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, sh, sw, ph, pw, act):
    check_code(act)
    pt, lt, fbuf, ibuf, threads = _call("conv2d_forward", x, w, out, sh, sw, ph, pw, False, False)
    _forward(out, x, w, b, pt, lt, act, fbuf, ibuf, threads)


# -- backward --------------------------------------------------------------------------------------

# samples [lo, hi): dout <- dz in place; the chunk's partials: dwp (Q, K16) its dw, dbp (K16,) its db;
# dx[lo:hi] unless dx is empty (no input gradient). sf and si: the shared scratch (packed weights and a one,
# offset tables); cf: the running thread's.
@jit
def _backward_samples(dx, dout, x, w, sf, si, part, cf, out, p, lay, act, lo, hi):
    h, wd, c, k, oh, ow, kh, kw, sh, sw = p.h, p.width, p.nc, p.nk, p.oh, p.ow, p.kh, p.kw, p.sh, p.sw
    direct, wp, hp, rows, qp, k16, grows = p.direct, p.wp, p.hp, p.rows, p.qp, p.k16, p.grows
    q, pitch, rp = p.q, p.pitch, rows * ow
    with_dx = dx.shape[0] > 0
    wt, ones = sf[:k * qp], sf[lay.one_at:lay.one_at + 1]
    dwp, dbp = part[:p.prow * k16], part[lay.db_at:lay.db_at + k16]
    dwp[:] = 0
    dbp[:] = 0
    cv = cf[:p.canvas]
    canvas = cv[:hp * pitch].reshape(hp, pitch)
    gf = cf[lay.g_at:lay.g_at + (0 if k16 == k else grows * ow * k16)]
    g = gf.reshape(gf.size // k16, k16)
    raw = cf[lay.raw_at:lay.raw_at + oh * ow * k]
    elements, go = si[:q], si[lay.go_at:lay.go_at + rp]
    if direct:
        gtf = cf[lay.gt_at:lay.gt_at + p.k2 * oh * wp]
        gt = gtf.reshape(p.k2, oh * wp)   # dz planar, row pitch Wp; thrown-away positions stay 0
        taps = si[lay.taps_at:lay.taps_at + p.prow]   # taps in fours, filters in pairs: less padding than 4x2
        ko = si[lay.ko_at:lay.ko_at + p.k2]
    if with_dx:
        dcv = cf[lay.dcv_at:lay.dcv_at + p.canvas]
        dcanvas = dcv[:hp * pitch].reshape(hp, pitch)
        dpf = cf[lay.dp_at:lay.dp_at + rp * qp]
        dp = dpf.reshape(rp, qp)
    for s in range(lo, hi):
        dzf = dout[s].reshape(oh * ow * k)
        raw[:] = dzf
        backward_flat(dzf, raw, out[s].reshape(oh * ow * k), act)
        dz = dout[s].reshape(oh * ow, k)
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, p.ph, p.pw, c)
        if direct:   # dw (taps, K) by dot products along the canvas's positions: long and contiguous
            _transpose(gt, dzf, oh, ow, k, wp, True)
            _row_sums(dbp, gt)
            _dot_nt(dwp.reshape(taps.size, k16), cv, taps, gtf, ko, oh * wp)
            if not with_dx:
                continue
        if with_dx:
            dcanvas[:] = 0
        for oh0 in range(0, oh, grows):   # dz rows [oh0, oh0 + nr), as (n, K16): dout itself when K16 == K
            nr = min(grows, oh - oh0)
            n = nr * ow
            if k16 == k:
                gs = dzf[oh0 * ow * k:(oh0 + nr) * ow * k]
            else:
                _load_rows(g, dz, oh0 * ow, n)
                gs = gf
            if not direct:   # dwp (Q, K16) += windows^T (Q, n) @ dz (n, K16): positions step sh pitch, sw C;
                # dbp (1, K16) += ones (1, n) @ dz (n, K16)
                gemm(dwp, k16, q, k16, cv[oh0 * sh * pitch:], elements, gs,
                     ((nr, sh * pitch, ow * k16), (ow, sw * c, k16)), True)
                gemm(dbp, k16, 1, k16, ones, go, gs, ((1, 0, 0), (n, 0, k16)), True)
            for r0 in range(0, nr if with_dx else 0, rows):   # dP (n, Qp) = dz (n, K) @ wt (K, Qp), col2im
                nr2 = min(rows, nr - r0)
                gemm(dpf, qp, nr2 * ow, qp, gs[r0 * ow * k16:], go, wt, ((1, 0, 0), (k, 1, qp)), False)
                _col2im(dp, dcanvas, oh0 + r0, nr2, ow, kh, kw, c, sh, sw)
        if with_dx:
            _read_canvas(dx[s].reshape(h, wd * c), dcanvas, hp, p.ph, p.pw, c)


# the shared scratch: packed weights and a one, then the offset tables
@jit
def _backward_setup(sf, si, w, p, lay):
    _pack_weights(sf[:p.nk * p.qp].reshape(p.nk, p.qp), w)
    sf[lay.one_at] = 1
    _window_offsets(si[:p.q], p.kh, p.kw, p.nc, p.pitch)
    row_offsets(si[lay.go_at:lay.go_at + p.rows * p.ow], p.k16)
    if p.direct:
        _tap_offsets(si[lay.taps_at:lay.taps_at + p.prow], p.kh, p.kw, p.wp)
        row_offsets(si[lay.ko_at:lay.ko_at + p.k2], p.oh * p.wp)


# dw (KH,KW,C,K) <- the sum of the chunks' dw partials (fs: one row per chunk, the dw partial (Q, K16) then
# db's at db_at) in chunk order, added into chunk 0's; db (K,) or None likewise
@jit
def _reduce_partials(dw, db, fs, k16, db_at):
    kh, kw, c, k = dw.shape
    q = kh * kw * c
    total = fs[0, :q * k16]
    for ch in range(1, fs.shape[0]):
        total += fs[ch, :q * k16]
    dwf = dw.reshape(q, k)
    for j in range(q):
        dwf[j] = total[j * k16:j * k16 + k]
    if db is not None:
        for i in range(k):
            v = fs[0, db_at + i]
            for ch in range(1, fs.shape[0]):
                v += fs[ch, db_at + i]
            db[i] = v


# thread t runs chunks t, t + threads, ... with its own scratch ft[t]; chunk ch sums into fs[ch]
@pjit
def _backward_parallel(dx, dout, x, w, sf, si, fs, ft, out, p, lay, act):
    n, chunks, threads = p.n, lay.chunks, ft.shape[0]
    for t in prange(threads):
        for ch in range(t, chunks, threads):
            lo, hi = chunk_rows(ch, chunks, n)
            _backward_samples(dx, dout, x, w, sf, si, fs[ch], ft[t], out, p, lay, act, lo, hi)


@jit
def _backward(dx, dw, db, dout, x, w, out, pt, lt, act, fbuf, ibuf, threads):
    p, lay = Plan(*pt), Layout(*lt)
    n, chunks = p.n, lay.chunks
    sf, fs, ft, si, _ = split(fbuf, ibuf, lay, threads)
    _backward_setup(sf, si, w, p, lay)
    if chunks == 1 or threads == 1:
        for ch in range(chunks):
            lo, hi = chunk_rows(ch, chunks, n)
            _backward_samples(dx, dout, x, w, sf, si, fs[ch], ft[0], out, p, lay, act, lo, hi)
    else:
        _backward_parallel(dx, dout, x, w, sf, si, fs, ft, out, p, lay, act)
    _reduce_partials(dw, db, fs, p.k16, lay.db_at)


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act):
    check_code(act)
    pt, lt, fbuf, ibuf, threads = _call("conv2d_backward", x, w, dout, sh, sw, ph, pw, True, dx is not None)
    # without dx, an empty view stands in for it (one compiled backward serves both, allocating nothing)
    _backward(x[:0] if dx is None else dx, dw, db, dout, x, w, out, pt, lt, act, fbuf, ibuf, threads)
