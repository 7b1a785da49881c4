/* The Cython kernels' C helpers (kernels/_cython/_gemm.h, _transpose.h) against plain loops, with guard
   values around every output so a write outside its extents fails too. Built and run by
   tests/backends/test_cython_backend.py, once with the vector code and once with FASTNN_GEMM_PLAIN (the fallback
   for compilers without vector extensions). Prints one line per failure and exits 1 if any. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "_gemm.h"
#include "_transpose.h"

#define GUARD 16
static int failures = 0;

static void fail(const char *what, long a, long b)
{
    if (failures++ < 20)
        printf("FAIL %s (%ld, %ld)\n", what, a, b);
}

static double uniform(void) { return rand() / (double)RAND_MAX - 0.5; }

/* one random product: c (m, n) (+)= A B through the two-level reduction, float and double */
static void check_gemm(int trial)
{
    /* every eighth product is tall and long: the tail's second group of rows and second chunk of steps */
    int big = trial % 8 == 7;
    ptrdiff_t m = big ? 49 + rand() % 90 : 1 + rand() % 20, n = 1 + rand() % (3 * FASTNN_NR), s1 = 1 + rand() % 4;
    ptrdiff_t s2 = big ? 257 + rand() % 300 : 1 + rand() % 6;
    ptrdiff_t acs2 = rand() % 3, acs1 = s2 * acs2 + rand() % 3, ldb2 = n + rand() % 5, ldb1 = s2 * ldb2 + rand() % 4;
    ptrdiff_t ldc = n + rand() % 3, ao[140], asz = 64 + s1 * acs1 + s2 * acs2, bsz = s1 * ldb1 + s2 * ldb2 + n;
    ptrdiff_t csz = (m - 1) * ldc + n + 2 * GUARD;
    int accumulate = rand() % 2;
    float *a = malloc(asz * sizeof *a), *b = malloc(bsz * sizeof *b), *c = malloc(csz * sizeof *c);
    double *ad = malloc(asz * sizeof *ad), *bd = malloc(bsz * sizeof *bd), *cd = malloc(csz * sizeof *cd);
    double *want = malloc(csz * sizeof *want);
    for (ptrdiff_t i = 0; i < m; i++)
        ao[i] = rand() % 64;
    for (ptrdiff_t i = 0; i < asz; i++)
        ad[i] = a[i] = (float)uniform();
    for (ptrdiff_t i = 0; i < bsz; i++)
        bd[i] = b[i] = (float)uniform();
    for (ptrdiff_t i = 0; i < csz; i++)
        want[i] = cd[i] = c[i] = (float)uniform();
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t j = 0; j < n; j++) {
            double s = accumulate ? want[GUARD + i * ldc + j] : 0;
            for (ptrdiff_t t1 = 0; t1 < s1; t1++)
                for (ptrdiff_t t2 = 0; t2 < s2; t2++)
                    s += ad[ao[i] + t1 * acs1 + t2 * acs2] * bd[t1 * ldb1 + t2 * ldb2 + j];
            want[GUARD + i * ldc + j] = s;
        }
    fastnn_gemm_f(c + GUARD, ldc, m, n, a, ao, b, s1, acs1, ldb1, s2, acs2, ldb2, accumulate);
    fastnn_gemm_d(cd + GUARD, ldc, m, n, ad, ao, bd, s1, acs1, ldb1, s2, acs2, ldb2, accumulate);
    for (ptrdiff_t i = 0; i < csz; i++) {
        if (fabs(c[i] - want[i]) > 1e-4 * (1 + fabs(want[i])))
            fail("gemm float", trial, (long)i);
        if (fabs(cd[i] - want[i]) > 1e-12 * (1 + fabs(want[i])))
            fail("gemm double", trial, (long)i);
    }
    free(a); free(b); free(c); free(ad); free(bd); free(cd); free(want);
}

/* planar (k rows, pitch lds) -> interleaved and back, for every k and n up to the bounds */
static void check_transposes(ptrdiff_t k, ptrdiff_t n)
{
    ptrdiff_t ld = n + 3, planar = (k - 1) * ld + n;
    float *src = malloc((planar + 2 * GUARD) * sizeof *src), *mid = malloc((n * k + 2 * GUARD) * sizeof *mid);
    float *back = malloc((planar + 2 * GUARD) * sizeof *back);
    for (ptrdiff_t i = 0; i < planar + 2 * GUARD; i++) {
        src[i] = (float)(i + 1);
        back[i] = -5;
    }
    for (ptrdiff_t i = 0; i < n * k + 2 * GUARD; i++)
        mid[i] = -7;
    fastnn_interleave_f(mid + GUARD, src + GUARD, ld, k, n);
    fastnn_deinterleave_f(back + GUARD, ld, mid + GUARD, k, n);
    for (ptrdiff_t i = 0; i < n * k + 2 * GUARD; i++) {
        ptrdiff_t o = (i - GUARD) / (k ? k : 1), c = (i - GUARD) % (k ? k : 1);
        float expect = i < GUARD || i >= GUARD + n * k ? -7 : src[GUARD + c * ld + o];
        if (mid[i] != expect)
            fail("interleave", (long)k, (long)n);
    }
    for (ptrdiff_t i = 0; i < planar + 2 * GUARD; i++) {
        ptrdiff_t r = (i - GUARD) / ld, o = (i - GUARD) % ld;
        int inside = i >= GUARD && i < GUARD + planar && o < n;
        if (back[i] != (inside ? src[i] : -5))
            fail("deinterleave", (long)k, (long)n);
        (void)r;
    }
    free(src); free(mid); free(back);
}

int main(void)
{
    srand(12345);
    for (int trial = 0; trial < 300; trial++)
        check_gemm(trial);
    for (ptrdiff_t k = 1; k <= 33; k++)
        for (ptrdiff_t n = 1; n <= 40; n++)
            check_transposes(k, n);
    printf("%s: %d failures\n", FASTNN_TRANSPOSE_VECTOR ? "vector" : "plain", failures);
    return failures != 0;
}
