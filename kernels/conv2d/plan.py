"""conv2d's geometry and scratch layout, computed here once for both compiled backends: conv2d_plan (the
call's sizes) and conv2d_layout (where each buffer lies in the call's scratch). Both run in Python once per
shape (cached); numba.py hands the named tuples to its kernels as they are, cython.pyx reads their fields
into C structs of the same names.

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters, OH OW output
height/width, sh sw strides, ph pw the zero padding above/left (below/right implied by the output size).
The canvas: one sample inside zeros, Hp = (OH-1) sh + KH rows of pitch Wp C, Wp = (OW-1) sw + KW pixels,
just large enough for every window (input rows/columns past it are never read, as in the reference),
then one spare row and NR spare zeros. Q = KH KW C (one window: KH runs of KW C, `pitch` apart in the
canvas); Qp, K16 = Q, K rounded up to NR (the GEMM block's width).
"""
from collections import namedtuple

from ..design import CONV_TILE, GEMM_NR, chunk_count

Plan = namedtuple("Plan", [
    "n", "h", "width", "nc", "kh", "kw", "nk", "oh", "ow", "sh", "sw", "ph", "pw",   # the call
    "q",        # KH KW C: the elements of one window
    "direct",   # C == 1 at stride 1 (the first layer on grey images): the planar forward and a dot-product dw
    "wp", "hp", "pitch", "run",   # the canvas: Wp, Hp, Wp C; a window's run KW C
    "qp", "k16",                  # Q and K rounded up to NR
    "rows",     # output rows per dP tile (dx)
    "frows",    # output rows per forward block
    "grows",    # output rows per dw product (dz rows up to 4 tiles, read again for every MR window elements)
    "canvas",   # elements of a canvas: Hp rows, a spare row, NR spare zeros (the planar forward reads past)
    "apitch",   # the planar forward's accumulator row pitch: frows Wp rounded up to NR
    "prow",     # rows of a dw partial: Q, or Q rounded up to 4 for the planar layer's dot products
    "k2",       # the planar dw's filters, rounded up to 2 (its dot products run in pairs)
])


def conv2d_plan(n, h, width, nc, kh, kw, nk, oh, ow, sh, sw, ph, pw):
    """The Plan of a call with x (N,H,W,C), w (KH,KW,C,K), out (N,OH,OW,K), strides and padding.
    Plain arithmetic on ints, so that Numba compiles it as it is (no calls to Python helpers)."""
    nr = GEMM_NR
    q = kh * kw * nc
    direct = nc == 1 and sh == 1 and sw == 1
    wp, hp = (ow - 1) * sw + kw, (oh - 1) * sh + kh
    qp, k16 = (q + nr - 1) // nr * nr, (nk + nr - 1) // nr * nr
    rows = max(1, min(oh, CONV_TILE // (ow * qp)))
    frows = max(1, min(oh, CONV_TILE // (wp * nk if direct else ow * k16)))
    grows = max(rows, min(oh, 4 * CONV_TILE // (ow * k16)))
    return Plan(n, h, width, nc, kh, kw, nk, oh, ow, sh, sw, ph, pw, q, direct, wp, hp, wp * nc, kw * nc, qp, k16,
                rows, frows, grows, (hp + 1) * wp * nc + nr, (frows * wp + nr - 1) // nr * nr,
                (q + 3) // 4 * 4 if direct else q, (nk + 1) // 2 * 2)


# A call's scratch (kernels/_scratch.py) is two flat arrays, a float and an int one. The float one is a part
# shared by the whole call, then one part per chunk of samples (backward: each chunk's partial sums, so the
# chunks, not the threads, decide the sums' order; chunk ch of C holds samples [ch N // C, (ch + 1) N // C)),
# then one part per thread, which serves every sample or
# chunk the thread runs and so stays in its cache. Every piece starts on a cache line (_al). The kernels
# rely on what they never write staying zero: the canvas's border, g's columns past K, gt's dropped
# positions.
#   forward, shared: bias (K16), then at w_at wk (K, Q) planar or W (Q, K16); per thread: the canvas, then at
#     blk_at the block (acc (K, apitch) planar, else res (frows OW, K16)), at pre_at the block channels-last
#     before its activation (frows OW K); ints: the filters' offsets in wk, or where each output's window
#     starts in the canvas.
#   backward, shared: wt (K, Qp), then at one_at a one (db = ones @ dz); per chunk: the dw partial (prow, K16),
#     then at db_at db's (K16); per thread: the canvas, at g_at g (dz rows padded to K16, when K < K16), at
#     gt_at gt (dz planar, the planar layer), at dcv_at dcanvas and at dp_at dP (with dx), at raw_at a
#     sample's dout before act' (OH OW K); ints: the window elements' offsets, at go_at dz's rows', at taps_at
#     the taps' and at ko_at gt's rows'.
# pre and raw are the sources of the activation passes for the Numba kernels, which run them out of place:
# called on one array as both source and destination, LLVM's runtime overlap check fails and the loop falls
# back to scalar code, about 5x slower. The Cython kernels (GCC) activate in place and leave them unused.
Layout = namedtuple("Layout", [
    "shared", "chunk", "thread", "ints", "ithread", "chunks",   # part sizes (kernels/_scratch.py), and chunks
    "w_at", "one_at", "db_at", "blk_at", "pre_at", "g_at", "gt_at", "dcv_at", "dp_at", "raw_at", "go_at", "taps_at",
    "ko_at",
])


def _al(n):
    """n rounded up to 16 elements: the next piece starts on a cache line (64 bytes of float32)."""
    return (n + 15) // 16 * 16


def conv2d_layout(p, backward, with_dx):
    """The Layout of a call of Plan p: the forward's, or the backward's (with_dx: computing dx too)."""
    if not backward:
        w_at = _al(p.k16)
        blk_at = _al(p.canvas)
        pre_at = blk_at + _al(p.nk * p.apitch if p.direct else p.frows * p.ow * p.k16)
        return Layout(shared=w_at + _al(p.nk * p.q if p.direct else p.q * p.k16), chunk=0,
                      thread=pre_at + _al(p.frows * p.ow * p.nk), ints=p.nk if p.direct else p.oh * p.ow, ithread=0,
                      chunks=1,
                      w_at=w_at, one_at=0, db_at=0, blk_at=blk_at, pre_at=pre_at, g_at=0, gt_at=0, dcv_at=0, dp_at=0,
                      raw_at=0, go_at=0, taps_at=0, ko_at=0)
    db_at = p.prow * p.k16
    chunk = _al(db_at + p.k16)
    chunks = chunk_count(p.n, p.n * p.oh * p.ow * p.q * p.nk, chunk)
    g_at = _al(p.canvas)
    gt_at = g_at + _al(0 if p.k16 == p.nk else p.grows * p.ow * p.k16)
    dcv_at = gt_at + _al(p.k2 * p.oh * p.wp if p.direct else 0)
    dp_at = dcv_at + (_al(p.canvas) if with_dx else 0)
    raw_at = dp_at + (_al(p.rows * p.ow * p.qp) if with_dx else 0)
    go_at = _al(p.q)
    taps_at = go_at + _al(p.rows * p.ow)
    ko_at = taps_at + _al(p.prow)
    return Layout(shared=_al(p.nk * p.qp) + _al(1), chunk=chunk, thread=raw_at + _al(p.oh * p.ow * p.nk),
                  ints=ko_at + _al(p.k2), ithread=0, chunks=chunks, w_at=0, one_at=_al(p.nk * p.qp), db_at=db_at, blk_at=0, pre_at=0,
                  g_at=g_at, gt_at=gt_at, dcv_at=dcv_at, dp_at=dp_at, raw_at=raw_at, go_at=go_at, taps_at=taps_at,
                  ko_at=ko_at)
