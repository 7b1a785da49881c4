"""2-D convolution, channels-last, with bias and activation fused (fastnn.reference.conv2d).

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters,
OH OW output height/width, sh sw strides, ph pw the zero padding added above/left of the input
(the padding below/right is implied by the output size; "valid" is ph = pw = 0).
Q = KH KW C, the length of one window unrolled; Qp = Q rounded up to 4, Kp = K rounded up to 4.

A tile is a few output rows of one sample, P = rows * OW output pixels. Its windows are unrolled
transposed, one row per window element: cols (Qp, P), zero where the window overlaps the padding. Then
    forward      outT (Kp, P) = wp^T cols          (rows of P: axpy along the pixels)
    weight grad  dw (Qp, Kp) += cols dzT^T         (dot products along the pixels)
    input grad   dcols (Qp, P) = wp dzT, added back into dx through the same windows
with wp (Qp, Kp) the zero-padded weights. Every inner loop runs along the pixels, contiguous and long, so
GCC vectorises it whatever K and C are; the blocks (4 window elements x 2 filters, or 2 x 4) reuse each
load 2-4 times and keep GCC's alias checks few enough for it to vectorise. x and dx are read as rows of
W*C values, so a single-channel image at stride 1 unrolls with plain contiguous copies. No BLAS: these products are thin (K = 6..64) and run inside prange, where BLAS threads would
oversubscribe the cores. The tile buffers are per thread and bounded by TILE elements (one output row when
a row is larger), never by the batch.

Parallel tasks: forward, one tile each. Backward, fixed chunks of samples, each owned by one thread: dx of a
sample needs no locks, and dw, db are summed into one partial per chunk, added in chunk order afterwards.
The chunks depend on the shapes only (_shared.n_chunks), so 1 and 2 threads give bit-identical results.
"""
import numpy as np

from cython.parallel cimport prange, threadid

from _shared cimport (GRAIN, act_backward, act_forward, bind_threads, check_act, fastnn_threads, floating,
                      n_chunks)

bind_threads()

cdef enum:
    TILE = 16384  # elements of a thread's cols buffer (64 KiB in float32: L2-resident)


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    _forward(_pixels(out), out.shape[1], out.shape[2], _pixel_rows(x), w, b, sh, sw, ph, pw, act)


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    # the fused dispatch picks the float type from the first argument, which must not be None
    _backward(dw, _pixel_rows(dx), db, _pixels(dout), dout.shape[1], dout.shape[2], _pixel_rows(x), w,
              _pixels(out), sh, sw, ph, pw, act)


# (N,H,W,C) -> the same memory as (N,H,W*C)
def _pixel_rows(a):
    return None if a is None else a.reshape(a.shape[0], a.shape[1], -1)


# (N,OH,OW,K) -> the same memory as (N*OH*OW, K): the pixels of a tile are consecutive rows
def _pixels(a):
    return a.reshape(-1, a.shape[3])


# out (N*OH*OW, K), x (N,H,W*C)
def _forward(floating[:, ::1] out, Py_ssize_t oh, Py_ssize_t ow, const floating[:, :, ::1] x,
             const floating[:, :, :, ::1] w, const floating[::1] b, int sh, int sw, int ph, int pw, int act):
    cdef Py_ssize_t n = x.shape[0], nk = out.shape[1]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1], nq = kh * kw * w.shape[2]
    cdef Py_ssize_t rows = _tile_rows(oh, ow, nq), tiles = (oh + rows - 1) // rows
    cdef Py_ssize_t task, s, r0, nr, tid, k, p, first
    cdef floating[:, ::1] wp = _packed(w)
    cdef floating[:, :, ::1] cols, outT
    cols, outT = _buffers(wp, rows * ow)
    for task in prange(n * tiles, nogil=True, num_threads=fastnn_threads(), schedule="static",
                       use_threads_if=n * oh * ow * nq * nk >= GRAIN):
        tid = threadid()
        s = task // tiles
        r0 = task % tiles * rows
        nr = min(rows, oh - r0)
        _unroll_windows(cols, tid, x, w.shape[2], s, r0, nr, ow, kh, kw, sh, sw, ph, pw)
        for k in range(nk):
            for p in range(nr * ow):
                outT[tid, k, p] = b[k] if b is not None else 0
        _outT_add(outT, cols, wp, tid, nr * ow, nk)
        first = (s * oh + r0) * ow
        for k in range(nk):
            for p in range(nr * ow):
                out[first + p, k] = act_forward(outT[tid, k, p], act)


# dout, out (N*OH*OW, K), x (N,H,W*C), dx (N,H,W*C) or None
def _backward(floating[:, :, :, ::1] dw, floating[:, :, ::1] dx, floating[::1] db, floating[:, ::1] dout,
              Py_ssize_t oh, Py_ssize_t ow, const floating[:, :, ::1] x, const floating[:, :, :, ::1] w,
              const floating[:, ::1] out, int sh, int sw, int ph, int pw, int act):
    cdef Py_ssize_t n = x.shape[0], nk = dout.shape[1]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1], nc = w.shape[2], nq = kh * kw * nc
    cdef Py_ssize_t rows = _tile_rows(oh, ow, nq), tiles = (oh + rows - 1) // rows
    cdef floating[:, ::1] wp = _packed(w)
    cdef Py_ssize_t nqp = wp.shape[0], nkp = wp.shape[1]
    cdef Py_ssize_t nch = n_chunks(n, oh * ow * nqp * nkp, nqp * nkp + nkp)
    cdef Py_ssize_t ch, s, t, r0, nr, tid, q, k, p, r, o, first
    cdef bint has_dx = dx is not None
    cdef floating total, v
    cdef floating[:, :, ::1] cols, dzT, dcols
    cols, dzT = _buffers(wp, rows * ow)
    dcols = np.zeros_like(cols) if has_dx else cols
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, :, ::1] dw_part = np.zeros((nch, nqp, nkp), dtype)
    cdef floating[:, ::1] db_part = np.zeros((nch, nkp), dtype)
    for ch in prange(nch, nogil=True, num_threads=fastnn_threads(), schedule="static", use_threads_if=nch > 1):
        tid = threadid()
        for s in range(ch * n // nch, (ch + 1) * n // nch):
            if has_dx:
                for r in range(dx.shape[1]):
                    for o in range(dx.shape[2]):
                        dx[s, r, o] = 0
            for t in range(tiles):
                r0 = t * rows
                nr = min(rows, oh - r0)
                # dz = dout * act'(out), in place and transposed into dzT; db
                first = (s * oh + r0) * ow
                for k in range(nk):
                    total = 0
                    for p in range(nr * ow):
                        v = act_backward(dout[first + p, k], out[first + p, k], act)
                        dout[first + p, k] = v
                        dzT[tid, k, p] = v
                        total = total + v
                    db_part[ch, k] += total
                _unroll_windows(cols, tid, x, nc, s, r0, nr, ow, kh, kw, sh, sw, ph, pw)
                _dw_add(dw_part, ch, cols, dzT, tid, nr * ow, nk)
                if has_dx:
                    _dcols(dcols, wp, dzT, tid, nr * ow)
                    _add_windows(dx, dcols, tid, nc, s, r0, nr, ow, kh, kw, sh, sw, ph, pw)
    # the chunks' partial sums, added in chunk order
    for q in prange(nq, nogil=True, num_threads=fastnn_threads(), schedule="static",
                    use_threads_if=nch * nq * nk >= GRAIN):
        for k in range(nk):
            total = 0
            for ch in range(nch):
                total = total + dw_part[ch, q, k]
            dw[q // (kw * nc), q // nc % kw, q % nc, k] = total
    if db is not None:
        for k in range(nk):
            total = 0
            for ch in range(nch):
                total = total + db_part[ch, k]
            db[k] = total


# output rows per tile: as many as keep cols (Qp, rows OW) within TILE, at least one
cdef Py_ssize_t _tile_rows(Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t nq) noexcept:
    return max(1, min(oh, TILE // max(1, (nq + 3) // 4 * 4 * ow)))


# w (KH,KW,C,K) -> wp (Qp, Kp), zero padded
cdef floating[:, ::1] _packed(const floating[:, :, :, ::1] w):
    cdef Py_ssize_t kw = w.shape[1], nc = w.shape[2], nk = w.shape[3], nq = w.shape[0] * kw * nc, q, k
    cdef floating[:, ::1] wp = np.zeros(((nq + 3) // 4 * 4, (nk + 3) // 4 * 4),
                                        np.float32 if floating is float else np.float64)
    for q in range(nq):
        for k in range(nk):
            wp[q, k] = w[q // (kw * nc), q // nc % kw, q % nc, k]
    return wp


# per-thread tiles, zeroed once: cols (threads, Qp, P) and outT / dzT (threads, Kp, P). Rows past Q and K
# are never written, so they stay zero and add nothing.
cdef tuple _buffers(const floating[:, ::1] wp, Py_ssize_t pixels):
    cdef int threads = fastnn_threads()
    dtype = np.float32 if floating is float else np.float64
    return np.zeros((threads, wp.shape[0], pixels), dtype), np.zeros((threads, wp.shape[1], pixels), dtype)


# The output columns o in [0, OW) of a window element at column offset j whose input column o sw + j - pw
# lies in [0, W): [lo, hi), with lo <= hi <= OW.
cdef inline Py_ssize_t _first_inside(Py_ssize_t j, int sw, int pw, Py_ssize_t ow) noexcept nogil:
    return min(ow, (pw - j + sw - 1) // sw) if pw > j else 0


cdef inline Py_ssize_t _end_inside(Py_ssize_t j, int sw, int pw, Py_ssize_t width, Py_ssize_t ow) noexcept nogil:
    cdef Py_ssize_t lo = _first_inside(j, sw, pw, ow)
    if width - 1 + pw - j < 0:  # right of the input for every o
        return lo
    return max(lo, min(ow, (width - 1 + pw - j) // sw + 1))


# cols[tid, q, r OW + o] = x[s, (r0 + r) sh + i - ph, o sw + j - pw, c] for q = (i KW + j) C + c, 0 when padded
# x (N,H,W*C)
cdef void _unroll_windows(floating[:, :, ::1] cols, Py_ssize_t tid, const floating[:, :, ::1] x, Py_ssize_t nc,
                          Py_ssize_t s, Py_ssize_t r0, Py_ssize_t nr, Py_ssize_t ow, Py_ssize_t kh,
                          Py_ssize_t kw, int sh, int sw, int ph, int pw) noexcept nogil:
    cdef Py_ssize_t h = x.shape[1], width = x.shape[2] // nc
    cdef Py_ssize_t i, j, c, q, r, o, ih, lo, hi, base, start
    for i in range(kh):
        for j in range(kw):
            lo = _first_inside(j, sw, pw, ow)
            hi = _end_inside(j, sw, pw, width, ow)
            for c in range(nc):
                q = (i * kw + j) * nc + c
                start = (j - pw) * nc + c
                for r in range(nr):
                    ih = (r0 + r) * sh + i - ph
                    base = r * ow
                    if ih < 0 or ih >= h:
                        for o in range(ow):
                            cols[tid, q, base + o] = 0
                        continue
                    for o in range(lo):
                        cols[tid, q, base + o] = 0
                    if sw * nc == 1:  # one channel at stride 1: a contiguous copy, vectorised
                        for o in range(lo, hi):
                            cols[tid, q, base + o] = x[s, ih, start + o]
                    else:
                        for o in range(lo, hi):
                            cols[tid, q, base + o] = x[s, ih, start + o * sw * nc]
                    for o in range(hi, ow):
                        cols[tid, q, base + o] = 0


# dx[s] += dcols through the windows: the transpose of _unroll_windows; dx (N,H,W*C)
cdef void _add_windows(floating[:, :, ::1] dx, const floating[:, :, ::1] dcols, Py_ssize_t tid, Py_ssize_t nc,
                       Py_ssize_t s, Py_ssize_t r0, Py_ssize_t nr, Py_ssize_t ow, Py_ssize_t kh,
                       Py_ssize_t kw, int sh, int sw, int ph, int pw) noexcept nogil:
    cdef Py_ssize_t h = dx.shape[1], width = dx.shape[2] // nc
    cdef Py_ssize_t i, j, c, q, r, o, ih, lo, hi, start
    for i in range(kh):
        for j in range(kw):
            lo = _first_inside(j, sw, pw, ow)
            hi = _end_inside(j, sw, pw, width, ow)
            for c in range(nc):
                q = (i * kw + j) * nc + c
                start = (j - pw) * nc + c
                for r in range(nr):
                    ih = (r0 + r) * sh + i - ph
                    if 0 <= ih < h:
                        for o in range(lo, hi):
                            dx[s, ih, start + o * sw * nc] += dcols[tid, q, r * ow + o]


# outT[tid, :K, :P] += wp^T cols[tid, :, :P]; blocks of 4 window elements x 2 filters
cdef void _outT_add(floating[:, :, ::1] outT, const floating[:, :, ::1] cols, const floating[:, ::1] wp,
                    Py_ssize_t tid, Py_ssize_t pixels, Py_ssize_t nk) noexcept nogil:
    cdef Py_ssize_t k, q, p
    cdef floating w00, w10, w20, w30, w01, w11, w21, w31, c0, c1, c2, c3
    for k in range(0, nk + nk % 2, 2):
        for q in range(0, wp.shape[0], 4):
            w00 = wp[q, k]
            w10 = wp[q + 1, k]
            w20 = wp[q + 2, k]
            w30 = wp[q + 3, k]
            w01 = wp[q, k + 1]
            w11 = wp[q + 1, k + 1]
            w21 = wp[q + 2, k + 1]
            w31 = wp[q + 3, k + 1]
            for p in range(pixels):
                c0 = cols[tid, q, p]
                c1 = cols[tid, q + 1, p]
                c2 = cols[tid, q + 2, p]
                c3 = cols[tid, q + 3, p]
                outT[tid, k, p] += w00 * c0 + w10 * c1 + w20 * c2 + w30 * c3
                outT[tid, k + 1, p] += w01 * c0 + w11 * c1 + w21 * c2 + w31 * c3


# dw_part[ch, :, :K] += cols[tid, :, :P] dzT[tid, :K, :P]^T; blocks of 4 window elements x 2 filters
cdef void _dw_add(floating[:, :, ::1] dw_part, Py_ssize_t ch, const floating[:, :, ::1] cols,
                  const floating[:, :, ::1] dzT, Py_ssize_t tid, Py_ssize_t pixels, Py_ssize_t nk) noexcept nogil:
    cdef Py_ssize_t k, q, p
    cdef floating s00, s10, s20, s30, s01, s11, s21, s31, d0, d1
    for k in range(0, nk + nk % 2, 2):
        for q in range(0, dw_part.shape[1], 4):
            s00 = s10 = s20 = s30 = s01 = s11 = s21 = s31 = 0
            for p in range(pixels):
                d0 = dzT[tid, k, p]
                d1 = dzT[tid, k + 1, p]
                s00 = s00 + cols[tid, q, p] * d0
                s10 = s10 + cols[tid, q + 1, p] * d0
                s20 = s20 + cols[tid, q + 2, p] * d0
                s30 = s30 + cols[tid, q + 3, p] * d0
                s01 = s01 + cols[tid, q, p] * d1
                s11 = s11 + cols[tid, q + 1, p] * d1
                s21 = s21 + cols[tid, q + 2, p] * d1
                s31 = s31 + cols[tid, q + 3, p] * d1
            dw_part[ch, q, k] += s00
            dw_part[ch, q + 1, k] += s10
            dw_part[ch, q + 2, k] += s20
            dw_part[ch, q + 3, k] += s30
            dw_part[ch, q, k + 1] += s01
            dw_part[ch, q + 1, k + 1] += s11
            dw_part[ch, q + 2, k + 1] += s21
            dw_part[ch, q + 3, k + 1] += s31


# dcols[tid, :, :P] = wp dzT[tid, :, :P]; blocks of 2 window elements x 4 filters
cdef void _dcols(floating[:, :, ::1] dcols, const floating[:, ::1] wp, const floating[:, :, ::1] dzT,
                 Py_ssize_t tid, Py_ssize_t pixels) noexcept nogil:
    cdef Py_ssize_t k, q, p
    cdef floating w00, w01, w02, w03, w10, w11, w12, w13, d0, d1, d2, d3
    for q in range(0, wp.shape[0], 2):
        for p in range(pixels):
            dcols[tid, q, p] = 0
            dcols[tid, q + 1, p] = 0
        for k in range(0, wp.shape[1], 4):
            w00 = wp[q, k]
            w01 = wp[q, k + 1]
            w02 = wp[q, k + 2]
            w03 = wp[q, k + 3]
            w10 = wp[q + 1, k]
            w11 = wp[q + 1, k + 1]
            w12 = wp[q + 1, k + 2]
            w13 = wp[q + 1, k + 3]
            for p in range(pixels):
                d0 = dzT[tid, k, p]
                d1 = dzT[tid, k + 1, p]
                d2 = dzT[tid, k + 2, p]
                d3 = dzT[tid, k + 3, p]
                dcols[tid, q, p] += w00 * d0 + w01 * d1 + w02 * d2 + w03 * d3
                dcols[tid, q + 1, p] += w10 * d0 + w11 * d1 + w12 * d2 + w13 * d3
