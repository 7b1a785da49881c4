"""2-D max pooling, channels-last.

Legend: N batch, H W input size, C channels, PH PW pool size, sh sw strides, ph pw padding above/left
(padded cells never win: they count as -inf), OH OW output size.
argmax (N,OH,OW,C) int32 holds the winning position inside each window, i * PW + j; ties go to the
first maximum in row-major window order, in every backend.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _padded(x, oh, ow, kh, kw, sh, sw, ph, pw):
    n, h, w, c = x.shape
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    xp = np.full((n, hp, wp, c), -np.inf, dtype=x.dtype)
    hh, ww = min(h, hp - ph), min(w, wp - pw)
    xp[:, ph:ph + hh, pw:pw + ww] = x[:, :hh, :ww]
    return xp


# x (N,H,W,C) -> out (N,OH,OW,C), argmax (N,OH,OW,C)
def maxpool2d_forward(out, argmax, x, kh, kw, sh, sw, ph, pw):
    n, oh, ow, c = out.shape
    xp = _padded(x, oh, ow, kh, kw, sh, sw, ph, pw)
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw].reshape(n, oh, ow, c, kh * kw)
    argmax[...] = win.argmax(axis=-1)
    out[...] = np.take_along_axis(win, argmax[..., None].astype(np.intp), axis=-1)[..., 0]


# dout (N,OH,OW,C) -> dx (N,H,W,C): each output's gradient goes to its window's winner
def maxpool2d_backward(dx, dout, argmax, kh, kw, sh, sw, ph, pw):
    n, oh, ow, c = dout.shape
    h, w = dx.shape[1:3]
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    dxp = np.zeros((n, hp, wp, c), dtype=dx.dtype)
    for k in range(kh * kw):
        i, j = divmod(k, kw)
        dxp[:, i:i + sh * oh:sh, j:j + sw * ow:sw] += dout * (argmax == k)
    hh, ww = min(h, hp - ph), min(w, wp - pw)
    dx[...] = 0
    dx[:, :hh, :ww] = dxp[:, ph:ph + hh, pw:pw + ww]
