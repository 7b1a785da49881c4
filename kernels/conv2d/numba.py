"""2-D convolution (Numba), channels-last, bias and activation fused: the hot loops of the CNN path.

Legend, the canvas, Q, Qp, K16 and every size of a call: plan.py (the Plan both backends share).

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

Parallel over fixed chunks of samples, each owned by one thread: dx needs no locks and dw/db are summed
into one partial per chunk, added in chunk order after the parallel loop. The chunks depend on the shape
only, never on the thread count, so 1 and 2 threads give bit-identical results.
"""
import numpy as np

from .._numba.chunks import aligned, parallel, sample_chunks, take, worker_threads
from .._numba.config import jit, pjit, prange
from .._numba.gemm import gemm, padded
from .plan import conv2d_plan
from .._scratch import scratch
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


# sums (>=J,) += the column sums of a[:n] (n, J)
@jit
def _col_sums(sums, a, n):
    for r in range(n):
        ar = a[r]
        for j in range(ar.size):
            sums[j] += ar[j]


# g[:nr, :K] <- rows [r0, r0+nr) of the sample's dz (R, K); g's columns past K are never written (zeros)
@jit
def _load_rows(g, dz, r0, nr):
    k = dz.shape[1]
    for r in range(nr):
        gr, src = g[r], dz[r0 + r]
        for j in range(k):
            gr[j] = src[j]


_conv2d_plan = jit(conv2d_plan)


# the call's Plan (plan.py): x (N,H,W,C), w (KH,KW,C,K), an OH x OW output
@jit
def _plan(x, w, oh, ow, sh, sw, ph, pw):
    n, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    return _conv2d_plan(n, h, wd, c, kh, kw, k, oh, ow, sh, sw, ph, pw)


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


# off <- 0, step, 2 step, ...
@jit
def _strides(off, step):
    for i in range(off.size):
        off[i] = i * step


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
# A call's buffers are views of two flat scratch arrays kept by kernels/_scratch.py for the call's shapes: a float
# and an int64 one, each a part shared by the chunks, then one equal part per chunk.

# the scratch parts of a call: float shared, float per thread, float per chunk, int shared; samples per chunk,
# chunks. Forward, shared: bias, then wk (planar) or W; per thread: pre, canvas, then acc (planar) or the
# output block; int: the filters' offsets in wk, or the outputs' in the canvas. Backward, shared: wt; per
# chunk: the dw partial and db's; per thread: g, raw, canvas, gt (first layer), then dcanvas and dP (with
# dx); int: the window elements' offsets, g's rows', then the taps' and gt's rows' (first layer).
# A thread's part serves every chunk it runs, so it stays in cache from one chunk to the next; a part per
# chunk (16 of them, each cold when its chunk starts) measured 15-22% slower in a LeNet-5 epoch than fresh
# allocations, which malloc hands back hot. Only the partial sums, which must not depend on the thread
# count, are per chunk.
@jit
def _layout(x, w, oh, ow, sh, sw, ph, pw, backward, with_dx):
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    k, q, k16 = p.nk, p.q, p.k16
    per, chunks = sample_chunks(p.n, p.n * oh * ow * k * q)
    canvas = aligned(p.canvas)
    if not backward:
        thread = aligned(p.frows * ow * k) + canvas
        if p.direct:
            return aligned(k16) + aligned(k * q), thread + aligned(k * p.apitch), 0, aligned(k), per, chunks
        return aligned(k16) + aligned(q * k16), thread + aligned(p.frows * ow * k16), 0, aligned(oh * ow), per, chunks
    rp = p.rows * ow
    thread = aligned(p.grows * ow * k16) + aligned(oh * ow * k) + canvas
    ishared = aligned(q) + aligned(rp)
    if p.direct:
        thread += aligned(p.k2 * oh * p.wp)
        ishared += aligned(p.prow) + aligned(p.k2)
    if with_dx:
        thread += canvas + aligned(rp * p.qp)
    return aligned(k * p.qp), thread, aligned(p.prow * k16) + aligned(k16), ishared, per, chunks


# elements of the two scratch buffers, their int type: _scratch.scratch's `sizes`
def _scratch_sizes(x, w, oh, ow, sh, sw, ph, pw, backward, with_dx, threads):
    shared, thread, chunk, ishared, _, chunks = _layout(x, w, oh, ow, sh, sw, ph, pw, backward, with_dx)
    return shared + chunks * chunk + threads * thread, ishared, np.int64


# the float and int scratch of a call, and the threads it runs on (one per chunk at most)
def _call_scratch(name, x, w, out, sh, sw, ph, pw, backward, with_dx):
    oh, ow = out.shape[1], out.shape[2]
    threads = worker_threads()
    key = (name, x.shape, w.shape, out.shape, sh, sw, ph, pw, x.dtype.char, with_dx, threads)
    return (*scratch(key, _scratch_sizes, x, w, oh, ow, sh, sw, ph, pw, backward, with_dx, threads), threads)


# -- forward ---------------------------------------------------------------------------------------

# samples [lo, hi): out (N,OH,OW,K) = act(conv(x, w) + bias). sf/si: the shared scratch (bias, then wk or W;
# their row offsets), cf: the running thread's.
@jit
def _forward_chunk(out, x, w, sf, si, cf, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = out.shape
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    direct, wp, hp, frows, k16, q, pitch, run = p.direct, p.wp, p.hp, p.frows, p.k16, p.q, p.pitch, p.run
    bias, at = take(sf, 0, k16)
    pre, ac = take(cf, 0, frows * ow * k)   # a block before the activation, which runs out of place
    cv, ac = take(cf, ac, p.canvas)
    canvas = cv[:hp * pitch].reshape(hp, pitch)
    if direct:
        wk = sf[at:at + k * kh * kw]   # wk[k, tap]
        apitch = p.apitch
        accf = cf[ac:ac + k * apitch]
        acc = accf.reshape(k, apitch)
    else:
        wq = sf[at:at + q * k16]   # W (Q, K16): w's rows, zero padded to K16 filters
        resf = cf[ac:ac + frows * ow * k16]
        res = resf.reshape(frows * ow, k16)
    for s in range(lo, hi):
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, ph, pw, c)
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
def _forward_setup(sf, si, x, w, b, oh, ow, sh, sw, ph, pw):
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    c, k, k16, q = p.nc, p.nk, p.k16, p.q
    bias, at = take(sf, 0, k16)
    bias[:] = 0
    if b is not None:
        bias[:k] = b
    if p.direct:
        _pack_weights(sf[at:at + k * q].reshape(k, q), w)
        _strides(si[:k], q)
    else:
        wq = sf[at:at + q * k16].reshape(q, k16)
        wq[:] = 0
        wq[:, :k] = w.reshape(q, k)
        _output_offsets(si[:oh * ow], oh, ow, sh, sw, c, p.pitch)


# thread t runs chunks t, t + threads, ... with its own scratch ft[t]
@pjit
def _forward_parallel(out, x, w, sf, si, ft, sh, sw, ph, pw, act, per, chunks):
    n, threads = x.shape[0], ft.shape[0]
    for t in prange(threads):
        for ch in range(t, chunks, threads):
            _forward_chunk(out, x, w, sf, si, ft[t], sh, sw, ph, pw, act, ch * per, min(n, (ch + 1) * per))


@jit
def _forward(out, x, w, b, sh, sw, ph, pw, act, fbuf, ibuf, threads):
    _, oh, ow, _ = out.shape
    shared, thread, _, ishared, per, chunks = _layout(x, w, oh, ow, sh, sw, ph, pw, False, False)
    sf, si = fbuf[:shared], ibuf[:ishared]
    ft = fbuf[shared:shared + threads * thread].reshape(threads, thread)
    _forward_setup(sf, si, x, w, b, oh, ow, sh, sw, ph, pw)
    if chunks == 1 or threads == 1:
        _forward_chunk(out, x, w, sf, si, ft[0], sh, sw, ph, pw, act, 0, x.shape[0])
    else:
        _forward_parallel(out, x, w, sf, si, ft, sh, sw, ph, pw, act, per, chunks)


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, sh, sw, ph, pw, act):
    check_code(act)
    fbuf, ibuf, threads = _call_scratch("conv2d_forward", x, w, out, sh, sw, ph, pw, False, False)
    _forward(out, x, w, b, sh, sw, ph, pw, act, fbuf, ibuf, threads)


# -- backward --------------------------------------------------------------------------------------

# samples [lo, hi): dout <- dz in place; the chunk's partials: dwp (Q, K16) its dw, dbp (K16,) its db;
# dx[lo:hi] unless dx is empty (no input gradient). wt and si: the shared scratch (packed weights, offset
# tables); cf: the running thread's.
@jit
def _backward_chunk(dx, dout, x, w, wt, si, part, cf, out, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = dout.shape
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    direct, wp, hp, rows, qp, k16, grows = p.direct, p.wp, p.hp, p.rows, p.qp, p.k16, p.grows
    q, pitch, rp = p.q, p.pitch, rows * ow
    with_dx = dx.shape[0] > 0
    dwp, at = take(part, 0, p.prow * k16)
    dbp = part[at:at + k16]
    dwp[:] = 0
    dbp[:] = 0
    gf, at = take(cf, 0, grows * ow * k16)
    g = gf.reshape(grows * ow, k16)
    raw, at = take(cf, at, oh * ow * k)
    cv, at = take(cf, at, p.canvas)
    canvas = cv[:hp * pitch].reshape(hp, pitch)
    elements, it = take(si, 0, q)
    go, it = take(si, it, rp)
    if direct:
        gtf, at = take(cf, at, p.k2 * oh * wp)
        gt = gtf.reshape(p.k2, oh * wp)   # dz planar, row pitch Wp; thrown-away positions stay 0
        taps, it = take(si, it, p.prow)   # taps in fours, filters in pairs: less padding than 4x2
        ko = si[it:it + p.k2]
    if with_dx:
        dcv, at = take(cf, at, cv.size)
        dcanvas = dcv[:hp * pitch].reshape(hp, pitch)
        dpf = cf[at:at + rp * qp]
        dp = dpf.reshape(rp, qp)
    for s in range(lo, hi):
        dzf = dout[s].reshape(oh * ow * k)
        raw[:] = dzf
        backward_flat(dzf, raw, out[s].reshape(oh * ow * k), act)
        dz = dout[s].reshape(oh * ow, k)
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, ph, pw, c)
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
            if not direct:   # dwp (Q, K16) += windows^T (Q, n) @ dz (n, K16): positions step sh pitch, sw C
                _col_sums(dbp, gs.reshape(gs.size // k16, k16), n)
                gemm(dwp, k16, q, k16, cv[oh0 * sh * pitch:], elements, gs,
                     ((nr, sh * pitch, ow * k16), (ow, sw * c, k16)), True)
            for r0 in range(0, nr if with_dx else 0, rows):   # dP (n, Qp) = dz (n, K) @ wt (K, Qp), col2im
                nr2 = min(rows, nr - r0)
                gemm(dpf, qp, nr2 * ow, qp, gs[r0 * ow * k16:], go, wt, ((1, 0, 0), (k, 1, qp)), False)
                _col2im(dp, dcanvas, oh0 + r0, nr2, ow, kh, kw, c, sh, sw)
        if with_dx:
            _read_canvas(dx[s].reshape(h, wd * c), dcanvas, hp, ph, pw, c)


# the shared scratch: packed weights, then the offset tables
@jit
def _backward_setup(sf, si, x, w, oh, ow, sh, sw, ph, pw):
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    _pack_weights(sf[:p.nk * p.qp].reshape(p.nk, p.qp), w)
    elements, it = take(si, 0, p.q)
    _window_offsets(elements, p.kh, p.kw, p.nc, p.pitch)
    go, it = take(si, it, p.rows * ow)
    _strides(go, p.k16)
    if p.direct:
        taps, it = take(si, it, p.prow)
        _tap_offsets(taps, p.kh, p.kw, p.wp)
        _strides(si[it:it + p.k2], oh * p.wp)


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
def _backward_parallel(dx, dout, x, w, wt, si, fs, ft, out, sh, sw, ph, pw, act, per, chunks):
    n, threads = x.shape[0], ft.shape[0]
    for t in prange(threads):
        for ch in range(t, chunks, threads):
            _backward_chunk(dx, dout, x, w, wt, si, fs[ch], ft[t], out, sh, sw, ph, pw, act, ch * per,
                            min(n, (ch + 1) * per))


@jit
def _backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act, fbuf, ibuf, threads):
    _, oh, ow, k = dout.shape
    with_dx = dx.shape[0] > 0
    shared, thread, chunk, ishared, per, chunks = _layout(x, w, oh, ow, sh, sw, ph, pw, True, with_dx)
    wt, si = fbuf[:shared], ibuf[:ishared]
    fs = fbuf[shared:shared + chunks * chunk].reshape(chunks, chunk)
    at = shared + chunks * chunk
    ft = fbuf[at:at + threads * thread].reshape(threads, thread)
    _backward_setup(wt, si, x, w, oh, ow, sh, sw, ph, pw)
    if chunks == 1 or threads == 1:
        for ch in range(chunks):
            _backward_chunk(dx, dout, x, w, wt, si, fs[ch], ft[0], out, sh, sw, ph, pw, act, ch * per,
                            min(x.shape[0], (ch + 1) * per))
    else:
        _backward_parallel(dx, dout, x, w, wt, si, fs, ft, out, sh, sw, ph, pw, act, per, chunks)
    p = _plan(x, w, oh, ow, sh, sw, ph, pw)
    _reduce_partials(dw, db, fs, p.k16, aligned(p.prow * p.k16))


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act):
    check_code(act)
    fbuf, ibuf, threads = _call_scratch("conv2d_backward", x, w, dout, sh, sw, ph, pw, True, dx is not None)
    # without dx, an empty view stands in for it (one compiled backward serves both, allocating nothing)
    _backward(x[:0] if dx is None else dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act, fbuf, ibuf, threads)
