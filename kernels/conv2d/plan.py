"""conv2d's geometry, computed here once for both compiled backends (numba.py jit-compiles conv2d_plan
itself; cython.pyx reads the fields of the Plan it returns into its C struct of the same names).

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters, OH OW output
height/width, sh sw strides, ph pw the zero padding above/left (below/right implied by the output size).
The canvas: one sample inside zeros, Hp = (OH-1) sh + KH rows of pitch Wp C, Wp = (OW-1) sw + KW pixels,
just large enough for every window (input rows/columns past it are never read, as in the reference),
then one spare row and NR spare zeros. Q = KH KW C (one window: KH runs of KW C, `pitch` apart in the
canvas); Qp, K16 = Q, K rounded up to NR (the GEMM block's width).
"""
from collections import namedtuple

from ..design import CONV_TILE, GEMM_NR

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
