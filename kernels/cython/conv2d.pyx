"""2-D convolution, channels-last, with bias and activation fused (fastnn.reference.conv2d).

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters,
OH OW output height/width, sh sw strides, ph pw the zero padding added above/left of the input
(the padding below/right is implied by the output size; "valid" is ph = pw = 0).
Q = KH KW C, the length of one window unrolled; Qp = Q rounded up to 4, Kp = K rounded up to 4.

A tile is a few output rows of one sample, P pixels. Every window element q = (i KW + j) C + c has a row
of P input values, one per output pixel, read from a per-thread buffer src at offset offs[q]. Then
    forward      outT (Kp, P) = sum over q of wp[q] x row q   (axpy along the pixels)
    weight grad  dw[q, k] += row q . dzT[k]                    (dot products along the pixels)
    input grad   row q of dsrc += sum over k of wp[q, k] dzT[k], sent back to dx
with wp (Qp, Kp) the zero-padded weights. Every inner loop runs along the pixels, contiguous and long, so
GCC vectorises it whatever K and C are; the blocks (4 window elements x 2 filters, or 1 x 4) reuse each
load 2-4 times and keep GCC's alias checks few enough for it to vectorise. Window elements past Q read a
run of zeros. No BLAS: these products are thin (K = 6..64) and run inside prange, where BLAS threads would
oversubscribe the cores.

Where the rows of src come from, chosen by the strides:
- stride 1: each sample is copied once into a zero-padded planar canvas (C, Hp, Wp), Hp = OH - 1 + KH,
  Wp = OW - 1 + KW (the reference's canvas; input rows/columns past it are never read). Output pixel
  (r, o) is p = r Wp + o, and the row of window element (i, j, c) is the canvas itself from
  c Hp Wp + i Wp + j: no copy per window element. The Wp - OW pixels past each row's end are computed
  and dropped (their dz is zero). dx is accumulated the same way into a planar canvas, then cropped.
- other strides: the tile's windows are unrolled, one row of P = rows OW values per window element
  (zero where a window overlaps the padding), and dx is scattered back through the same windows.
The buffers are per thread and bounded by a sample (one tile of at most TILE outputs), never by the batch.

Parallel tasks: forward, one sample each. Backward, fixed chunks of samples, each owned by one thread: dx of
a sample needs no locks, and dw, db are summed into one partial per chunk, added in chunk order afterwards.
The chunks depend on the shapes only (_shared.n_chunks), so 1 and 2 threads give bit-identical results.
"""
import numpy as np

from cython.parallel cimport prange, threadid

from _shared cimport (GRAIN, LINEAR, act_backward, act_forward, bind_threads, check_act, fastnn_threads,
                      floating, n_chunks)

bind_threads()

cdef enum:
    TILE = 16384  # most elements of a tile's outT (or, unrolled, its window rows): 64 KiB in float32


# The sizes of one call.
cdef struct Plan:
    Py_ssize_t n, h, width, nc, kh, kw, oh, ow, nk, nq, nqp, nkp
    int sh, sw, ph, pw
    bint planar       # stride 1: window rows read in place from a planar canvas of the sample
    Py_ssize_t hp, wp  # the canvas (planar)
    Py_ssize_t pitch   # pixels per output row in a tile: Wp (planar) or OW
    Py_ssize_t rows    # output rows per tile
    Py_ssize_t cap     # pixels per tile, rows * pitch
    Py_ssize_t zeros   # offset of a run of cap zeros in src, read by the window elements past Q
    Py_ssize_t src     # src elements per thread
    Py_ssize_t dsrc    # dsrc elements per thread (the input gradient's canvas or window rows)


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    _forward(_pixels(out), out.reshape(-1), out.shape[1], out.shape[2], _pixel_rows(x), w, b, sh, sw, ph, pw,
             act)


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, int sh, int sw, int ph, int pw, int act):
    check_act(act)
    # the fused dispatch picks the float type from the first argument, which must not be None
    _backward(dw, _pixel_rows(dx), db, _pixels(dout), dout.reshape(-1), out.shape[1], out.shape[2],
              _pixel_rows(x), w, out.reshape(-1), sh, sw, ph, pw, act)


# (N,H,W,C) -> the same memory as (N,H,W*C)
def _pixel_rows(a):
    return None if a is None else a.reshape(a.shape[0], a.shape[1], -1)


# (N,OH,OW,K) -> the same memory as (N*OH*OW, K): the pixels of a tile are consecutive rows
def _pixels(a):
    return a.reshape(-1, a.shape[3])


# x (N,H,W*C), w (KH,KW,C,K), an output of OH x OW pixels
cdef Plan _plan(const Py_ssize_t *x_shape, const Py_ssize_t *w_shape, Py_ssize_t oh, Py_ssize_t ow, int sh, int sw,
                int ph, int pw) noexcept:
    cdef Plan p
    p.n, p.h, p.nc = x_shape[0], x_shape[1], w_shape[2]
    p.width = x_shape[2] // p.nc
    p.kh, p.kw, p.nk = w_shape[0], w_shape[1], w_shape[3]
    p.oh, p.ow = oh, ow
    p.sh, p.sw, p.ph, p.pw = sh, sw, ph, pw
    p.nq = p.kh * p.kw * p.nc
    p.nqp = (p.nq + 3) // 4 * 4
    p.nkp = (p.nk + 3) // 4 * 4
    p.planar = sh == 1 and sw == 1
    p.hp = max(0, p.oh - 1 + p.kh)
    p.wp = max(0, p.ow - 1 + p.kw)
    p.pitch = max(1, p.wp if p.planar else p.ow)
    p.rows = max(1, min(p.oh, TILE // ((p.nkp if p.planar else max(p.nqp, p.nkp)) * p.pitch)))
    p.cap = p.rows * p.pitch
    # planar: the canvas, then the overrun of the last rows' dropped pixels (< KW), then the zeros
    p.zeros = p.nc * p.hp * p.wp + p.wp if p.planar else p.nq * p.cap
    p.src = p.zeros + p.cap
    p.dsrc = p.zeros
    return p


# out (N*OH*OW, K) and the same memory flat, x (N,H,W*C)
def _forward(floating[:, ::1] out, floating[::1] out_flat, Py_ssize_t oh, Py_ssize_t ow,
             const floating[:, :, ::1] x, const floating[:, :, :, ::1] w, const floating[::1] b, int sh, int sw,
             int ph, int pw, int act):
    cdef Plan pl = _plan(x.shape, w.shape, oh, ow, sh, sw, ph, pw)
    cdef Py_ssize_t s, t, r0, nr, tid, k, p, r, o, first
    cdef floating[:, ::1] wp = _packed(w)
    dtype = np.float32 if floating is float else np.float64
    cdef int threads = fastnn_threads()
    cdef floating[:, ::1] src = np.zeros((threads, pl.src), dtype)
    cdef floating[:, :, ::1] outT = np.zeros((threads, pl.nkp, pl.cap), dtype)
    cdef Py_ssize_t[:, ::1] offs = np.empty((threads, pl.nqp), np.intp)
    for s in prange(pl.n, nogil=True, num_threads=threads, schedule="static",
                    use_threads_if=pl.n * pl.oh * pl.ow * pl.nq * pl.nk >= GRAIN):
        tid = threadid()
        if pl.planar:
            _fill_canvas(src, tid, x, s, &pl)
        for t in range((pl.oh + pl.rows - 1) // pl.rows):
            r0 = t * pl.rows
            nr = min(pl.rows, pl.oh - r0)
            _offsets(offs, tid, r0, &pl)
            if not pl.planar:
                _unroll_windows(src, tid, x, s, r0, nr, &pl)
            for k in range(pl.nk):
                for p in range(nr * pl.pitch):
                    outT[tid, k, p] = b[k] if b is not None else 0
            _outT_add(outT, src, offs, wp, tid, nr * pl.pitch, pl.nk)
            first = (s * pl.oh + r0) * pl.ow
            for r in range(nr):
                for o in range(pl.ow):
                    for k in range(pl.nk):
                        out[first + r * pl.ow + o, k] = outT[tid, k, r * pl.pitch + o]
            if act != LINEAR:  # on the tile's outputs, contiguous: vectorised
                for p in range(first * pl.nk, (first + nr * pl.ow) * pl.nk):
                    out_flat[p] = act_forward(out_flat[p], act)


# dout (N*OH*OW, K) and the same memory flat, out flat, x (N,H,W*C), dx (N,H,W*C) or None
def _backward(floating[:, :, :, ::1] dw, floating[:, :, ::1] dx, floating[::1] db, floating[:, ::1] dout,
              floating[::1] dout_flat, Py_ssize_t oh, Py_ssize_t ow, const floating[:, :, ::1] x,
              const floating[:, :, :, ::1] w, const floating[::1] out_flat, int sh, int sw, int ph, int pw,
              int act):
    cdef Plan pl = _plan(x.shape, w.shape, oh, ow, sh, sw, ph, pw)
    cdef Py_ssize_t ch, s, t, r0, nr, tid, q, k, p, r, o, first
    cdef bint has_dx = dx is not None
    cdef floating total, v
    cdef floating[:, ::1] wp = _packed(w)
    cdef Py_ssize_t nch = n_chunks(pl.n, pl.oh * pl.pitch * pl.nqp * pl.nkp, pl.nqp * pl.nkp + pl.nkp)
    dtype = np.float32 if floating is float else np.float64
    cdef int threads = fastnn_threads()
    cdef floating[:, ::1] src = np.zeros((threads, pl.src), dtype)
    cdef floating[:, ::1] dsrc = np.zeros((threads, pl.dsrc if has_dx else 0), dtype)
    cdef floating[:, :, ::1] dzT = np.zeros((threads, pl.nkp, pl.cap), dtype)
    cdef Py_ssize_t[:, ::1] offs = np.empty((threads, pl.nqp), np.intp)
    cdef floating[:, :, ::1] dw_part = np.zeros((nch, pl.nqp, pl.nkp), dtype)
    cdef floating[:, ::1] db_part = np.zeros((nch, pl.nkp), dtype)
    for ch in prange(nch, nogil=True, num_threads=threads, schedule="static", use_threads_if=nch > 1):
        tid = threadid()
        for s in range(ch * pl.n // nch, (ch + 1) * pl.n // nch):
            if pl.planar:
                _fill_canvas(src, tid, x, s, &pl)
            if has_dx:
                for r in range(dx.shape[1]):
                    for o in range(dx.shape[2]):
                        dx[s, r, o] = 0
                if pl.planar:
                    for p in range(pl.dsrc):
                        dsrc[tid, p] = 0
            for t in range((pl.oh + pl.rows - 1) // pl.rows):
                r0 = t * pl.rows
                nr = min(pl.rows, pl.oh - r0)
                _offsets(offs, tid, r0, &pl)
                if not pl.planar:
                    _unroll_windows(src, tid, x, s, r0, nr, &pl)
                # dz = dout * act'(out) in place on the tile's outputs (contiguous: vectorised), then
                # transposed into dzT (zero at the dropped pixels); db
                first = (s * pl.oh + r0) * pl.ow
                if act != LINEAR:
                    for p in range(first * pl.nk, (first + nr * pl.ow) * pl.nk):
                        dout_flat[p] = act_backward(dout_flat[p], out_flat[p], act)
                for k in range(pl.nk):
                    total = 0
                    for r in range(nr):
                        for o in range(pl.ow):
                            v = dout[first + r * pl.ow + o, k]
                            dzT[tid, k, r * pl.pitch + o] = v
                            total = total + v
                        for o in range(pl.ow, pl.pitch):
                            dzT[tid, k, r * pl.pitch + o] = 0
                    db_part[ch, k] += total
                _dw_add(dw_part, ch, src, offs, dzT, tid, nr * pl.pitch, pl.nk)
                if has_dx:
                    if not pl.planar:
                        for p in range(pl.dsrc):
                            dsrc[tid, p] = 0
                    _dsrc_add(dsrc, offs, wp, dzT, tid, nr * pl.pitch, pl.nq)
                    if not pl.planar:
                        _add_windows(dx, dsrc, tid, s, r0, nr, &pl)
            if has_dx and pl.planar:
                _crop_canvas(dx, dsrc, tid, s, &pl)
    # the chunks' partial sums, added in chunk order
    for q in prange(pl.nq, nogil=True, num_threads=threads, schedule="static",
                    use_threads_if=nch * pl.nq * pl.nk >= GRAIN):
        for k in range(pl.nk):
            total = 0
            for ch in range(nch):
                total = total + dw_part[ch, q, k]
            dw[q // (pl.kw * pl.nc), q // pl.nc % pl.kw, q % pl.nc, k] = total
    if db is not None:
        for k in range(pl.nk):
            total = 0
            for ch in range(nch):
                total = total + db_part[ch, k]
            db[k] = total


# w (KH,KW,C,K) -> wp (Qp, Kp), zero padded
cdef floating[:, ::1] _packed(const floating[:, :, :, ::1] w):
    cdef Py_ssize_t kw = w.shape[1], nc = w.shape[2], nk = w.shape[3], nq = w.shape[0] * kw * nc, q, k
    cdef floating[:, ::1] wp = np.zeros(((nq + 3) // 4 * 4, (nk + 3) // 4 * 4),
                                        np.float32 if floating is float else np.float64)
    for q in range(nq):
        for k in range(nk):
            wp[q, k] = w[q // (kw * nc), q // nc % kw, q % nc, k]
    return wp


# offs[tid, q]: where the row of window element q starts in src for the tile from output row r0
cdef void _offsets(Py_ssize_t[:, ::1] offs, Py_ssize_t tid, Py_ssize_t r0, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t q, i, j, c
    for q in range(pl.nqp):
        if q >= pl.nq:
            offs[tid, q] = pl.zeros
        elif pl.planar:
            i = q // (pl.kw * pl.nc)
            j = q // pl.nc % pl.kw
            c = q % pl.nc
            offs[tid, q] = c * pl.hp * pl.wp + (r0 + i) * pl.wp + j
        else:
            offs[tid, q] = q * pl.cap


# src[tid] <- the planar canvas of sample s: (C, Hp, Wp), x at row ph, column pw, zero around it
cdef void _fill_canvas(floating[:, ::1] src, Py_ssize_t tid, const floating[:, :, ::1] x, Py_ssize_t s,
                       const Plan *pl) noexcept nogil:
    cdef Py_ssize_t r, o, c, plane = pl.hp * pl.wp
    for r in range(pl.zeros):
        src[tid, r] = 0
    for r in range(min(pl.h, pl.hp - pl.ph)):
        for o in range(min(pl.width, pl.wp - pl.pw)):
            for c in range(pl.nc):
                src[tid, c * plane + (pl.ph + r) * pl.wp + pl.pw + o] = x[s, r, o * pl.nc + c]


# dx[s] <- the interior of the planar canvas dsrc[tid] (dx is zero where the canvas does not reach)
cdef void _crop_canvas(floating[:, :, ::1] dx, const floating[:, ::1] dsrc, Py_ssize_t tid, Py_ssize_t s,
                       const Plan *pl) noexcept nogil:
    cdef Py_ssize_t r, o, c, plane = pl.hp * pl.wp
    for r in range(min(pl.h, pl.hp - pl.ph)):
        for o in range(min(pl.width, pl.wp - pl.pw)):
            for c in range(pl.nc):
                dx[s, r, o * pl.nc + c] = dsrc[tid, c * plane + (pl.ph + r) * pl.wp + pl.pw + o]


# The output columns o in [0, OW) of a window element at column offset j whose input column o sw + j - pw
# lies in [0, W): [lo, hi), with lo <= hi <= OW.
cdef inline Py_ssize_t _first_inside(Py_ssize_t j, const Plan *pl) noexcept nogil:
    return min(pl.ow, (pl.pw - j + pl.sw - 1) // pl.sw) if pl.pw > j else 0


cdef inline Py_ssize_t _end_inside(Py_ssize_t j, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t lo = _first_inside(j, pl)
    if pl.width - 1 + pl.pw - j < 0:  # right of the input for every o
        return lo
    return max(lo, min(pl.ow, (pl.width - 1 + pl.pw - j) // pl.sw + 1))


# src[tid, q cap + r OW + o] = x[s, (r0 + r) sh + i - ph, o sw + j - pw, c] for q = (i KW + j) C + c, 0 in
# the padding; x (N,H,W*C)
cdef void _unroll_windows(floating[:, ::1] src, Py_ssize_t tid, const floating[:, :, ::1] x, Py_ssize_t s,
                          Py_ssize_t r0, Py_ssize_t nr, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t i, j, c, r, o, ih, lo, hi, row, start
    for i in range(pl.kh):
        for j in range(pl.kw):
            lo = _first_inside(j, pl)
            hi = _end_inside(j, pl)
            for c in range(pl.nc):
                start = (j - pl.pw) * pl.nc + c
                for r in range(nr):
                    ih = (r0 + r) * pl.sh + i - pl.ph
                    row = ((i * pl.kw + j) * pl.nc + c) * pl.cap + r * pl.ow
                    if ih < 0 or ih >= pl.h:
                        for o in range(pl.ow):
                            src[tid, row + o] = 0
                        continue
                    for o in range(lo):
                        src[tid, row + o] = 0
                    for o in range(lo, hi):
                        src[tid, row + o] = x[s, ih, start + o * pl.sw * pl.nc]
                    for o in range(hi, pl.ow):
                        src[tid, row + o] = 0


# dx[s] += the window rows in dsrc[tid], through the windows: the transpose of _unroll_windows
cdef void _add_windows(floating[:, :, ::1] dx, const floating[:, ::1] dsrc, Py_ssize_t tid, Py_ssize_t s,
                       Py_ssize_t r0, Py_ssize_t nr, const Plan *pl) noexcept nogil:
    cdef Py_ssize_t i, j, c, r, o, ih, lo, hi, row, start
    for i in range(pl.kh):
        for j in range(pl.kw):
            lo = _first_inside(j, pl)
            hi = _end_inside(j, pl)
            for c in range(pl.nc):
                start = (j - pl.pw) * pl.nc + c
                for r in range(nr):
                    ih = (r0 + r) * pl.sh + i - pl.ph
                    row = ((i * pl.kw + j) * pl.nc + c) * pl.cap + r * pl.ow
                    if 0 <= ih < pl.h:
                        for o in range(lo, hi):
                            dx[s, ih, start + o * pl.sw * pl.nc] += dsrc[tid, row + o]


# outT[tid, :K, :P] += sum over q of wp[q, :K] x src row q; blocks of 4 window elements x 2 filters
cdef void _outT_add(floating[:, :, ::1] outT, const floating[:, ::1] src, const Py_ssize_t[:, ::1] offs,
                    const floating[:, ::1] wp, Py_ssize_t tid, Py_ssize_t pixels, Py_ssize_t nk) noexcept nogil:
    cdef Py_ssize_t k, q, p, o0, o1, o2, o3
    cdef floating w00, w10, w20, w30, w01, w11, w21, w31, c0, c1, c2, c3
    for k in range(0, nk + nk % 2, 2):
        for q in range(0, wp.shape[0], 4):
            o0 = offs[tid, q]
            o1 = offs[tid, q + 1]
            o2 = offs[tid, q + 2]
            o3 = offs[tid, q + 3]
            w00 = wp[q, k]
            w10 = wp[q + 1, k]
            w20 = wp[q + 2, k]
            w30 = wp[q + 3, k]
            w01 = wp[q, k + 1]
            w11 = wp[q + 1, k + 1]
            w21 = wp[q + 2, k + 1]
            w31 = wp[q + 3, k + 1]
            for p in range(pixels):
                c0 = src[tid, o0 + p]
                c1 = src[tid, o1 + p]
                c2 = src[tid, o2 + p]
                c3 = src[tid, o3 + p]
                outT[tid, k, p] += w00 * c0 + w10 * c1 + w20 * c2 + w30 * c3
                outT[tid, k + 1, p] += w01 * c0 + w11 * c1 + w21 * c2 + w31 * c3


# dw_part[ch, :, :K] += src rows . dzT[tid, :K, :P]; blocks of 4 window elements x 2 filters
cdef void _dw_add(floating[:, :, ::1] dw_part, Py_ssize_t ch, const floating[:, ::1] src,
                  const Py_ssize_t[:, ::1] offs, const floating[:, :, ::1] dzT, Py_ssize_t tid, Py_ssize_t pixels,
                  Py_ssize_t nk) noexcept nogil:
    cdef Py_ssize_t k, q, p, o0, o1, o2, o3
    cdef floating s00, s10, s20, s30, s01, s11, s21, s31, d0, d1
    for k in range(0, nk + nk % 2, 2):
        for q in range(0, dw_part.shape[1], 4):
            o0 = offs[tid, q]
            o1 = offs[tid, q + 1]
            o2 = offs[tid, q + 2]
            o3 = offs[tid, q + 3]
            s00 = s10 = s20 = s30 = s01 = s11 = s21 = s31 = 0
            for p in range(pixels):
                d0 = dzT[tid, k, p]
                d1 = dzT[tid, k + 1, p]
                s00 = s00 + src[tid, o0 + p] * d0
                s10 = s10 + src[tid, o1 + p] * d0
                s20 = s20 + src[tid, o2 + p] * d0
                s30 = s30 + src[tid, o3 + p] * d0
                s01 = s01 + src[tid, o0 + p] * d1
                s11 = s11 + src[tid, o1 + p] * d1
                s21 = s21 + src[tid, o2 + p] * d1
                s31 = s31 + src[tid, o3 + p] * d1
            dw_part[ch, q, k] += s00
            dw_part[ch, q + 1, k] += s10
            dw_part[ch, q + 2, k] += s20
            dw_part[ch, q + 3, k] += s30
            dw_part[ch, q, k + 1] += s01
            dw_part[ch, q + 1, k + 1] += s11
            dw_part[ch, q + 2, k + 1] += s21
            dw_part[ch, q + 3, k + 1] += s31


# dsrc row q += sum over k of wp[q, k] dzT[tid, k, :P] for the Q real window elements; blocks of 4 filters.
# One row at a time: the rows of a planar canvas overlap.
cdef void _dsrc_add(floating[:, ::1] dsrc, const Py_ssize_t[:, ::1] offs, const floating[:, ::1] wp,
                    const floating[:, :, ::1] dzT, Py_ssize_t tid, Py_ssize_t pixels, Py_ssize_t nq) noexcept nogil:
    cdef Py_ssize_t k, q, p, o
    cdef floating w0, w1, w2, w3
    for q in range(nq):
        o = offs[tid, q]
        for k in range(0, wp.shape[1], 4):
            w0 = wp[q, k]
            w1 = wp[q, k + 1]
            w2 = wp[q, k + 2]
            w3 = wp[q, k + 3]
            for p in range(pixels):
                dsrc[tid, o + p] += w0 * dzT[tid, k, p] + w1 * dzT[tid, k + 1, p] + w2 * dzT[tid, k + 2, p] \
                    + w3 * dzT[tid, k + 3, p]
