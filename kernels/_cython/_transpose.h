/* Between planar (K rows of positions) and interleaved (positions of K channels) float layouts: the first
   convolution layer's planar forward writes its output channels-last, and its weight gradient reads dz
   planar (conv2d.pyx). With K = 6 a scalar loop moves one float per store at a 24-byte stride; here 8
   positions x 8 channels move as one 8x8 transpose of vectors (GCC or Clang vector extensions, float only),
   when K <= 8 or K % 8 == 0; otherwise, and for double, the plain loops. No bounds checks: the Cython
   wrappers check the extents (_gemm.pxd, interleave and deinterleave). Only what the definitions below
   name is read or written.

     fastnn_interleave_f(dst, src, lds, k, n):   dst[o k + i] = src[i lds + o]   for i < k, o < n
     fastnn_deinterleave_f(dst, ldd, src, k, n): dst[i ldd + o] = src[o k + i]   for i < k, o < n        */
#ifndef FASTNN_TRANSPOSE_H
#define FASTNN_TRANSPOSE_H

#include <stddef.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN)
#define FASTNN_TRANSPOSE_VECTOR 1
typedef float fastnn_v8t __attribute__((vector_size(32)));
/* the same vector at any float's address: loads and stores through it are single unaligned moves (a
   memcpy of 32 bytes became two 16-byte moves through the stack here) */
typedef float fastnn_v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef int fastnn_i8t __attribute__((vector_size(32)));
/* __builtin_shufflevector: Clang, GCC 12 and later; __builtin_shuffle: older GCC */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define FASTNN_HAS_SHUFFLEVECTOR 1
#endif
#endif
#ifdef FASTNN_HAS_SHUFFLEVECTOR
#define FASTNN_SHUF(a, b, i0, i1, i2, i3, i4, i5, i6, i7) __builtin_shufflevector(a, b, i0, i1, i2, i3, i4, i5, i6, i7)
#else
#define FASTNN_SHUF(a, b, i0, i1, i2, i3, i4, i5, i6, i7) \
    __builtin_shuffle(a, b, (fastnn_i8t){i0, i1, i2, i3, i4, i5, i6, i7})
#endif

/* c[j] = column j of the 8x8 matrix whose rows are r[0..7] */
static inline void fastnn_t8x8(fastnn_v8t c[8], const fastnn_v8t r[8])
{
    fastnn_v8t t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = FASTNN_SHUF(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = FASTNN_SHUF(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            u[i + 2 * h] = FASTNN_SHUF(t[i + h], t[i + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 2 * h + 1] = FASTNN_SHUF(t[i + h], t[i + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    /* u[0]: column 0 (rows 0-3) and column 4 (rows 0-3); u[1]: 1 and 5; u[2]: 2 and 6; u[3]: 3 and 7;
       u[4..7] the same for rows 4-7 */
    for (int j = 0; j < 4; j++) {
        c[j] = FASTNN_SHUF(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        c[j + 4] = FASTNN_SHUF(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}
#else
#define FASTNN_TRANSPOSE_VECTOR 0
#endif

#if FASTNN_TRANSPOSE_VECTOR
/* positions o..o+7 of every channel group (of 8; rows past k read row k-1 again and are never stored) */
static inline void fastnn_interleave8(float *dst, const float *src, ptrdiff_t lds, ptrdiff_t k, ptrdiff_t o)
{
    for (ptrdiff_t i0 = 0; i0 < k; i0 += 8) {
        fastnn_v8t r[8], c[8];
        for (int i = 0; i < 8; i++)
            r[i] = *(const fastnn_v8u *)(src + (i0 + i < k ? i0 + i : k - 1) * lds + o);
        fastnn_t8x8(c, r);
        for (int t = 0; t < 8; t++)
            *(fastnn_v8u *)(dst + (o + t) * k + i0) = c[t];
    }
}

static inline void fastnn_deinterleave8(float *dst, ptrdiff_t ldd, const float *src, ptrdiff_t k, ptrdiff_t o)
{
    for (ptrdiff_t i0 = 0; i0 < k; i0 += 8) {
        fastnn_v8t r[8], c[8];
        for (int t = 0; t < 8; t++)
            r[t] = *(const fastnn_v8u *)(src + (o + t) * k + i0);
        fastnn_t8x8(c, r);
        for (int i = 0; i < 8 && i0 + i < k; i++)
            *(fastnn_v8u *)(dst + (i0 + i) * ldd + o) = c[i];
    }
}
#endif

/* Where the 8-position groups of a row of n positions end: with k < 8 a group's 8-lane accesses at its last
   position reach 8 - k floats into the positions after it, so groups start at most at `last`, the start
   of the last group whose accesses stay inside the row (-1: none does). The groups run o = 0, 8, ... up to
   `last`, then once more from `last` itself when positions remain (rewriting a few with the same values),
   and the plain loop takes the rest. */
static inline ptrdiff_t fastnn_last_group(ptrdiff_t k, ptrdiff_t n)
{
    if (!(k <= 8 || k % 8 == 0) || n * k < 8)
        return -1;
    return (n * k - 8) / k - 7;
}

/* the two public moves below: to_inter, inter[o k + i] = planar[i ld + o]; else the other way. Neither
   pointer is written when it is the source (the public functions take it as const). */
static inline void fastnn_move_f(float *inter, float *planar, ptrdiff_t ld, ptrdiff_t k, ptrdiff_t n, int to_inter)
{
    ptrdiff_t o = 0;
#if FASTNN_TRANSPOSE_VECTOR
    /* a store (to_inter) or load (from inter) of 8 channels at position p also covers (k < 8) the first
       channels of the positions after it: stores there are overwritten later by those positions' own,
       loads there are ignored */
    ptrdiff_t last = fastnn_last_group(k, n);
    for (; last >= 0 && o <= last; o += 8) {
        if (to_inter)
            fastnn_interleave8(inter, planar, ld, k, o);
        else
            fastnn_deinterleave8(planar, ld, inter, k, o);
    }
    if (last >= 0 && o < n) {
        if (to_inter)
            fastnn_interleave8(inter, planar, ld, k, last);
        else
            fastnn_deinterleave8(planar, ld, inter, k, last);
        o = last + 8;
    }
#endif
    for (; o < n; o++)
        for (ptrdiff_t i = 0; i < k; i++) {
            if (to_inter)
                inter[o * k + i] = planar[i * ld + o];
            else
                planar[i * ld + o] = inter[o * k + i];
        }
}

static inline void fastnn_interleave_f(float *dst, const float *src, ptrdiff_t lds, ptrdiff_t k, ptrdiff_t n)
{
    fastnn_move_f(dst, (float *)src, lds, k, n, 1);
}

static inline void fastnn_deinterleave_f(float *dst, ptrdiff_t ldd, const float *src, ptrdiff_t k, ptrdiff_t n)
{
    fastnn_move_f((float *)src, dst, ldd, k, n, 0);
}

#endif
