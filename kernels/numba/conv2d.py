"""2-D convolution (Numba), channels-last, bias and activation fused: the hot loops of the CNN path.

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters, OH OW output
height/width, sh sw strides, ph pw the zero padding above/left (below/right implied by the output size).
Canvas: one sample inside zeros, Hp = (OH-1) sh + KH rows of Wp = (OW-1) sw + KW pixels, just large
enough for every window (input rows/columns past it are never read, as in the reference).
Q = KH KW C (one window, unrolled as a row); T = KH KW taps; Kp = K rounded up to 4, Qp = Q up to 8.

Two algorithms, chosen by measurement (benches/bench_conv2d.py):
- direct, for C == 1 at stride 1 (the first layer on grey images): the canvas is read flat, with row
  pitch Wp, so tap (i, j) of output position o = oh Wp + ow is canvas[o + i Wp + j] and a block of output
  rows is a sum of shifted canvas slices, vectorised along the outputs. The Wp - OW positions past each
  row's end are computed and thrown away. im2row would copy KH*KW scalars per output pixel here.
- im2row otherwise: a tile of a few output rows of one sample is unrolled into P (rows*OW, Qp) and
  multiplied by register-blocked loops. Tiles belong to a chunk of samples (one thread) and are bounded
  by TILE elements, never by the batch. No BLAS: these GEMMs are thin (K = 6..64) and would run inside prange, oversubscribing cores.
Two microkernels serve every product: _dot_nt (dot products along a contiguous axis, 4x2 blocked: the
forward GEMM and the direct dw) and _axpy_nn (rank-4 row updates: the direct forward, dw, dx).
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

from ._chunks import parallel
from ._config import jit, pjit, prange
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


# d (I, >=n) += a (I,J) @ rows of b: d[i, :n] += sum_j a[i, j] b[bo[j]:bo[j]+n]; b flat
# I even, bo.size % 4 == 0. Two rows of d times four rows of b per pass: each load or store of d serves
# four multiply-adds, each load of b two (2x4 fits AVX2's 16 registers: 8 broadcasts, 4 b, 2 d).
@jit
def _axpy_nn(d, a, b, bo, n):
    for j in range(0, bo.size, 4):
        b0 = b[bo[j]:bo[j] + n]
        b1 = b[bo[j + 1]:bo[j + 1] + n]
        b2 = b[bo[j + 2]:bo[j + 2] + n]
        b3 = b[bo[j + 3]:bo[j + 3] + n]
        for i in range(0, d.shape[0], 2):
            a0, a1, a2, a3 = a[i, j], a[i, j + 1], a[i, j + 2], a[i, j + 3]
            c0, c1, c2, c3 = a[i + 1, j], a[i + 1, j + 1], a[i + 1, j + 2], a[i + 1, j + 3]
            d0 = d[i]
            d1 = d[i + 1]
            for q in range(n):
                x0, x1, x2, x3 = b0[q], b1[q], b2[q], b3[q]
                d0[q] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                d1[q] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3


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
@jit
def _windows(p, canvas, oh0, nr, ow, kh, kw, c, sh, sw, scatter):
    run = kw * c
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
                    for t in range(run):
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
    qp, kp = (q + 7) // 8 * 8, (k + 3) // 4 * 4
    rows = max(1, min(oh, TILE // (ow * qp)))
    if direct:
        rows = max(1, min(oh, TILE // (wp * k)))
    return direct, wp, hp, rows, qp, kp


# wt (Kp, Qp): wt[k, (i KW + j) C + c] = w[i, j, c, k], zero padded (the B of both GEMMs)
@jit
def _pack_weights(w, kp, qp):
    kh, kw, c, k = w.shape
    q = kh * kw * c
    wt = np.zeros((kp, qp), w.dtype)
    wf = w.reshape(q, k)
    for j in range(q):
        for i in range(k):
            wt[i, j] = wf[j, i]
    return wt


# offsets of the KH*KW taps in the flat canvas, padded with zeros to a multiple of `mult`
@jit
def _tap_offsets(kh, kw, wp, mult):
    t = kh * kw
    off = np.zeros((t + mult - 1) // mult * mult, np.int64)
    for i in range(kh):
        for j in range(kw):
            off[i * kw + j] = i * wp + j
    return off


# samples per chunk, chunks for n samples and `work` multiply-adds (or elements): one chunk (serial) unless
# _chunks.parallel(work), else at most CHUNKS. The shape alone decides, never the thread count (pooling
# uses it too).
@jit
def sample_chunks(n, work):
    if not parallel(work) or n == 1:
        return n, 1
    per = (n + min(n, CHUNKS) - 1) // min(n, CHUNKS)
    return per, (n + per - 1) // per


# -- forward ---------------------------------------------------------------------------------------

# samples [lo, hi): out (N,OH,OW,K) = act(conv(x, w) + bias)
@jit
def _forward_chunk(out, x, w, wt, bias, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = out.shape
    direct, wp, hp, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    if direct:
        # flat canvas with one spare row: the thrown-away positions of the last row read past Hp
        canvas = np.zeros((hp + 1, wp), x.dtype)
        flat = canvas.reshape(canvas.size)
        off = _tap_offsets(kh, kw, wp, 4)
        bo = np.empty_like(off)
        k2 = (k + 1) // 2 * 2                    # _axpy_nn updates rows in pairs
        wk = np.zeros((k2, off.size), x.dtype)   # wk[k, tap], zero for the padding taps and filter
        wk[:, :kh * kw] = wt[:k2, :kh * kw]
        acc = np.zeros((k2, rows * wp), x.dtype)
    else:
        canvas = np.zeros((hp, wp * c), x.dtype)
        rp = (rows * ow + 3) // 4 * 4
        p = np.zeros((rp, qp), x.dtype)
        res = np.empty((rp, kp), x.dtype)
        ao = np.arange(rp) * qp
        bo = np.arange(kp) * qp
        wflat = wt.reshape(wt.size)
        pflat = p.reshape(p.size)
    pre = np.empty(rows * ow * k, x.dtype)   # a block before the activation, which runs out of place
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
                _dot_nt(res, pflat, ao[:n4], wflat, bo, qp)
                if kp == k:   # res[:n] is laid out as the block
                    src = res[:n].reshape(n * k)
                else:
                    src = pre[:block.size]
                    for r in range(n):
                        for i in range(k):
                            src[r * k + i] = res[r, i]
            forward_flat(block, src, act)


# packed weights (Kp,Qp), the bias (zeros when b is None), samples per chunk, chunks
@jit
def _forward_setup(out, x, w, b, sh, sw):
    n, oh, ow, k = out.shape
    _, _, _, _, qp, kp = _plan(x, w, oh, ow, sh, sw)
    bias = np.zeros(k, x.dtype)
    if b is not None:
        bias[:] = b
    per, chunks = sample_chunks(n, n * oh * ow * k * w.shape[0] * w.shape[1] * w.shape[2])
    return _pack_weights(w, kp, qp), bias, per, chunks


@pjit
def _forward_parallel(out, x, w, wt, bias, sh, sw, ph, pw, act, per, chunks):
    n = x.shape[0]
    for ch in prange(chunks):
        _forward_chunk(out, x, w, wt, bias, sh, sw, ph, pw, act, ch * per, min(n, (ch + 1) * per))


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
@jit
def conv2d_forward(out, x, w, b, sh, sw, ph, pw, act):
    check_code(act)
    wt, bias, per, chunks = _forward_setup(out, x, w, b, sh, sw)
    if chunks == 1:
        _forward_chunk(out, x, w, wt, bias, sh, sw, ph, pw, act, 0, x.shape[0])
    else:
        _forward_parallel(out, x, w, wt, bias, sh, sw, ph, pw, act, per, chunks)


# -- backward --------------------------------------------------------------------------------------

# samples [lo, hi): dout <- dz in place; dwt (Kp,Qp) += dw laid out as wt; dbp (Kp,) += db;
# dx[lo:hi] unless dx is empty (no input gradient)
@jit
def _backward_chunk(dx, dwt, dbp, dout, x, w, wt, out, sh, sw, ph, pw, act, lo, hi):
    _, h, wd, c = x.shape
    kh, kw, _, k = w.shape
    _, oh, ow, _ = dout.shape
    direct, wp, hp, rows, qp, kp = _plan(x, w, oh, ow, sh, sw)
    rp = (rows * ow + 3) // 4 * 4
    g = np.zeros((rp, kp), x.dtype)
    if direct:
        canvas = np.zeros((hp + 1, wp), x.dtype)
        k2 = (k + 1) // 2 * 2
        gt = np.zeros((k2, oh * wp), x.dtype)   # dz planar, row pitch Wp; thrown-away positions stay 0
        taps = _tap_offsets(kh, kw, wp, 4)      # taps in fours, filters in pairs: less padding than 4x2
        ko = np.arange(k2) * (oh * wp)
    else:
        canvas = np.zeros((hp, wp * c), x.dtype)
        p = np.zeros((rp, qp), x.dtype)
        ro = np.arange(rp) * qp
    with_dx = dx.shape[0] > 0
    if with_dx:
        dcanvas = np.zeros(canvas.shape, x.dtype)
        dp = np.empty((rp, qp), x.dtype)
        wo = np.arange(kp) * qp
        wflat = wt.reshape(wt.size)
    raw = np.empty(oh * ow * k, x.dtype)
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
        else:
            pflat = p.reshape(p.size)
        if with_dx:
            dcanvas[:] = 0
        for oh0 in range(0, oh, rows):
            nr = min(rows, oh - oh0)
            n4 = (nr * ow + 3) // 4 * 4
            _load_rows(g, dz, oh0 * ow, nr * ow)
            if not direct:
                _row_sums(dbp, g.T)
                _windows(p, canvas, oh0, nr, ow, kh, kw, c, sh, sw, False)
                _axpy_nn(dwt, g.T, pflat, ro[:n4], qp)
            if with_dx:
                dp[:n4] = 0
                _axpy_nn(dp[:n4], g, wflat, wo, qp)
                _windows(dp, dcanvas, oh0, nr, ow, kh, kw, c, sh, sw, True)
        if with_dx:
            _read_canvas(dx[s].reshape(h, wd * c), dcanvas, hp, ph, pw, c)


# dw (KH,KW,C,K) <- sum of the chunks' dwt (chunks,Kp,Qp) in chunk order; db (K,) or None likewise
@jit
def _reduce_partials(dw, db, dwts, dbps):
    kh, kw, c, k = dw.shape
    q = kh * kw * c
    total = dwts[0].copy()
    for ch in range(1, dwts.shape[0]):
        total += dwts[ch]
    dwf = dw.reshape(q, k)
    for j in range(q):
        for i in range(k):
            dwf[j, i] = total[i, j]
    if db is not None:
        for i in range(k):
            v = dbps[0, i]
            for ch in range(1, dbps.shape[0]):
                v += dbps[ch, i]
            db[i] = v


# packed weights, zeroed dw and db partials (chunks,Kp,Qp) (chunks,Kp), dx (or an empty (0,H,W,C) array
# when dx is None: one compiled backward serves both), samples per chunk, chunks
@jit
def _backward_setup(dx, dout, x, w, sh, sw):
    n, oh, ow, k = dout.shape
    _, _, _, _, qp, kp = _plan(x, w, oh, ow, sh, sw)
    per, chunks = sample_chunks(n, n * oh * ow * k * w.shape[0] * w.shape[1] * w.shape[2])
    if dx is None:
        dxa = np.empty((0, x.shape[1], x.shape[2], x.shape[3]), x.dtype)
    else:
        dxa = dx
    dwts = np.zeros((chunks, kp, qp), x.dtype)
    dbps = np.zeros((chunks, kp), x.dtype)
    return _pack_weights(w, kp, qp), dwts, dbps, dxa, per, chunks


@pjit
def _backward_parallel(dx, dwts, dbps, dout, x, w, wt, out, sh, sw, ph, pw, act, per, chunks):
    n = x.shape[0]
    for ch in prange(chunks):
        _backward_chunk(dx, dwts[ch], dbps[ch], dout, x, w, wt, out, sh, sw, ph, pw, act,
                        ch * per, min(n, (ch + 1) * per))


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
@jit
def conv2d_backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act):
    check_code(act)
    wt, dwts, dbps, dxa, per, chunks = _backward_setup(dx, dout, x, w, sh, sw)
    if chunks == 1:
        _backward_chunk(dxa, dwts[0], dbps[0], dout, x, w, wt, out, sh, sw, ph, pw, act, 0, x.shape[0])
    else:
        _backward_parallel(dxa, dwts, dbps, dout, x, w, wt, out, sh, sw, ph, pw, act, per, chunks)
    _reduce_partials(dw, db, dwts, dbps)
