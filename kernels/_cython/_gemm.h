/* A register-blocked matrix product for the Cython convolutions (the Numba backend's kernels/_numba/gemm.py
   in C): c (M, N) (+)= A @ B with A's rows anywhere in a (a table of offsets) and a two-level reduction,
   so a convolution's windows are read where they lie.

     c[i ldc + j] (+)= sum over t1 < s1, t2 < s2 of a[ao[i] + t1 acs1 + t2 acs2] b[t1 ldb1 + t2 ldb2 + j]

   for i < m, j < n (in blocks of FASTNN_NR columns; the last n % NR on the same block, through a zero-padded
   copy of B's columns). No bounds checks
   here: the Cython wrapper (_gemm.pxd, gemm) checks every call's extents against its buffers first.

   Why C and not Cython: the speed is in holding a ROWS x 16 block of c in registers for the whole
   reduction (per step one row of B in vectors, one broadcast of A per row, a multiply-add per vector).
   Cython has no vector types, and GCC does not keep a `T acc[6][16]` array in registers (it stores it every
   step). With GCC's vector extensions (GCC, Clang) the block is an array of vectors indexed by constants
   only, which GCC allocates to registers; -ffp-contract=fast (setup.py) fuses each multiply-add where the
   CPU has FMA. Other compilers get the plain loops, with the same results up to rounding.

   The block follows the target each module is compiled for (setup.py builds one module per instruction
   set, kernels/isa.py): its vectors are the target's widest registers, and its height fills its register
   file (kernels/design.py, GEMM_ROWS): 8 x 16 in 16-lane vectors under AVX-512, 6 x 16 in 8-lane vectors
   under AVX (12 of its 16 registers), 4 x 16 in 4-lane vectors otherwise (SSE2, NEON). A vector wider than
   the target's registers would be split by the compiler into stores and reloads at every step (8-lane
   vectors on SSE2 ran 40x slower). */
#ifndef FASTNN_GEMM_H
#define FASTNN_GEMM_H

#include <stddef.h>
#include <string.h>

/* The block's sizes come from kernels/design.py: setup.py passes them as -DFASTNN_NR=... and so on */
#if !defined(FASTNN_NR) || !defined(FASTNN_ROWS_512) || !defined(FASTNN_ROWS_256) || !defined(FASTNN_ROWS_128) \
    || !defined(FASTNN_TAIL_STEPS) || !defined(FASTNN_TAIL_ROWS)
#error "FASTNN_NR, FASTNN_ROWS_* and FASTNN_TAIL_* come from kernels/design.py: build through setup.py"
#endif

#if defined(__AVX512F__)
#define FASTNN_VBYTES 64
#define FASTNN_ROWS FASTNN_ROWS_512
#elif defined(__AVX__)
#define FASTNN_VBYTES 32
#define FASTNN_ROWS FASTNN_ROWS_256
#else
#define FASTNN_VBYTES 16
#define FASTNN_ROWS FASTNN_ROWS_128
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
