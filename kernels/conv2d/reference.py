"""2-D convolution, channels-last, with bias and activation fused.

Legend: N batch, H W input height/width, C input channels, KH KW kernel size, K filters,
OH OW output height/width, sh sw strides, ph pw the zero padding added above/left of the input
(the padding below/right is implied by the output size; "valid" is ph = pw = 0).
Output size: OH = (H + pad_total_h - KH) // sh + 1 (see fastnn.layers.conv_output_size).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..activations.reference import activation_backward, activation_forward


def _padded(x, oh, ow, kh, kw, sh, sw, ph, pw):
    """x placed in a zero canvas just large enough for every window: (N, (OH-1) sh + KH, (OW-1) sw + KW, C)."""
    n, h, w, c = x.shape
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    xp = np.zeros((n, hp, wp, c), dtype=x.dtype)
    hh, ww = min(h, hp - ph), min(w, wp - pw)
    xp[:, ph:ph + hh, pw:pw + ww] = x[:, :hh, :ww]
    return xp


def _windows(xp, kh, kw, sh, sw):
    """Strided view of every window: (N, OH, OW, C, KH, KW)."""
    return sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]


# x (N,H,W,C) w (KH,KW,C,K) b (K,) or None  ->  out (N,OH,OW,K)
def conv2d_forward(out, x, w, b, sh, sw, ph, pw, act):
    kh, kw = w.shape[:2]
    oh, ow = out.shape[1:3]
    win = _windows(_padded(x, oh, ow, kh, kw, sh, sw, ph, pw), kh, kw, sh, sw)
    out[...] = np.tensordot(win, w, axes=([3, 4, 5], [2, 0, 1]))
    if b is not None:
        out += b
    activation_forward(out, out, act)


# dout (N,OH,OW,K) is overwritten with the pre-activation gradient
# dx (N,H,W,C) or None, dw (KH,KW,C,K), db (K,) or None
def conv2d_backward(dx, dw, db, dout, x, w, out, sh, sw, ph, pw, act):
    activation_backward(dout, dout, out, act)
    kh, kw = w.shape[:2]
    n, oh, ow, _ = dout.shape
    xp = _padded(x, oh, ow, kh, kw, sh, sw, ph, pw)
    win = _windows(xp, kh, kw, sh, sw)
    dw[...] = np.tensordot(win, dout, axes=([0, 1, 2], [0, 1, 2])).transpose(1, 2, 0, 3)
    if db is not None:
        np.sum(dout, axis=(0, 1, 2), out=db)
    if dx is not None:
        dxp = np.zeros_like(xp)
        for i in range(kh):
            for j in range(kw):
                # each output pixel sends dz @ w[i, j].T back to input pixel (oh*sh + i, ow*sw + j)
                dxp[:, i:i + sh * oh:sh, j:j + sw * ow:sw] += dout @ w[i, j].T
        h, wd = x.shape[1:3]
        hh, ww = min(h, xp.shape[1] - ph), min(wd, xp.shape[2] - pw)
        dx[...] = 0
        dx[:, :hh, :ww] = dxp[:, ph:ph + hh, pw:pw + ww]
