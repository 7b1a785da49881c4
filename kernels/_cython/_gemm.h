/* A register-blocked matrix product for the Cython convolutions (the Numba backend's kernels/_numba/gemm.py
   in C): c (M, N) (+)= A @ B with A's rows anywhere in a (a table of offsets) and a two-level reduction,
   so a convolution's windows are read where they lie.

     c[i ldc + j] (+)= sum over t1 < s1, t2 < s2 of a[ao[i] + t1 acs1 + t2 acs2] b[t1 ldb1 + t2 ldb2 + j]

   for i < m, j < n, n a multiple of FASTNN_NR. No bounds checks here: the Cython wrapper (_gemm.pxd, gemm)
   checks every call's extents against its buffers before calling.

   Why C and not Cython: the speed is in holding a 6 x 16 block of c in registers for the whole reduction
   (per step two vector loads of B, six broadcasts of A, twelve multiply-adds). Cython has no vector
   types, and GCC does not keep a `T acc[6][16]` array in registers (it stores it every step). With GCC's
   vector extensions (GCC, Clang) each row of the block is two 8-lane vectors in named variables, which
   GCC allocates to registers; -ffp-contract=fast (setup.py) fuses each multiply-add where the CPU has FMA.
   Other compilers get the plain loops below, with the same results up to rounding.
   The same header serves float and double (double: 8-lane vectors of 64 bytes, two registers each under
   AVX2, so the block spills; correct and slower, and only used by gradient checks). */
#ifndef FASTNN_GEMM_H
#define FASTNN_GEMM_H

#include <stddef.h>
#include <string.h>

/* The block's size comes from kernels/design.py: setup.py passes it as -DFASTNN_MR=... -DFASTNN_NR=... */
#if !defined(FASTNN_MR) || !defined(FASTNN_NR)
#error "FASTNN_MR and FASTNN_NR come from kernels/design.py: build through setup.py"
#endif

#define FASTNN_T float
#define FASTNN_NAME(x) x##_f
#include "_gemm_block.h"
#undef FASTNN_T
#undef FASTNN_NAME

#define FASTNN_T double
#define FASTNN_NAME(x) x##_d
#include "_gemm_block.h"
#undef FASTNN_T
#undef FASTNN_NAME

#endif
