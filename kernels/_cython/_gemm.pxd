# The C helpers of the Cython kernels: the register-blocked matrix product of _gemm.h behind gemm(), and the
# planar <-> interleaved transposes of _transpose.h behind interleave() and deinterleave(). Each wrapper
# checks the call's extents against its buffers first (the C code has no bounds checks, and the
# FASTNN_CYTHON_DEBUG build's memoryview checks do not reach inside it): O(m) per product call, against
# O(m n s1 s2) for the product.
from cython cimport floating

cdef extern from "_gemm.h" nogil:
    enum:
        FASTNN_NR
    void fastnn_gemm_f(float *c, Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n, const float *a, const Py_ssize_t *ao,
                       const float *b, Py_ssize_t s1, Py_ssize_t acs1, Py_ssize_t ldb1, Py_ssize_t s2, Py_ssize_t acs2,
                       Py_ssize_t ldb2, int accumulate)
    void fastnn_gemm_d(double *c, Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n, const double *a,
                       const Py_ssize_t *ao, const double *b, Py_ssize_t s1, Py_ssize_t acs1, Py_ssize_t ldb1,
                       Py_ssize_t s2, Py_ssize_t acs2, Py_ssize_t ldb2, int accumulate)


cdef extern from "_transpose.h" nogil:
    void fastnn_interleave_f(float *dst, const float *src, Py_ssize_t lds, Py_ssize_t k, Py_ssize_t n)
    void fastnn_deinterleave_f(float *dst, Py_ssize_t ldd, const float *src, Py_ssize_t k, Py_ssize_t n)


cdef inline Py_ssize_t padded(Py_ssize_t n) noexcept nogil:
    """n rounded up to the product's block width NR."""
    return (n + FASTNN_NR - 1) // FASTNN_NR * FASTNN_NR


cdef inline int _out_of_bounds() except -1 nogil:
    with gil:
        raise IndexError("a C helper's extents fall outside its buffers")


cdef inline int gemm_at(floating *c, Py_ssize_t clen, Py_ssize_t co, Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n,
                        const floating *a, Py_ssize_t alen, Py_ssize_t aoff, const Py_ssize_t *ao,
                        Py_ssize_t aolen, Py_ssize_t aoi, const floating *b, Py_ssize_t blen, Py_ssize_t boff,
                        Py_ssize_t s1, Py_ssize_t acs1, Py_ssize_t ldb1, Py_ssize_t s2, Py_ssize_t acs2,
                        Py_ssize_t ldb2, bint accumulate) except -1 nogil:
    """gemm() on buffers given by their first element and length (clen elements from c, and so on), for
    kernels that hold pointers rather than flat views: the same product and the same checks."""
    cdef Py_ssize_t i, j, lo, hi
    if m <= 0 or n <= 0:
        return 0
    if ldc < n or co < 0 or co + (m - 1) * ldc + n > clen:
        return _out_of_bounds()
    if s1 <= 0 or s2 <= 0:
        if not accumulate:   # an empty reduction: c = 0
            for i in range(m):
                for j in range(n):
                    c[co + i * ldc + j] = 0
        return 0
    if (acs1 < 0 or acs2 < 0 or ldb1 < 0 or ldb2 < 0 or aoi < 0 or aoi + m > aolen
            or boff < 0 or boff + (s1 - 1) * ldb1 + (s2 - 1) * ldb2 + n > blen):
        return _out_of_bounds()
    lo = hi = ao[aoi]
    for i in range(aoi + 1, aoi + m):
        lo = min(lo, ao[i])
        hi = max(hi, ao[i])
    if aoff + lo < 0 or aoff + hi + (s1 - 1) * acs1 + (s2 - 1) * acs2 >= alen:
        return _out_of_bounds()
    if floating is float:
        fastnn_gemm_f(&c[co], ldc, m, n, &a[aoff], &ao[aoi], &b[boff], s1, acs1, ldb1, s2, acs2, ldb2, accumulate)
    else:
        fastnn_gemm_d(&c[co], ldc, m, n, &a[aoff], &ao[aoi], &b[boff], s1, acs1, ldb1, s2, acs2, ldb2, accumulate)
    return 0


cdef inline int gemm(floating[::1] c, Py_ssize_t co, Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n,
                     const floating[::1] a, Py_ssize_t aoff, const Py_ssize_t[::1] ao, Py_ssize_t aoi,
                     const floating[::1] b, Py_ssize_t boff, Py_ssize_t s1, Py_ssize_t acs1, Py_ssize_t ldb1,
                     Py_ssize_t s2, Py_ssize_t acs2, Py_ssize_t ldb2, bint accumulate) except -1 nogil:
    """c[co + i ldc + j] (+)= sum over t1 < s1, t2 < s2 of a[aoff + ao[aoi + i] + t1 acs1 + t2 acs2]
    b[boff + t1 ldb1 + t2 ldb2 + j] for i < m, j < n; every step >= 0.
    IndexError (before anything is written) when any of it would fall outside c, a, ao or b."""
    if m <= 0 or n <= 0 or c.shape[0] == 0:   # nothing to write, or no c to write it in (gemm_at says which)
        return gemm_at(<floating *>NULL, c.shape[0], co, ldc, m, n, <const floating *>NULL, 0, aoff, NULL, 0, aoi,
                       <const floating *>NULL, 0, boff, s1, acs1, ldb1, s2, acs2, ldb2, accumulate)
    return gemm_at(&c[0], c.shape[0], co, ldc, m, n, &a[0] if a.shape[0] else <const floating *>NULL, a.shape[0], aoff,
                   &ao[0] if ao.shape[0] else NULL, ao.shape[0], aoi, &b[0] if b.shape[0] else <const floating *>NULL, b.shape[0],
                   boff, s1, acs1, ldb1, s2, acs2, ldb2, accumulate)


cdef inline int interleave(floating[::1] dst, Py_ssize_t do, const floating[::1] src, Py_ssize_t so,
                           Py_ssize_t lds, Py_ssize_t k, Py_ssize_t n) except -1 nogil:
    """dst[do + o k + i] = src[so + i lds + o] for i < k, o < n (planar rows to channels-last)."""
    cdef Py_ssize_t i, o
    if k <= 0 or n <= 0:
        return 0
    if do < 0 or so < 0 or lds < n or do + n * k > dst.shape[0] or so + (k - 1) * lds + n > src.shape[0]:
        return _out_of_bounds()
    if floating is float:
        fastnn_interleave_f(&dst[do], &src[so], lds, k, n)
    else:
        for o in range(n):
            for i in range(k):
                dst[do + o * k + i] = src[so + i * lds + o]
    return 0


cdef inline int deinterleave(floating[::1] dst, Py_ssize_t do, Py_ssize_t ldd, const floating[::1] src,
                             Py_ssize_t so, Py_ssize_t k, Py_ssize_t n) except -1 nogil:
    """dst[do + i ldd + o] = src[so + o k + i] for i < k, o < n (channels-last to planar rows)."""
    cdef Py_ssize_t i, o
    if k <= 0 or n <= 0:
        return 0
    if do < 0 or so < 0 or ldd < n or do + (k - 1) * ldd + n > dst.shape[0] or so + n * k > src.shape[0]:
        return _out_of_bounds()
    if floating is float:
        fastnn_deinterleave_f(&dst[do], ldd, &src[so], k, n)
    else:
        for i in range(k):
            for o in range(n):
                dst[do + i * ldd + o] = src[so + o * k + i]
    return 0
