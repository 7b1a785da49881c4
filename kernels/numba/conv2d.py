"""2-D convolution (Numba), channels-last, bias and activation fused: the hot loops of the CNN path.

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters, OH OW output
height/width, sh sw strides, ph pw the zero padding above/left (below/right implied by the output size).
Canvas: one sample inside zeros, Hp = (OH-1) sh + KH rows of Wp = (OW-1) sw + KW pixels, just large
enough for every window (input rows/columns past it are never read, as in the reference).
Q = KH KW C (one window, unrolled as a row); T = KH KW taps; Kp = K rounded up to 8, Qp = Q up to 8.

Two algorithms, chosen by measurement (benches/bench_conv2d.py):
- direct, for C == 1 at stride 1 (the first layer on grey images): the canvas is read flat, with row
  pitch Wp, so tap (i, j) of output position o = oh Wp + ow is canvas[o + i Wp + j] and a block of output
  rows is a sum of shifted canvas slices, vectorised along the outputs. The Wp - OW positions past each
  row's end are computed and thrown away. im2row would copy KH*KW scalars per output pixel here.
- im2row otherwise: a tile of a few output rows of one sample is unrolled into P (rows*OW, Qp) and
  multiplied by register-blocked loops. Tiles belong to a chunk of samples (one thread) and are bounded
  by TILE elements, never by the batch. They, the packed weights and the weight-gradient partials are
  views of scratch kept between calls with the same shapes (_scratch.py): a training step allocates
  nothing. No BLAS: these GEMMs are thin (K = 6..64), and im2row of a whole chunk for one sgemm costs more
  than the product saves (LeNet conv2 forward, one thread: im2row of the batch then NumPy's sgemm 1.2 ms,
  this kernel 0.65 ms).
Two microkernels serve every product: _dot_nt (dot products along a contiguous axis, 4x2 blocked: the
forward GEMM and the direct dw) and _axpy_nn (rank-8 row updates: the direct forward, dw, dx).
dx: dP = dz tile @ wt (_axpy_nn), then col2im adds dP's rows into a zero canvas of the sample.
The loops index with range() counters, slice views or unsigned indices: an index that might be negative
makes Numba emit a wraparound select per element, which stops LLVM from vectorising the loop. Activations
run out of place (from a scratch block, or from a copy of dout): called in place, LLVM's runtime overlap
check fails and the element-wise loop falls back to scalar code, about 5x slower.

Parallel over fixed chunks of samples, each owned by one thread: dx needs no locks and dw/db are summed
into one partial per chunk, added in chunk order after the parallel loop. The chunks depend on the shape
only, never on the thread count, so 1 and 2 threads give bit-identical results.
"""
import numpy as np
from numba import get_num_threads

from ._chunks import parallel
from ._config import jit, pjit, prange
from ._scratch import scratch
from .activations import backward_flat, check_code, forward_flat

TILE = 1 << 13   # elements of a tile (im2row's P, the direct path's output block): 32 KiB float32, L1
CHUNKS = 16      # most sample chunks (and dw/db partials) per call


# -- microkernels ------------------------------------------------------------------------------------

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


# d (I, >=n) += a (I,J) @ rows of b: d[i, :n] += sum_j a[i, j] b[bo[j]:bo[j]+n]; b flat, any J
# Eight rows of b per pass over a row of d: each load and store of d serves eight multiply-adds
# (8 broadcasts, 8 b loads, 1 d load and store per vector); the J % 8 rows left over, one pass each.
# Measured against two rows of d by four of b (the previous kernel), rank 8 on two rows and rank 16 on one,
# in turns on LeNet's conv2 shapes: median 560 vs 733 us (dx) and 582 vs 673 us (dw); the others were
# slower than both.
@jit
def _axpy_nn(d, a, b, bo, n):
    j8 = bo.size - bo.size % 8
    for j in range(0, j8, 8):
        b0 = b[bo[j]:bo[j] + n]
        b1 = b[bo[j + 1]:bo[j + 1] + n]
        b2 = b[bo[j + 2]:bo[j + 2] + n]
        b3 = b[bo[j + 3]:bo[j + 3] + n]
        b4 = b[bo[j + 4]:bo[j + 4] + n]
        b5 = b[bo[j + 5]:bo[j + 5] + n]
        b6 = b[bo[j + 6]:bo[j + 6] + n]
        b7 = b[bo[j + 7]:bo[j + 7] + n]
        for i in range(d.shape[0]):
            a0, a1, a2, a3 = a[i, j], a[i, j + 1], a[i, j + 2], a[i, j + 3]
            a4, a5, a6, a7 = a[i, j + 4], a[i, j + 5], a[i, j + 6], a[i, j + 7]
            di = d[i]
            for q in range(n):
                di[q] += ((a0 * b0[q] + a1 * b1[q]) + (a2 * b2[q] + a3 * b3[q])) + \
                         ((a4 * b4[q] + a5 * b5[q]) + (a6 * b6[q] + a7 * b7[q]))
    for j in range(j8, bo.size):
        bj = b[bo[j]:bo[j] + n]
        for i in range(d.shape[0]):
            aij = a[i, j]
            di = d[i]
            for q in range(n):
                di[q] += aij * bj[q]


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


# im2row (scatter False): P[r] = window of output pixel r of rows [oh0, oh0+nr), KH runs of KW*C
# col2im (scatter True): the same windows of the canvas += P[r]
# Flat unsigned indices rather than a view per run: the runs are short (KW*C) and a view costs more than them.
# im2row copies each run but the last rounded up to whole vectors of 8: the extra elements come from the
# canvas's next pixels (or next row, which exists below every run but the last) and land at the start of
# the next run, which overwrites them. A 30-element run (LeNet's conv2) copied as 32 has no scalar
# remainder loop: im2row of LeNet's conv2 batch 196 -> 100 us, one thread.
@jit
def _windows(p, canvas, oh0, nr, ow, kh, kw, c, sh, sw, scatter):
    run = kw * c
    run8 = (run + 7) // 8 * 8 if run >= 4 else run   # at most run extra: only ever into the next run
    pf = p.reshape(p.size)
    cf = canvas.reshape(canvas.size)
    pitch, qp = canvas.shape[1], p.shape[1]
    for r in range(nr):
        for o in range(ow):
            for i in range(kh):
                src = ((oh0 + r) * sh + i) * pitch + o * sw * c
                dst = (r * ow + o) * qp + i * run
                if scatter:
                    for t in range(run):
                        cf[np.uintp(src + t)] += pf[np.uintp(dst + t)]
                else:
                    for t in range(run8 if i < kh - 1 else run):
                        pf[np.uintp(dst + t)] = cf[np.uintp(src + t)]


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


# g (Rp, Kp) <- rows [r0, r0+nr) of the sample's dz (R, K), padded with zeros
@jit
def _load_rows(g, dz, r0, nr):
    k = dz.shape[1]
    for r in range(g.shape[0]):
        gr = g[r]
        if r < nr:
            src = dz[r0 + r]
            for j in range(k):
                gr[j] = src[j]
        else:
            for j in range(k):
                gr[j] = 0


# sizes shared by forward and backward: direct?, Wp, Hp, rows per tile, padded tap / column counts
@jit
def _plan(x, w, oh, ow, sh, sw):
    kh, kw, c, k = w.shape
    direct = c == 1 and sh == 1 and sw == 1
    wp, hp = (ow - 1) * sw + kw, (oh - 1) * sh + kh
    q = kh * kw * c
    qp, kp = (q + 7) // 8 * 8, (k + 7) // 8 * 8
    rows = max(1, min(oh, TILE // (ow * qp)))
    if direct:
        rows = max(1, min(oh, TILE // (wp * k)))
    return direct, wp, hp, rows, qp, kp


# wt (Kp, Qp) <- wt[k, (i KW + j) C + c] = w[i, j, c, k], zero padded (the B of both GEMMs)
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


# off <- 0, step, 2 step, ...
@jit
def _strides(off, step):
    for i in range(off.size):
        off[i] = i * step


# samples per chunk, chunks for n samples and `work` multiply-adds (or elements): one chunk (serial) unless
# _chunks.parallel(work), else at most CHUNKS. The shape alone decides, never the thread count (pooling
# uses it too).
@jit
def sample_chunks(n, work):
    if not parallel(work) or n == 1:
        return n, 1
    per = (n + min(n, CHUNKS) - 1) // min(n, CHUNKS)
    return per, (n + per - 1) // per


# worker threads of a call: Numba's thread count, never more than the chunks (pooling uses it too)
def worker_threads():
    return min(get_num_threads(), CHUNKS)


# -- scratch ---------------------------------------------------------------------------------------
# A call's buffers are views of two flat scratch arrays kept by _scratch.py for the call's shapes: a float
# and an int64 one, each a part shared by the chunks, then one equal part per chunk.

# n rounded up to 16 elements: every part starts on a cache line (64 bytes of float32), as a fresh array
# would; parts packed unaligned measured 5-15% slower
@jit
def _al(n):
    return (n + 15) // 16 * 16


# (buf[at:at+n], where the next part starts): the next part of a scratch buffer
@jit
def _take(buf, at, n):
    return buf[at:at + n], at + _al(n)


# the scratch parts of a call: float shared, float per thread, float per chunk, int shared, int per
# thread; samples per chunk, chunks. Forward, shared: wt, bias (, wk); per thread: pre, then canvas and acc,
# or canvas, the im2row tile and its products; int: the tap offsets and their shifted copy, or the tile's
# row offsets and wt's. Backward, shared: wt; per chunk: dwt, dbp; per thread: g, raw, canvas, then gt
# (direct) or the tile, then dcanvas and dP (with dx); int: taps and gt's row offsets (direct) or the
# tile's, then wt's (with dx).
# A thread's part serves every chunk it runs, so it stays in cache from one chunk to the next; a part per
# chunk (16 of them, each cold when its chunk starts) measured 15-22% slower in a LeNet-5 epoch than fresh
# allocations, which malloc hands back hot. Only the partial sums, which must not depend on the thread
# count, are per chunk.
@jit
def _layout(x, w, oh, ow, sh, sw, backward, with_dx):
    n = x.shape[0]
    kh, kw, c, k = w.shape
    direct, wp, hp, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    per, chunks = sample_chunks(n, n * oh * ow * k * kh * kw * c)
    canvas = _al((hp + 1) * wp if direct else hp * wp * c)
    if not backward:
        taps, rp = kh * kw, (rows * ow + 3) // 4 * 4
        if direct:
            return (_al(kp * qp) + _al(k) + _al(k * taps), _al(rows * ow * k) + canvas + _al(k * rows * wp), 0,
                    _al(taps), _al(taps), per, chunks)
        return (_al(kp * qp) + _al(k), _al(rows * ow * k) + canvas + _al(rp * qp) + _al(rp * kp), 0,
                _al(rp) + _al(kp), 0, per, chunks)
    rp = rows * ow
    chunk = _al(rp * kp) + _al(oh * ow * k) + canvas
    ishared = 0
    if direct:
        k2 = (k + 1) // 2 * 2
        chunk += _al(k2 * oh * wp)
        ishared += _al((kh * kw + 3) // 4 * 4) + _al(k2)
    else:
        chunk += _al(rp * qp)
        ishared += _al(rp)
    if with_dx:
        chunk += canvas + _al(rp * qp)
        ishared += _al(kp)
    return _al(kp * qp), chunk, _al(kp * qp) + _al(kp), ishared, 0, per, chunks


# elements of the two scratch buffers, their int type: _scratch.scratch's `sizes`
def _scratch_sizes(x, w, oh, ow, sh, sw, backward, with_dx, threads):
    shared, thread, chunk, ishared, ithread, _, chunks = _layout(x, w, oh, ow, sh, sw, backward, with_dx)
    return shared + chunks * chunk + threads * thread, ishared + threads * ithread, np.int64


# the float and int scratch of a call, and the threads it runs on (one per chunk at most)
def _call_scratch(name, x, w, out, sh, sw, ph, pw, backward, with_dx):
    oh, ow = out.shape[1], out.shape[2]
    threads = worker_threads()
    key = (name, x.shape, w.shape, out.shape, sh, sw, ph, pw, x.dtype.char, with_dx, threads)
    return (*scratch(key, _scratch_sizes, x, w, oh, ow, sh, sw, backward, with_dx, threads), threads)


# -- forward ---------------------------------------------------------------------------------------

# samples [lo, hi): out (N,OH,OW,K) = act(conv(x, w) + bias). sf/si: the shared scratch (wt, bias, wk /
# offsets), cf/ci: the running thread's.
@jit
def _forward_chunk(out, x, w, sf, si, cf, ci, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = out.shape
    direct, wp, hp, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    wt, at = _take(sf, 0, kp * qp)
    bias, at = _take(sf, at, k)
    pre, ac = _take(cf, 0, rows * ow * k)   # a block before the activation, which runs out of place
    if direct:
        taps = kh * kw
        wk = sf[at:at + k * taps].reshape(k, taps)   # wk[k, tap]
        off, bo = si[:taps], ci[:taps]
        # flat canvas with one spare row: the thrown-away positions of the last row read past Hp
        flat, ac = _take(cf, ac, (hp + 1) * wp)
        canvas = flat.reshape(hp + 1, wp)
        acc = cf[ac:ac + k * rows * wp].reshape(k, rows * wp)
    else:
        rp = (rows * ow + 3) // 4 * 4
        cv, ac = _take(cf, ac, hp * wp * c)
        canvas = cv.reshape(hp, wp * c)
        pflat, ac = _take(cf, ac, rp * qp)
        p = pflat.reshape(rp, qp)
        res = cf[ac:ac + rp * kp].reshape(rp, kp)
        ao, bo = si[:rp], si[_al(rp):_al(rp) + kp]
    for s in range(lo, hi):
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, ph, pw, c)
        os = out[s].reshape(oh * ow * k)
        for oh0 in range(0, oh, rows):
            nr = min(rows, oh - oh0)
            block = os[oh0 * ow * k:(oh0 + nr) * ow * k]
            if direct:
                n = nr * wp
                for i in range(k):
                    acc[i, :n] = bias[i]
                for t in range(off.size):
                    bo[t] = off[t] + oh0 * wp
                _axpy_nn(acc, wk, flat, bo, n)
                src = pre[:block.size]
                _transpose(acc, src, nr, ow, k, wp, False)
            else:
                n = nr * ow
                n4 = (n + 3) // 4 * 4
                _windows(p, canvas, oh0, nr, ow, kh, kw, c, sh, sw, False)
                for r in range(n4):
                    rr = res[r]
                    for i in range(k):
                        rr[i] = bias[i]
                _dot_nt(res, pflat, ao[:n4], wt.reshape(wt.size), bo, qp)
                if kp == k:   # res[:n] is laid out as the block
                    src = res[:n].reshape(n * k)
                else:
                    src = pre[:block.size]
                    for r in range(n):
                        for i in range(k):
                            src[r * k + i] = res[r, i]
            forward_flat(block, src, act)


# the shared scratch: packed weights, the bias (zeros when b is None), wk or the offset tables
@jit
def _forward_setup(sf, si, x, w, b, oh, ow, sh, sw):
    kh, kw, c, k = w.shape
    direct, wp, _, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    wt, at = _take(sf, 0, kp * qp)
    wt = wt.reshape(kp, qp)
    _pack_weights(wt, w)
    bias, at = _take(sf, at, k)
    bias[:] = 0
    if b is not None:
        bias[:] = b
    if direct:
        taps = kh * kw
        wk = sf[at:at + k * taps].reshape(k, taps)
        wk[:] = 0
        wk[:, :kh * kw] = wt[:k, :kh * kw]
        _tap_offsets(si[:taps], kh, kw, wp)
    else:
        rp = (rows * ow + 3) // 4 * 4
        _strides(si[:rp], qp)
        _strides(si[_al(rp):_al(rp) + kp], qp)


# thread t runs chunks t, t + threads, ... with its own scratch ft[t], it[t]
@pjit
def _forward_parallel(out, x, w, sf, si, ft, it, sh, sw, ph, pw, act, per, chunks):
    n, threads = x.shape[0], ft.shape[0]
    for t in prange(threads):
        for ch in range(t, chunks, threads):
            _forward_chunk(out, x, w, sf, si, ft[t], it[t], sh, sw, ph, pw, act, ch * per, min(n, (ch + 1) * per))


@jit
def _forward(out, x, w, b, sh, sw, ph, pw, act, fbuf, ibuf, threads):
    _, oh, ow, _ = out.shape
    shared, thread, _, ishared, ithread, per, chunks = _layout(x, w, oh, ow, sh, sw, False, False)
    sf, si = fbuf[:shared], ibuf[:ishared]
    ft = fbuf[shared:shared + threads * thread].reshape(threads, thread)
    it = ibuf[ishared:ishared + threads * ithread].reshape(threads, ithread)
    _forward_setup(sf, si, x, w, b, oh, ow, sh, sw)
    if chunks == 1 or threads == 1:
        _forward_chunk(out, x, w, sf, si, ft[0], it[0], sh, sw, ph, pw, act, 0, x.shape[0])
    else:
        _forward_parallel(out, x, w, sf, si, ft, it, sh, sw, ph, pw, act, per, chunks)


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, sh, sw, ph, pw, act):
    check_code(act)
    fbuf, ibuf, threads = _call_scratch("conv2d_forward", x, w, out, sh, sw, ph, pw, False, False)
    _forward(out, x, w, b, sh, sw, ph, pw, act, fbuf, ibuf, threads)


# -- backward --------------------------------------------------------------------------------------

# samples [lo, hi): dout <- dz in place; the chunk's partial: dwt (Kp,Qp) and dbp (Kp,) <- its dw laid out
# as wt and db; dx[lo:hi] unless dx is empty (no input gradient). wt and si: the shared scratch (packed
# weights, offset tables); cf: the running thread's.
@jit
def _backward_chunk(dx, dout, x, w, wt, si, part, cf, out, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = dout.shape
    direct, wp, hp, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    rp = rows * ow
    with_dx = dx.shape[0] > 0
    dwf, at = _take(part, 0, kp * qp)
    dwt = dwf.reshape(kp, qp)
    dbp = part[at:at + kp]
    dwt[:] = 0
    dbp[:] = 0
    gf, at = _take(cf, 0, rp * kp)
    g = gf.reshape(rp, kp)
    raw, at = _take(cf, at, oh * ow * k)
    if direct:
        cv, at = _take(cf, at, (hp + 1) * wp)
        canvas = cv.reshape(hp + 1, wp)
        k2 = (k + 1) // 2 * 2
        gtf, at = _take(cf, at, k2 * oh * wp)
        gt = gtf.reshape(k2, oh * wp)   # dz planar, row pitch Wp; thrown-away positions stay 0
        ntaps = (kh * kw + 3) // 4 * 4   # taps in fours, filters in pairs: less padding than 4x2
        taps, it = _take(si, 0, ntaps)
        ko, it = _take(si, it, k2)
    else:
        cv, at = _take(cf, at, hp * wp * c)
        canvas = cv.reshape(hp, wp * c)
        pflat, at = _take(cf, at, rp * qp)
        p = pflat.reshape(rp, qp)
        ro, it = _take(si, 0, rp)
    if with_dx:
        dcv, at = _take(cf, at, canvas.size)
        dcanvas = dcv.reshape(canvas.shape)
        dp = cf[at:at + rp * qp].reshape(rp, qp)
        wo = si[it:it + kp]
        wflat = wt.reshape(wt.size)
    for s in range(lo, hi):
        dzf = dout[s].reshape(oh * ow * k)
        raw[:] = dzf
        backward_flat(dzf, raw, out[s].reshape(oh * ow * k), act)
        dz = dout[s].reshape(oh * ow, k)
        _fill_canvas(canvas, x[s].reshape(h, wd * c), hp, ph, pw, c)
        if direct:
            _transpose(gt, dzf, oh, ow, k, wp, True)
            _row_sums(dbp, gt)
            _dot_nt(dwt.T, canvas.reshape(canvas.size), taps, gt.reshape(gt.size), ko, oh * wp)
            if not with_dx:
                continue
        if with_dx:
            dcanvas[:] = 0
        for oh0 in range(0, oh, rows):
            nr = min(rows, oh - oh0)
            n = nr * ow
            _load_rows(g, dz, oh0 * ow, n)
            if not direct:
                _row_sums(dbp, g.T)
                _windows(p, canvas, oh0, nr, ow, kh, kw, c, sh, sw, False)
                _axpy_nn(dwt, g.T, pflat, ro[:n], qp)
            if with_dx:
                dp[:n] = 0
                _axpy_nn(dp[:n], g, wflat, wo, qp)
                _windows(dp, dcanvas, oh0, nr, ow, kh, kw, c, sh, sw, True)
        if with_dx:
            _read_canvas(dx[s].reshape(h, wd * c), dcanvas, hp, ph, pw, c)


# the shared scratch: packed weights, then the offset tables
@jit
def _backward_setup(sf, si, x, w, oh, ow, sh, sw, with_dx):
    kh, kw, c, k = w.shape
    direct, wp, _, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    _pack_weights(sf.reshape(kp, qp), w)
    if direct:
        ntaps, k2 = (kh * kw + 3) // 4 * 4, (k + 1) // 2 * 2
        taps, it = _take(si, 0, ntaps)
        ko, it = _take(si, it, k2)
        _tap_offsets(taps, kh, kw, wp)
        _strides(ko, oh * wp)
    else:
        ro, it = _take(si, 0, rows * ow)
        _strides(ro, qp)
    if with_dx:
        _strides(si[it:it + kp], qp)


# dw (KH,KW,C,K) <- the sum of the chunks' dwt (fs: the partials, one row per chunk) in chunk order, added
# into chunk 0's; db (K,) or None likewise
@jit
def _reduce_partials(dw, db, fs):
    kh, kw, c, k = dw.shape
    q = kh * kw * c
    kp, qp = (k + 7) // 8 * 8, (q + 7) // 8 * 8
    total = fs[0, :kp * qp]
    for ch in range(1, fs.shape[0]):
        total += fs[ch, :kp * qp]
    at = _al(kp * qp)   # dbp
    dwf = dw.reshape(q, k)
    for j in range(q):
        for i in range(k):
            dwf[j, i] = total[i * qp + j]
    if db is not None:
        for i in range(k):
            v = fs[0, at + i]
            for ch in range(1, fs.shape[0]):
                v += fs[ch, at + i]
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
    shared, thread, chunk, ishared, _, per, chunks = _layout(x, w, oh, ow, sh, sw, True, with_dx)
    wt, si = fbuf[:shared], ibuf[:ishared]
    fs = fbuf[shared:shared + chunks * chunk].reshape(chunks, chunk)
    at = shared + chunks * chunk
    ft = fbuf[at:at + threads * thread].reshape(threads, thread)
    _backward_setup(wt, si, x, w, oh, ow, sh, sw, with_dx)
    if chunks == 1 or threads == 1:
        for ch in range(chunks):
            _backward_chunk(dx, dout, x, w, wt, si, fs[ch], ft[0], out, sh, sw, ph, pw, act, ch * per,
                            min(x.shape[0], (ch + 1) * per))
    else:
        _backward_parallel(dx, dout, x, w, wt, si, fs, ft, out, sh, sw, ph, pw, act, per, chunks)
    _reduce_partials(dw, db, fs)


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act):
    check_code(act)
    fbuf, ibuf, threads = _call_scratch("conv2d_backward", x, w, dout, sh, sw, ph, pw, True, dx is not None)
    # without dx, an empty view stands in for it (one compiled backward serves both, allocating nothing)
    _backward(x[:0] if dx is None else dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act, fbuf, ibuf, threads)
