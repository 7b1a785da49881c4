"""The numbers both compiled backends are built with, defined once.

The Numba kernels import them; setup.py hands them to the C compiler as FASTNN_<NAME> macros (C_MACROS),
which the Cython kernels and their C helpers read (kernels/_cython/_shared.pxd, _gemm.pxd, _gemm.h); the
geometry the plans compute (kernels/*/plan.py) reads them in Python. A change here reaches both backends at
their next build. tests/c/check_helpers.c is compiled with the same
macros.
"""
# The GEMM microkernel keeps a block of GEMM_ROWS x GEMM_NR of the result in registers for a whole
# reduction. The width is fixed (16 columns: conv2d's plan pads its products' widths to it; other widths end
# in a tail block, below); the height depends on the vector registers of the target the kernel is compiled for, by their
# width in bits. A row is 16 float lanes: one AVX-512 vector, two AVX ones, four SSE2/NEON ones. 8 rows
# under AVX-512 give the 8 independent multiply-add chains two 4-cycle FMA pipes need (12 rows measured
# 10% slower on Zen 4: one A pointer per row, more than the general registers hold); 6 rows under AVX fill
# 12 of its 16 registers; 4 rows of four 128-bit vectors measured faster than 3 that do not spill.
GEMM_NR = 16
GEMM_ROWS = {512: 8, 256: 6, 128: 4}
# A product whose width is not a multiple of 16 ends in a tail block: its B columns are copied into a
# zero-padded 16-wide panel, GEMM_TAIL_STEPS reduction steps at a time, for groups of GEMM_TAIL_ROWS rows (a
# multiple of every block height) accumulated in a full-width copy.
GEMM_TAIL_STEPS = 256
GEMM_TAIL_ROWS = 48
# dense: each product is cut into tasks of DENSE_PANEL rows (a multiple of every block height) by 16 columns;
# the backward's first pass (dz, db, w's transpose) takes DENSE_COLS columns a task, and transposes w in
# tiles of DENSE_TILE rows, which stay in cache while the task's columns are read.
DENSE_PANEL = 48
DENSE_COLS = 64
DENSE_TILE = 16

# Below GRAIN elements (or multiply-adds) a kernel runs its serial loop: a fork/join costs more than the work.
GRAIN = 1 << 15
# The same for the dense layers' matrix products, in multiply-adds (which run 10-20x faster than an
# element-wise pass's memory-bound elements): below it, one thread does the product.
GEMM_GRAIN = 1 << 18
# Elements per parallel task of the Numba element-wise and reduction passes.
CHUNK = 1 << 12

# conv2d: output rows are taken in tiles of CONV_TILE elements (a dP tile or an output block: 32 KiB of
# float32, L1), never the whole batch.
CONV_TILE = 1 << 13
# The Numba conv2d forward deals samples to its threads round-robin, CONV_SAMPLES at a time (contiguous
# shares measured 10% slower there for LeNet-5's first layer; the Cython forward's contiguous OpenMP
# schedule measured 12% faster than tasks of 4).
CONV_SAMPLES = 4
# Chunked work (conv2d's and pooling's samples, batch norm's rows) is cut into at most MAX_CHUNKS chunks;
# a chunk's partial sums (chunks x the size of one partial) stay under PART_BUDGET elements.
MAX_CHUNKS = 16
PART_BUDGET = 1 << 21


def chunk_count(rows, work, part=0):
    """The chunks of a call with `rows` rows (samples, or batch norm's rows), `work` elements or
    multiply-adds in all, and partial sums of `part` elements per chunk: one (serial) below GRAIN of work,
    else as many as MAX_CHUNKS, the rows and PART_BUDGET allow (many chunks balance the threads: 9 chunks on
    2 threads leave one idle for a ninth of the time). Chunk ch of C holds rows [ch R // C, (ch + 1) R // C).
    It depends on the sizes only, never on the thread count, and partial sums are added in chunk order, so
    1 and N threads give the same bits. Plain arithmetic: Numba compiles it as it is
    (kernels/_numba/chunks.py); the plans and the Cython kernels call it from Python."""
    if work < GRAIN:
        return 1
    return max(1, min(MAX_CHUNKS, rows, PART_BUDGET // max(1, part)))


C_MACROS = ([("FASTNN_NR", GEMM_NR)] + [(f"FASTNN_ROWS_{bits}", rows) for bits, rows in GEMM_ROWS.items()]
            + [("FASTNN_TAIL_STEPS", GEMM_TAIL_STEPS), ("FASTNN_TAIL_ROWS", GEMM_TAIL_ROWS)]
            + [("FASTNN_DENSE_PANEL", DENSE_PANEL), ("FASTNN_DENSE_COLS", DENSE_COLS), ("FASTNN_DENSE_TILE", DENSE_TILE)]
            + [("FASTNN_GRAIN", GRAIN), ("FASTNN_GEMM_GRAIN", GEMM_GRAIN)])
