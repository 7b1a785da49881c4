"""The numbers both compiled backends are built with, defined once.

The Numba kernels import them; setup.py hands them to the C compiler as FASTNN_<NAME> macros (C_MACROS),
which the Cython kernels and their C helpers read (kernels/_cython/_shared.pxd, _gemm.pxd, _gemm.h), so a
change here reaches both backends at their next build. tests/c/check_helpers.c is compiled with the same
macros.
"""
# The GEMM microkernel keeps an MR x NR block of the result in registers: 12 accumulators of 8 float lanes
# (two per row), plus the broadcast A value and one row of B, fit the 16 vector registers of AVX2.
GEMM_MR = 6
GEMM_NR = 16
GEMM_LANES = 8

# Below GRAIN elements (or multiply-adds) a kernel runs its serial loop: a fork/join costs more than the work.
GRAIN = 1 << 15
# Elements per parallel task of the Numba element-wise and reduction passes.
CHUNK = 1 << 12

# conv2d: output rows are taken in tiles of CONV_TILE elements (a dP tile or an output block: 32 KiB of
# float32, L1), never the whole batch. conv2d and pooling split a call's samples into at most SAMPLE_CHUNKS
# chunks, each with its own partial sums (conv2d's dw, db), added in chunk order (1 and N threads give the
# same bits).
CONV_TILE = 1 << 13
SAMPLE_CHUNKS = 16

C_MACROS = [("FASTNN_MR", GEMM_MR), ("FASTNN_NR", GEMM_NR), ("FASTNN_GRAIN", GRAIN),
            ("FASTNN_CONV_TILE", CONV_TILE), ("FASTNN_SAMPLE_CHUNKS", SAMPLE_CHUNKS)]
