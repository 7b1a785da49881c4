/* One float type's microkernel and product: _gemm.h includes this twice, with FASTNN_T (the type) and
   FASTNN_NAME(x) (x with the type's suffix) defined, and FASTNN_VBYTES and FASTNN_ROWS (the vector width
   and block height for the target being compiled). */
#define T_ FASTNN_T
#define BLOCK_ FASTNN_NAME(fastnn_block)
/* float64 keeps half the rows: its vectors hold half the lanes, so a row takes twice the registers */
#define ROWS_ (sizeof(T_) == 4 ? FASTNN_ROWS : (FASTNN_ROWS + 1) / 2)

#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN)

typedef T_ FASTNN_NAME(fastnn_vec) __attribute__((vector_size(FASTNN_VBYTES)));
#define V_ FASTNN_NAME(fastnn_vec)
#define LANES_ ((int)(FASTNN_VBYTES / sizeof(T_)))
#define VECS_ (FASTNN_NR / LANES_)   /* vectors per row of the block */

/* unaligned vector loads and stores (each memcpy becomes one move); macros rather than functions, which
   would pass wide vectors by value through an ABI GCC warns about */
#define LD_(p) __extension__({ V_ v_; memcpy(&v_, (p), sizeof v_); v_; })
#define ST_(p, v) __extension__({ V_ v_ = (v); memcpy((p), &v_, sizeof v_); })

/* c[i ldc + j] (+)= the reduction, for i < mr <= ROWS_, j < NR. Rows mr..ROWS_-1 read row mr-1's A again
   and are not stored, so nothing outside the first mr rows of c is touched. Every loop over rows and
   vectors has a constant trip count and is unrolled, so the block's accumulators are named registers. */
static inline void BLOCK_(T_ *c, ptrdiff_t ldc, const T_ *a, const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1,
                          ptrdiff_t acs1, ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2, int mr,
                          int accumulate)
{
    const T_ *ar[ROWS_];
    V_ x[ROWS_][VECS_];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS_; i++) {
        ar[i] = a + ao[i < mr ? i : mr - 1];
#pragma GCC unroll 16
        for (int v = 0; v < VECS_; v++)
            x[i][v] = accumulate && i < mr ? LD_(c + i * ldc + v * LANES_) : (V_){0};
    }
    for (ptrdiff_t t1 = 0; t1 < s1; t1++) {
        const T_ *bp = b + t1 * ldb1;
        ptrdiff_t at = t1 * acs1;
        for (ptrdiff_t t2 = 0; t2 < s2; t2++, bp += ldb2, at += acs2) {
            V_ bv[VECS_];
#pragma GCC unroll 16
            for (int v = 0; v < VECS_; v++)
                bv[v] = LD_(bp + v * LANES_);
#pragma GCC unroll 16
            for (int i = 0; i < ROWS_; i++) {
                V_ s = (V_){0} + ar[i][at];
#pragma GCC unroll 16
                for (int v = 0; v < VECS_; v++)
                    x[i][v] += s * bv[v];
            }
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < ROWS_; i++)
        if (i < mr) {
#pragma GCC unroll 16
            for (int v = 0; v < VECS_; v++)
                ST_(c + i * ldc + v * LANES_, x[i][v]);
        }
}
#undef LD_
#undef ST_
#undef V_
#undef LANES_
#undef VECS_

#endif

/* c[i ldc + j] (+)= the reduction for i < mr, j < nr <= NR, as plain loops: the product for compilers
   without vector extensions */
static inline void FASTNN_NAME(fastnn_block_plain)(T_ *c, ptrdiff_t ldc, const T_ *a, const ptrdiff_t *ao,
                                                   const T_ *b, ptrdiff_t s1, ptrdiff_t acs1, ptrdiff_t ldb1,
                                                   ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2, int mr, int nr,
                                                   int accumulate)
{
    for (int i = 0; i < mr; i++) {
        T_ acc[FASTNN_NR];
        for (int j = 0; j < nr; j++)
            acc[j] = accumulate ? c[i * ldc + j] : 0;
        for (ptrdiff_t t1 = 0; t1 < s1; t1++)
            for (ptrdiff_t t2 = 0; t2 < s2; t2++) {
                T_ x = a[ao[i] + t1 * acs1 + t2 * acs2];
                const T_ *bp = b + t1 * ldb1 + t2 * ldb2;
                for (int j = 0; j < nr; j++)
                    acc[j] += x * bp[j];
            }
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = acc[j];
    }
}

#if !((defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN))
static inline void BLOCK_(T_ *c, ptrdiff_t ldc, const T_ *a, const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1,
                          ptrdiff_t acs1, ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2, int mr,
                          int accumulate)
{
    FASTNN_NAME(fastnn_block_plain)(c, ldc, a, ao, b, s1, acs1, ldb1, s2, acs2, ldb2, mr, FASTNN_NR, accumulate);
}
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN)
/* c (m, nr) (+)= the reduction for the last nr < NR columns, still on the vector block: B's nr columns are
   copied into an NR-wide panel on the stack (zero beyond nr), TAIL_STEPS_ steps of the inner reduction at
   a time, and the block accumulates into a full-width copy of c's rows, so nothing outside c's and B's
   extents is read or written. The copies cost nr elements per step, against NR multiply-adds per row. */
#define TAIL_STEPS_ FASTNN_TAIL_STEPS
#define TAIL_ROWS_ FASTNN_TAIL_ROWS
static inline void FASTNN_NAME(fastnn_gemm_tail)(T_ *c, ptrdiff_t ldc, ptrdiff_t m, int nr, const T_ *a,
                                                 const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1, ptrdiff_t acs1,
                                                 ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2,
                                                 int accumulate)
{
    T_ panel[TAIL_STEPS_ * FASTNN_NR], rows[TAIL_ROWS_ * FASTNN_NR];
    memset(panel, 0, sizeof panel);
    for (ptrdiff_t g0 = 0; g0 < m; g0 += TAIL_ROWS_) {
        ptrdiff_t mg = m - g0 < TAIL_ROWS_ ? m - g0 : TAIL_ROWS_;
        for (ptrdiff_t i = 0; i < mg; i++)
            for (int j = 0; j < FASTNN_NR; j++)
                rows[i * FASTNN_NR + j] = accumulate && j < nr ? c[(g0 + i) * ldc + j] : 0;
        for (ptrdiff_t t1 = 0; t1 < s1; t1++)
            for (ptrdiff_t u = 0; u < s2; u += TAIL_STEPS_) {
                ptrdiff_t steps = s2 - u < TAIL_STEPS_ ? s2 - u : TAIL_STEPS_;
                const T_ *bp = b + t1 * ldb1 + u * ldb2;
                for (ptrdiff_t t = 0; t < steps; t++)
                    for (int j = 0; j < nr; j++)
                        panel[t * FASTNN_NR + j] = bp[t * ldb2 + j];
                for (ptrdiff_t i0 = 0; i0 < mg; i0 += ROWS_) {
                    int mr = mg - i0 < ROWS_ ? (int)(mg - i0) : ROWS_;
                    BLOCK_(rows + i0 * FASTNN_NR, FASTNN_NR, a + t1 * acs1 + u * acs2, ao + g0 + i0, panel, 1, 0, 0,
                           steps, acs2, FASTNN_NR, mr, 1);
                }
            }
        for (ptrdiff_t i = 0; i < mg; i++)
            for (int j = 0; j < nr; j++)
                c[(g0 + i) * ldc + j] = rows[i * FASTNN_NR + j];
    }
}
#undef TAIL_STEPS_
#undef TAIL_ROWS_
#endif

/* c (m, n) (+)= the reduction, in blocks of ROWS_ x NR, then the last n % NR columns */
static inline void FASTNN_NAME(fastnn_gemm)(T_ *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n, const T_ *a,
                                            const ptrdiff_t *ao, const T_ *b, ptrdiff_t s1, ptrdiff_t acs1,
                                            ptrdiff_t ldb1, ptrdiff_t s2, ptrdiff_t acs2, ptrdiff_t ldb2,
                                            int accumulate)
{
    ptrdiff_t full = n - n % FASTNN_NR;
    for (ptrdiff_t i0 = 0; i0 < m; i0 += ROWS_) {
        int mr = m - i0 < ROWS_ ? (int)(m - i0) : ROWS_;
        for (ptrdiff_t j0 = 0; j0 < full; j0 += FASTNN_NR)
            BLOCK_(c + i0 * ldc + j0, ldc, a, ao + i0, b + j0, s1, acs1, ldb1, s2, acs2, ldb2, mr, accumulate);
    }
    if (full == n)
        return;
#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTNN_GEMM_PLAIN)
    FASTNN_NAME(fastnn_gemm_tail)(c + full, ldc, m, (int)(n - full), a, ao, b + full, s1, acs1, ldb1, s2, acs2,
                                  ldb2, accumulate);
#else
    for (ptrdiff_t i0 = 0; i0 < m; i0 += ROWS_) {
        int mr = m - i0 < ROWS_ ? (int)(m - i0) : ROWS_;
        FASTNN_NAME(fastnn_block_plain)(c + i0 * ldc + full, ldc, a, ao + i0, b + full, s1, acs1, ldb1, s2, acs2,
                                        ldb2, mr, (int)(n - full), accumulate);
    }
#endif
}

#undef T_
#undef BLOCK_
#undef ROWS_
