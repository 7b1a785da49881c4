"""2-D max pooling, channels-last (fastnn.reference.pooling).

Legend: N batch, H W input size, C channels, PH PW pool size, sh sw strides, ph pw padding above/left
(padded cells never win: they count as -inf), OH OW output size.
argmax (N,OH,OW,C) int32 holds the winning position inside each window, i * PW + j; ties go to the
first maximum in row-major window order, and a NaN wins as in np.argmax, in every backend.
"""
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
def maxpool2d_backward(floating[:, :, :, ::1] dx, const floating[:, :, :, ::1] dout,
                       const int32_t[:, :, :, ::1] argmax, int kh, int kw, int sh, int sw, int ph, int pw):
    cdef Py_ssize_t n = dout.shape[0], oh = dout.shape[1], ow = dout.shape[2], nc = dout.shape[3]
    cdef Py_ssize_t h = dx.shape[1], w = dx.shape[2]
    cdef Py_ssize_t b, r, q, c, ih, iw
    # one task per sample: overlapping windows of a sample add into the same cells of that sample only
    for b in prange(n, nogil=True, num_threads=fastnn_threads(), schedule="static", use_threads_if=n * oh * ow * nc >= GRAIN):
        for ih in range(h):
            for iw in range(w):
                for c in range(nc):
                    dx[b, ih, iw, c] = 0
        for r in range(oh):
            for q in range(ow):
                for c in range(nc):
                    ih = r * sh + argmax[b, r, q, c] // kw - ph
                    iw = q * sw + argmax[b, r, q, c] % kw - pw
                    if 0 <= ih < h and 0 <= iw < w:  # a padded winner (all -inf window) has nowhere to go
                        dx[b, ih, iw, c] += dout[b, r, q, c]
