"""2-D max pooling, channels-last (fastnn.reference.pooling).

Legend: N batch, H W input size, C channels, PH PW pool size, sh sw strides, ph pw padding above/left
(padded cells never win: they count as -inf), OH OW output size.
argmax (N,OH,OW,C) int32 holds the winning position inside each window, i * PW + j; ties go to the
first maximum in row-major window order, and a NaN wins as in np.argmax, in every backend.
"""
import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t

from cython.parallel cimport prange

from _shared cimport bind_threads, fastnn_threads, floating, GRAIN

bind_threads()


# x (N,H,W,C) -> out (N,OH,OW,C), argmax (N,OH,OW,C)
def maxpool2d_forward(floating[:, :, :, ::1] out, int32_t[:, :, :, ::1] argmax, const floating[:, :, :, ::1] x,
                      int kh, int kw, int sh, int sw, int ph, int pw):
    cdef Py_ssize_t n = out.shape[0], oh = out.shape[1], ow = out.shape[2], nc = out.shape[3]
    cdef Py_ssize_t t, b, r, q, c, i, j, ih, iw
    cdef int32_t k
    cdef floating v, best
    cdef bint take
    # one task per output row (sample b, row r); the window's cells in row-major order, the channels
    # inner: out and argmax of a pixel are the running maximum and its position over the cells
    for t in prange(n * oh, nogil=True, num_threads=fastnn_threads(), schedule="static",
                    use_threads_if=n * oh * ow * nc * kh * kw >= GRAIN):
        b = t // oh
        r = t % oh
        for q in range(ow):
            k = 0
            for i in range(kh):
                ih = r * sh + i - ph
                for j in range(kw):
                    iw = q * sw + j - pw
                    for c in range(nc):
                        v = x[b, ih, iw, c] if 0 <= ih < x.shape[1] and 0 <= iw < x.shape[2] else -INFINITY
                        best = out[b, r, q, c]
                        # np.argmax: the first strictly greater value wins, and the first NaN wins for good
                        take = k == 0 or (best == best and (v > best or v != v))
                        out[b, r, q, c] = v if take else best
                        argmax[b, r, q, c] = k if take else argmax[b, r, q, c]
                    k = k + 1


# dout (N,OH,OW,C) -> dx (N,H,W,C): each output's gradient goes to its window's winner
def maxpool2d_backward(dx, dout, argmax, int kh, int kw, int sh, int sw, int ph, int pw):
    # the cell of each window position, looked up rather than divided out per output
    cells = np.arange(kh * kw, dtype=np.intp)
    _backward(dx.reshape(dx.shape[0], -1), dx.shape[1], dx.shape[2], dout, argmax, cells // kw, cells % kw,
              sh, sw, ph, pw)


# dx (N,H*W*C); window position k is at row di[k], column dj[k] of its window
def _backward(floating[:, ::1] dx, Py_ssize_t h, Py_ssize_t w, const floating[:, :, :, ::1] dout,
              const int32_t[:, :, :, ::1] argmax, const Py_ssize_t[::1] di, const Py_ssize_t[::1] dj,
              int sh, int sw, int ph, int pw):
    cdef Py_ssize_t n = dout.shape[0], oh = dout.shape[1], ow = dout.shape[2], nc = dout.shape[3]
    cdef Py_ssize_t b, r, q, c, k, ih, iw
    # one task per sample: overlapping windows of a sample add into the same cells of that sample only
    for b in prange(n, nogil=True, num_threads=fastnn_threads(),
                    schedule="static", use_threads_if=n * oh * ow * nc >= GRAIN):
        for k in range(dx.shape[1]):
            dx[b, k] = 0
        for r in range(oh):
            for q in range(ow):
                for c in range(nc):
                    k = argmax[b, r, q, c]
                    if 0 <= k < di.shape[0]:
                        ih = r * sh + di[k] - ph
                        iw = q * sw + dj[k] - pw
                        if 0 <= ih < h and 0 <= iw < w:  # a padded winner (all -inf window) has nowhere to go
                            dx[b, (ih * w + iw) * nc + c] += dout[b, r, q, c]
