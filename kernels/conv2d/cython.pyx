"""2-D convolution, channels-last, with bias and activation fused (kernels/conv2d/reference.py).

Legend, the canvas, Q, Qp, K16 and every size of a call: plan.py (the Plan both backends share). The design
is numba.py's.

Every product is _gemm.h's register-blocked microkernel (a 16-wide block of the result in registers), reading
its operands where they lie through a table of row offsets and a two-level reduction, so nothing is copied
into im2row form:
- forward: out block (n, K16) = bias + windows (n, Q) @ W (Q, K16), output (oh, ow)'s window starting at
  canvas offset oh sh pitch + ow sw C. For C == 1 at stride 1 (the first layer on grey images), the planar
  form instead: acc (K, positions) = wk (K, taps) @ the canvas shifted by each tap, along the canvas's
  positions (the Wp - OW positions past each row's end are computed and thrown away).
- dw: partial (Q, K16) += windows^T (Q, n) @ dz (n, K16), row e of windows^T being window element e of
  every output position; dz is dout itself when K % 16 == 0. The planar first layer's dw is dot products
  along the canvas's positions instead (_dot_nt: with K = 6 a 16-wide block is mostly padding).
- dx: dP (n, Qp) = dz (n, K) @ wt (K, Qp), then col2im adds dP's rows into a zero canvas of the sample.
- db: ones (1, n) @ dz (n, K16) through the same product; the planar layer's, the row sums of dz planar.
Output rows are taken in tiles (CONV_TILE elements of a block or of dP; dz rows up to 4 CONV_TILE), never the
batch.
The planar layer moves its output to channels-last and its dz to planar with _transpose.h's 8x8 vector
transposes (a scalar loop there moves one float per store, at a stride of K floats).

Parallel: forward, one sample per task, OpenMP's static schedule giving each thread a contiguous share (round-
robin tasks of 4 samples, which suit the Numba kernel, measured 12% slower here). Backward, fixed chunks of
samples (plan.py's Layout), each owned by one thread: dx of a sample needs no locks, and dw, db are summed
into one partial per chunk, added in chunk order afterwards. The chunks depend on the shapes only, so 1 and 2
threads give bit-identical results. The work of a sample or chunk is a cdef function (memoryview slices cannot
be assigned inside prange). Buffers come from scratch kept between calls, laid out as plan.py's Layout says:
after a layer's first call, no array memory is allocated here.
"""
from functools import lru_cache

import numpy as np

from .._scratch import part_sizes, scratch, split
from .plan import conv2d_layout, conv2d_plan

from cython.parallel cimport prange, threadid

from _gemm cimport deinterleave, gemm, interleave, padded
from _shared cimport (GRAIN, RELU, SIGMOID, TANH, act_backward, act_forward, bind_threads, check_act, fastnn_threads,
                      floating)

bind_threads()

# A call's Plan and Layout (plan.py), read by field name into these C structs of the same names (Cython
# converts the dicts); computed once per shape.
cdef struct Plan:
    Py_ssize_t n, h, width, nc, kh, kw, nk, oh, ow, q
    int sh, sw, ph, pw
    bint direct
    Py_ssize_t wp, hp, pitch, run, qp, k16, rows, frows, grows, canvas, apitch, prow, k2


cdef struct Layout:
    Py_ssize_t shared, chunk, thread, ints, ithread, chunks
    Py_ssize_t w_at, one_at, db_at, blk_at, pre_at, g_at, gt_at, dcv_at, dp_at, raw_at, go_at, taps_at, ko_at


_plan = lru_cache(maxsize=64)(conv2d_plan)
_layout = lru_cache(maxsize=64)(conv2d_layout)


def _call_plan(x, w, out, sh, sw, ph, pw):
    n, h, width, nc = x.shape
    kh, kw, _, nk = w.shape
    return _plan(n, h, width, nc, kh, kw, nk, out.shape[1], out.shape[2], sh, sw, ph, pw)


cdef Plan _plan_of(plan) except *:
    return plan._asdict()


cdef Layout _layout_of(layout) except *:
    return layout._asdict()


# (float elements, int elements, int type) of a call's scratch: _scratch.scratch's `sizes`
def _scratch_sizes(x, lay, Py_ssize_t threads):
    return (*part_sizes(lay, threads), np.intp)


# the scratch of a call laid out as plan.py says: (shared float part, chunk parts (chunks, chunk), thread
# parts (threads, thread), int part). The key holds the plan: what stays zero depends on the geometry.
def _call_scratch(name, x, plan, lay, with_dx):
    threads = fastnn_threads()
    fbuf, ibuf = scratch((name, plan, x.dtype.char, with_dx, threads), _scratch_sizes, x, lay, threads)
    return split(fbuf, ibuf, lay, threads)[:4]


# -- forward ---------------------------------------------------------------------------------------

# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    if out.size == 0:
        return
    plan = _call_plan(x, w, out, sh, sw, ph, pw)
    layout = _layout(plan, False, False)
    shared, _, per_thread, ints = _call_scratch("conv2d_forward", x, plan, layout, False)
    _forward(out.reshape(-1), x.reshape(x.shape[0], x.shape[1], -1), w.reshape(-1), b, shared, per_thread, ints,
             plan, layout, act)


def _forward(floating[::1] out, const floating[:, :, ::1] x, const floating[::1] w, const floating[::1] b,
             floating[::1] shared, floating[:, ::1] per_thread, Py_ssize_t[::1] ints, plan, layout, int act):
    cdef Py_ssize_t s, tid, i, j, r, o
    cdef Plan call = _plan_of(plan)
    cdef Plan *pl = &call
    cdef Layout lay = _layout_of(layout)
    cdef Py_ssize_t k = pl.nk, k16 = pl.k16, q = pl.q
    cdef floating[::1] bias = shared[:k16]
    cdef floating[::1] weights = shared[lay.w_at:]
    cdef int threads = per_thread.shape[0]   # read outside the parallel block (the debug build checks it)
    for i in range(k16):
        bias[i] = b[i] if b is not None and i < k else 0
    if pl.direct:   # wk (K, taps) and the filters' offsets in it
        for i in range(k):
            ints[i] = i * q
            for j in range(q):
                weights[i * q + j] = w[j * k + i]
    else:   # W (Q, K16), zero past K, and where each output's window starts in the canvas
        for j in range(q):
            for i in range(k16):
                weights[j * k16 + i] = w[j * k + i] if i < k else 0
        for r in range(pl.oh):
            for o in range(pl.ow):
                ints[r * pl.ow + o] = r * pl.sh * pl.pitch + o * pl.sw * pl.nc
    for s in prange(pl.n, nogil=True, num_threads=threads, schedule="static",
                    use_threads_if=pl.n * pl.oh * pl.ow * pl.q * pl.nk >= GRAIN):
        tid = threadid()
        _forward_sample(out, x, weights, bias, ints, per_thread[tid], s, pl, &lay, act)


cdef int _forward_sample(floating[::1] out, const floating[:, :, ::1] x, const floating[::1] weights,
                         const floating[::1] bias, const Py_ssize_t[::1] offsets, floating[::1] mine, Py_ssize_t s,
                         const Plan *pl, const Layout *lay, int act) except -1 nogil:
    cdef Py_ssize_t t, oh0, nr, n, i, r, o, p, first, k = pl.nk, k16 = pl.k16
    cdef floating[::1] cv = mine[:pl.canvas]
    cdef floating[::1] blk = mine[lay.blk_at:lay.pre_at]
    _fill_canvas(cv, x, s, pl)
    for t in range((pl.oh + pl.frows - 1) // pl.frows):
        oh0 = t * pl.frows
        nr = min(pl.frows, pl.oh - oh0)
        first = (s * pl.oh + oh0) * pl.ow * k
        if pl.direct:   # acc (K, positions) = bias + wk (K, KH KW) @ the canvas shifted by each tap
            n = padded(nr * pl.wp)
            for i in range(k):
                for p in range(n):
                    blk[i * pl.apitch + p] = bias[i]
            gemm(blk, 0, pl.apitch, k, n, weights, 0, offsets, 0, cv, oh0 * pl.wp,
                 pl.kh, pl.kw, pl.wp, pl.kw, 1, 1, True)
            for r in range(nr):
                interleave(out, first + r * pl.ow * k, blk, r * pl.wp, pl.apitch, k, pl.ow)
        else:   # res (n, K16) = bias + windows (n, Q) @ W (Q, K16)
            n = nr * pl.ow
            for r in range(n):
                for i in range(k16):
                    blk[r * k16 + i] = bias[i]
            gemm(blk, 0, k16, n, k16, cv, 0, offsets, oh0 * pl.ow, weights, 0,
                 pl.kh, pl.pitch, pl.run * k16, pl.run, 1, k16, True)
            for r in range(n):
                for i in range(k):
                    out[first + r * k + i] = blk[r * k16 + i]
        _activate(out, first, first + nr * pl.ow * k, act)
    return 0


# out[lo:hi] <- act(out[lo:hi]); one loop per activation, the code tested outside it (activations.pyx says why)
cdef void _activate(floating[::1] out, Py_ssize_t lo, Py_ssize_t hi, int act) noexcept nogil:
    cdef Py_ssize_t p
    if act == RELU:
        for p in range(lo, hi):
            out[p] = act_forward(out[p], RELU)
    elif act == SIGMOID:
        for p in range(lo, hi):
            out[p] = act_forward(out[p], SIGMOID)
    elif act == TANH:
        for p in range(lo, hi):
            out[p] = act_forward(out[p], TANH)


# dz[lo:hi] <- dz[lo:hi] act'(out[lo:hi]) in place, likewise
cdef void _activate_grad(floating[::1] dz, const floating[::1] out, Py_ssize_t lo, Py_ssize_t hi,
                         int act) noexcept nogil:
    cdef Py_ssize_t p
    if act == RELU:
        for p in range(lo, hi):
            dz[p] = act_backward(dz[p], out[p], RELU)
    elif act == SIGMOID:
        for p in range(lo, hi):
            dz[p] = act_backward(dz[p], out[p], SIGMOID)
    elif act == TANH:
        for p in range(lo, hi):
            dz[p] = act_backward(dz[p], out[p], TANH)


# cv <- sample s of x (H, W*C) at row ph, column pw*C of the canvas; the zero border is never written
cdef void _fill_canvas(floating[::1] cv, const floating[:, :, ::1] x, Py_ssize_t s, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t r, t, at, cols = max(0, min(pl.width, pl.wp - pl.pw)) * pl.nc
    for r in range(min(pl.h, pl.hp - pl.ph)):
        at = (pl.ph + r) * pl.pitch + pl.pw * pl.nc
        for t in range(cols):
            cv[at + t] = x[s, r, t]


# -- backward --------------------------------------------------------------------------------------

# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    if dout.shape[1] == 0 or dout.shape[2] == 0:   # no outputs: every gradient is zero
        for a in (dx, dw, db):
            if a is not None:
                a[...] = 0
        return
    plan = _call_plan(x, w, dout, sh, sw, ph, pw)
    layout = _layout(plan, True, dx is not None)
    shared, parts, per_thread, ints = _call_scratch("conv2d_backward", x, plan, layout, dx is not None)
    xs = x.reshape(x.shape[0], x.shape[1], -1)
    # without dx, an empty view stands in for it
    _backward(dw.reshape(-1), db, dout.reshape(-1), out.reshape(-1), xs, w.reshape(-1), shared, parts, per_thread,
              ints, xs[:0] if dx is None else dx.reshape(xs.shape), plan, layout, act)


def _backward(floating[::1] dw, floating[::1] db, floating[::1] dout, const floating[::1] out,
              const floating[:, :, ::1] x, const floating[::1] w, floating[::1] shared, floating[:, ::1] parts,
              floating[:, ::1] per_thread, Py_ssize_t[::1] ints, floating[:, :, ::1] dx, plan, layout, int act):
    cdef Py_ssize_t ch, s, tid, i, j, r, o, p
    cdef Plan call = _plan_of(plan)
    cdef Plan *pl = &call
    cdef Layout lay = _layout_of(layout)
    cdef Py_ssize_t k = pl.nk, k16 = pl.k16, q = pl.q, nch = parts.shape[0], rp = pl.rows * pl.ow
    cdef floating[::1] wt = shared[:k * pl.qp]
    cdef floating[::1] ones = shared[lay.one_at:lay.one_at + 1]
    cdef Py_ssize_t[::1] elements = ints[:q]
    cdef Py_ssize_t[::1] go = ints[lay.go_at:lay.go_at + rp]
    cdef Py_ssize_t[::1] taps = ints[lay.taps_at:lay.taps_at + pl.prow]
    cdef Py_ssize_t[::1] ko = ints[lay.ko_at:lay.ko_at + pl.k2]
    cdef int threads = per_thread.shape[0]   # read outside the parallel block (the debug build checks it)
    ones[0] = 1
    for i in range(k):   # wt[k, (i KW + j) C + c] = w[i, j, c, k], zero past Q
        for j in range(pl.qp):
            wt[i * pl.qp + j] = w[j * k + i] if j < q else 0
    for i in range(pl.kh):   # the window elements in the canvas
        for j in range(pl.run):
            elements[i * pl.run + j] = i * pl.pitch + j
    for r in range(rp):   # dz's rows (pitch K16)
        go[r] = r * k16
    for p in range(pl.prow):   # the planar dw: the taps in the canvas, then padding taps at 0; gt's rows
        taps[p] = p // pl.kw * pl.wp + p % pl.kw if pl.direct and p < q else 0
    for i in range(pl.k2):
        ko[i] = i * pl.oh * pl.wp if pl.direct else 0
    for ch in prange(nch, nogil=True, num_threads=threads, schedule="static", use_threads_if=nch > 1):
        tid = threadid()
        for p in range(parts.shape[1]):
            parts[ch, p] = 0
        for s in range(ch * pl.n // nch, (ch + 1) * pl.n // nch):
            _backward_sample(dout, out, x, wt, elements, go, taps, ko, ones, parts[ch], per_thread[tid], dx, s, pl,
                             &lay, act)
    # the chunks' partials, added into chunk 0's in chunk order (whole rows: vectorised)
    for ch in range(1, nch):
        for p in range(parts.shape[1]):
            parts[0, p] += parts[ch, p]
    for j in range(q):
        for i in range(k):
            dw[j * k + i] = parts[0, j * k16 + i]
    if db is not None:
        for i in range(k):
            db[i] = parts[0, lay.db_at + i]


cdef int _backward_sample(floating[::1] dout, const floating[::1] out, const floating[:, :, ::1] x,
                          const floating[::1] wt, const Py_ssize_t[::1] elements, const Py_ssize_t[::1] go,
                          const Py_ssize_t[::1] taps, const Py_ssize_t[::1] ko, const floating[::1] ones,
                          floating[::1] part, floating[::1] mine, floating[:, :, ::1] dx, Py_ssize_t s,
                          const Plan *pl, const Layout *lay, int act) except -1 nogil:
    cdef Py_ssize_t k = pl.nk, k16 = pl.k16, q = pl.q, base = s * pl.oh * pl.ow * pl.nk, size = pl.oh * pl.ow * k
    cdef Py_ssize_t p, i, r, o, t, u, oh0, nr, n, r0, nr2, goff, db_at = lay.db_at
    cdef bint has_dx = dx.shape[0] > 0, in_dout = k16 == k
    cdef floating total
    cdef floating[::1] cv = mine[:pl.canvas]
    cdef floating[::1] g = mine[lay.g_at:lay.gt_at]
    cdef floating[::1] gt = mine[lay.gt_at:lay.dcv_at]
    cdef floating[::1] dcv = mine[lay.dcv_at:lay.dp_at]
    cdef floating[::1] dpt = mine[lay.dp_at:lay.raw_at]
    _activate_grad(dout, out, base, base + size, act)   # dz = dout act'(out), in place
    _fill_canvas(cv, x, s, pl)
    if pl.direct:   # dw (taps, K) by dot products along the canvas's positions, with dz planar (gt); db its row sums
        for r in range(pl.oh):
            deinterleave(gt, r * pl.wp, pl.oh * pl.wp, dout, base + r * pl.ow * k, k, pl.ow)
        for i in range(k):
            total = 0
            for p in range(pl.oh * pl.wp):
                total = total + gt[ko[i] + p]
            part[db_at + i] += total
        _dot_nt(part, k16, cv, taps, gt, ko, pl.oh * pl.wp)
    if not has_dx and pl.direct:
        return 0
    if has_dx:
        for p in range(pl.hp * pl.pitch):
            dcv[p] = 0
    for t in range((pl.oh + pl.grows - 1) // pl.grows):   # dz rows [oh0, oh0 + nr), as (n, K16): dout itself
        oh0 = t * pl.grows                                 # when K16 == K
        nr = min(pl.grows, pl.oh - oh0)
        n = nr * pl.ow
        goff = base + oh0 * pl.ow * k
        if not in_dout:
            for r in range(n):
                for i in range(k):
                    g[r * k16 + i] = dout[goff + r * k + i]
        if not pl.direct:   # dw (Q, K16) += windows^T (Q, n) @ dz (n, K16): positions step sh pitch, sw C;
            if in_dout:     # db (1, K16) += ones (1, n) @ dz (n, K16)
                gemm(part, 0, k16, q, k16, cv, oh0 * pl.sh * pl.pitch, elements, 0, dout, goff,
                     nr, pl.sh * pl.pitch, pl.ow * k16, pl.ow, pl.sw * pl.nc, k16, True)
                gemm(part, db_at, k16, 1, k16, ones, 0, go, 0, dout, goff, 1, 0, 0, n, 0, k16, True)
            else:
                gemm(part, 0, k16, q, k16, cv, oh0 * pl.sh * pl.pitch, elements, 0, g, 0,
                     nr, pl.sh * pl.pitch, pl.ow * k16, pl.ow, pl.sw * pl.nc, k16, True)
                gemm(part, db_at, k16, 1, k16, ones, 0, go, 0, g, 0, 1, 0, 0, n, 0, k16, True)
        if has_dx:
            for u in range((nr + pl.rows - 1) // pl.rows):   # dP (n, Qp) = dz (n, K) @ wt (K, Qp), then col2im
                r0 = u * pl.rows
                nr2 = min(pl.rows, nr - r0)
                if in_dout:
                    gemm(dpt, 0, pl.qp, nr2 * pl.ow, pl.qp, dout, goff + r0 * pl.ow * k16, go, 0, wt, 0,
                         1, 0, 0, k, 1, pl.qp, False)
                else:
                    gemm(dpt, 0, pl.qp, nr2 * pl.ow, pl.qp, g, r0 * pl.ow * k16, go, 0, wt, 0,
                         1, 0, 0, k, 1, pl.qp, False)
                _col2im(dpt, dcv, oh0 + r0, nr2, pl)
    if has_dx:
        _read_canvas(dx, dcv, s, pl)
    return 0


# col2im: the canvas's window of each output pixel r of rows [oh0, oh0+nr) += dP[r] (KH runs of KW*C)
cdef void _col2im(const floating[::1] dpt, floating[::1] dcv, Py_ssize_t oh0, Py_ssize_t nr,
                  const Plan *pl) noexcept nogil:
    cdef Py_ssize_t r, o, i, t, src, dst
    for r in range(nr):
        for o in range(pl.ow):
            for i in range(pl.kh):
                dst = ((oh0 + r) * pl.sh + i) * pl.pitch + o * pl.sw * pl.nc
                src = (r * pl.ow + o) * pl.qp + i * pl.run
                for t in range(pl.run):
                    dcv[dst + t] += dpt[src + t]


# dx[s] (H, W*C) <- the canvas's interior, zero where the canvas does not reach (the reference's clipping)
cdef void _read_canvas(floating[:, :, ::1] dx, const floating[::1] dcv, Py_ssize_t s, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t r, t, at, cols = max(0, min(pl.width, pl.wp - pl.pw)) * pl.nc
    for r in range(pl.h):
        if r < pl.hp - pl.ph:
            at = (pl.ph + r) * pl.pitch + pl.pw * pl.nc
            for t in range(cols):
                dx[s, r, t] = dcv[at + t]
            for t in range(cols, dx.shape[2]):
                dx[s, r, t] = 0
        else:
            for t in range(dx.shape[2]):
                dx[s, r, t] = 0


# part[m k16 + j] += a[ao[m]:ao[m]+n] . b[bo[j]:bo[j]+n] for m < ao.size (a multiple of 4) and j < bo.size (of
# 2): eight independent sums per block, each vectorised by GCC (-fassociative-math, setup.py)
cdef void _dot_nt(floating[::1] part, Py_ssize_t k16, const floating[::1] a, const Py_ssize_t[::1] ao,
                  const floating[::1] b, const Py_ssize_t[::1] bo, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t m, j, t, a0, a1, a2, a3, b0, b1
    cdef floating s00, s01, s10, s11, s20, s21, s30, s31, y0, y1
    for m in range(0, ao.shape[0], 4):
        a0, a1, a2, a3 = ao[m], ao[m + 1], ao[m + 2], ao[m + 3]
        for j in range(0, bo.shape[0], 2):
            b0, b1 = bo[j], bo[j + 1]
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = 0
            for t in range(n):
                y0 = b[b0 + t]
                y1 = b[b1 + t]
                s00 = s00 + a[a0 + t] * y0
                s01 = s01 + a[a0 + t] * y1
                s10 = s10 + a[a1 + t] * y0
                s11 = s11 + a[a1 + t] * y1
                s20 = s20 + a[a2 + t] * y0
                s21 = s21 + a[a2 + t] * y1
                s30 = s30 + a[a3 + t] * y0
                s31 = s31 + a[a3 + t] * y1
            part[m * k16 + j] += s00
            part[m * k16 + j + 1] += s01
            part[(m + 1) * k16 + j] += s10
            part[(m + 1) * k16 + j + 1] += s11
            part[(m + 2) * k16 + j] += s20
            part[(m + 2) * k16 + j + 1] += s21
            part[(m + 3) * k16 + j] += s30
            part[(m + 3) * k16 + j + 1] += s31
