/* One float type's microkernel and product: _gemm.h includes this twice, with FASTNN_T (the type) and
   FASTNN_NAME(x) (x with the type's suffix) defined. */
#define T_ FASTNN_T
#define BLOCK_ FASTNN_NAME(fastnn_block)

#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN)

typedef T_ FASTNN_NAME(fastnn_vec) __attribute__((vector_size(8 * sizeof(T_))));
#define V_ FASTNN_NAME(fastnn_vec)

/* unaligned vector loads and stores (each memcpy becomes one move); macros rather than functions, which
   would pass double's 64-byte vectors by value through an ABI GCC warns about */
#define LD_(p) __extension__({ V_ v_; memcpy(&v_, (p), sizeof v_); v_; })
#define ST_(p, v) __extension__({ V_ v_ = (v); memcpy((p), &v_, sizeof v_); })

/* c[i ldc + j] (+)= the reduction, for i < mr <= MR, j < NR. Rows mr..MR-1 read row mr-1's A again and are
   not stored, so nothing outside the first mr rows of c is touched. */
static inline void BLOCK_(T_ *c, ptrdiff_t ldc, const T_ *a, const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1,
                          ptrdiff_t acs1, ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2, int mr,
                          int accumulate)
{
#define ROW_(i) ((i) < mr ? (i) : mr - 1)
    const T_ *a0 = a + ao[0], *a1 = a + ao[ROW_(1)], *a2 = a + ao[ROW_(2)], *a3 = a + ao[ROW_(3)],
             *a4 = a + ao[ROW_(4)], *a5 = a + ao[ROW_(5)];
    T_ *c0 = c, *c1 = c + ROW_(1) * ldc, *c2 = c + ROW_(2) * ldc, *c3 = c + ROW_(3) * ldc,
       *c4 = c + ROW_(4) * ldc, *c5 = c + ROW_(5) * ldc;
#undef ROW_
    const V_ zero = {0};
    V_ x00 = zero, x01 = zero, x10 = zero, x11 = zero, x20 = zero, x21 = zero, x30 = zero, x31 = zero,
       x40 = zero, x41 = zero, x50 = zero, x51 = zero;
    if (accumulate) {
        x00 = LD_(c0); x01 = LD_(c0 + 8); x10 = LD_(c1); x11 = LD_(c1 + 8); x20 = LD_(c2); x21 = LD_(c2 + 8);
        x30 = LD_(c3); x31 = LD_(c3 + 8); x40 = LD_(c4); x41 = LD_(c4 + 8); x50 = LD_(c5); x51 = LD_(c5 + 8);
    }
    for (ptrdiff_t t1 = 0; t1 < s1; t1++) {
        const T_ *bp = b + t1 * ldb1;
        ptrdiff_t at = t1 * acs1;
        for (ptrdiff_t t2 = 0; t2 < s2; t2++, bp += ldb2, at += acs2) {
            V_ b0 = LD_(bp), b1 = LD_(bp + 8), s;
            s = zero + a0[at]; x00 += s * b0; x01 += s * b1;
            s = zero + a1[at]; x10 += s * b0; x11 += s * b1;
            s = zero + a2[at]; x20 += s * b0; x21 += s * b1;
            s = zero + a3[at]; x30 += s * b0; x31 += s * b1;
            s = zero + a4[at]; x40 += s * b0; x41 += s * b1;
            s = zero + a5[at]; x50 += s * b0; x51 += s * b1;
        }
    }
    ST_(c0, x00); ST_(c0 + 8, x01);
    if (mr > 1) { ST_(c1, x10); ST_(c1 + 8, x11); }
    if (mr > 2) { ST_(c2, x20); ST_(c2 + 8, x21); }
    if (mr > 3) { ST_(c3, x30); ST_(c3 + 8, x31); }
    if (mr > 4) { ST_(c4, x40); ST_(c4 + 8, x41); }
    if (mr > 5) { ST_(c5, x50); ST_(c5 + 8, x51); }
}
#undef LD_
#undef ST_
#undef V_

#else  /* no vector extensions (or FASTNN_GEMM_PLAIN defined): the same block as plain loops */

static inline void BLOCK_(T_ *c, ptrdiff_t ldc, const T_ *a, const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1,
                          ptrdiff_t acs1, ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2, int mr,
                          int accumulate)
{
    for (int i = 0; i < mr; i++) {
        T_ acc[FASTNN_NR];
        for (int j = 0; j < FASTNN_NR; j++)
            acc[j] = accumulate ? c[i * ldc + j] : 0;
        for (ptrdiff_t t1 = 0; t1 < s1; t1++)
            for (ptrdiff_t t2 = 0; t2 < s2; t2++) {
                T_ x = a[ao[i] + t1 * acs1 + t2 * acs2];
                const T_ *bp = b + t1 * ldb1 + t2 * ldb2;
                for (int j = 0; j < FASTNN_NR; j++)
                    acc[j] += x * bp[j];
            }
        for (int j = 0; j < FASTNN_NR; j++)
            c[i * ldc + j] = acc[j];
    }
}

#endif

/* c (m, n) (+)= the reduction, in blocks of MR x NR; n % NR == 0 */
static inline void FASTNN_NAME(fastnn_gemm)(T_ *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n, const T_ *a,
                                            const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1, ptrdiff_t acs1,
                                            ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2,
                                            int accumulate)
{
    for (ptrdiff_t i0 = 0; i0 < m; i0 += FASTNN_MR) {
        int mr = m - i0 < FASTNN_MR ? (int)(m - i0) : FASTNN_MR;
        for (ptrdiff_t j0 = 0; j0 < n; j0 += FASTNN_NR)
            BLOCK_(c + i0 * ldc + j0, ldc, a, ao + i0, b + j0, s1, acs1, ldb1, s2, acs2, ldb2, mr, accumulate);
    }
}

#undef T_
#undef BLOCK_
