"""A register-blocked matrix product for the dense layers' and the convolutions' GEMMs (Numba, with one LLVM intrinsic).

c (M, N) (+)= A @ B, where A's rows start anywhere in a (a table of offsets: a matrix, its transpose, or a
convolution's windows in place), the reduction may run in two levels (a window's rows, then the elements
along each), and B's rows are contiguous; gemm below says exactly.

Why an intrinsic: the product's speed is in keeping a block of c in registers for the whole reduction. The
loops Numba hands LLVM cannot say that: LLVM vectorises the innermost loop, so either the block of c goes to
memory on every step (a rank-8 update: one vector load per multiply-add) or the reduction becomes a
vectorised dot product (horizontal sums at every end). Scalar accumulators written out in Python are not
regrouped into vectors by LLVM's SLP pass (it stayed scalar code). _block_ir is the BLIS-style microkernel
written as LLVM IR: MR x NR of c in vectors as wide as the target's (kernels/design.py, GEMM_ROWS, by the
variant Numba compiles for: 8 x 16 in 16-lane vectors under AVX-512, 6 x 16 in two 8-lane vectors per row
under AVX2, 4 x 16 in four 4-lane vectors otherwise), and per reduction step one row of B in vectors, one
broadcast of A per row and a multiply-add per vector. The IR is target-neutral (<n x float> and
llvm.fmuladd), and fuses only where the CPU has FMA. float64 takes vectors of the same width in bits,
with half the lanes, and the same rows (twice the registers: it spills under AVX2 and SSE2; correct,
slower, and only used by gradient checks).
With NUMBA_DISABLE_JIT=1 the block is a NumPy loop with the same semantics.
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..design import GEMM_NR, GEMM_ROWS, GEMM_TAIL_ROWS, GEMM_TAIL_STEPS
from . import ISA
from .config import jit

VECTOR_BITS = {"avx512": 512, "avx2": 256, "baseline": 128}[ISA]
MR, NR = GEMM_ROWS[VECTOR_BITS], GEMM_NR


# n rounded up to the block's width NR: the widths the product takes
@jit
def padded(n):
    return (n + NR - 1) // NR * NR


# off[i] = i * stride for i < off.size: the table of A's row offsets for a matrix whose rows lie stride
# apart (stride 1: the columns of a row-major matrix of that many rows, i.e. its transpose's rows)
@jit
def row_offsets(off, stride):
    for i in range(off.size):
        off[i] = i * stride


def _block_python(c, ci, ldc, a, ao, aoi, b, bi, steps, mr, accumulate):
    (s1, acs1, ldb1), (s2, acs2, ldb2) = steps
    for i in range(mr):
        row = c[ci + i * ldc:ci + i * ldc + NR]
        acc = row.copy() if accumulate else np.zeros_like(row)
        for t1 in range(s1):
            for t2 in range(s2):
                at, bt = ao[aoi + i] + t1 * acs1 + t2 * acs2, bi + t1 * ldb1 + t2 * ldb2
                acc += a[at] * b[bt:bt + NR]
        row[:] = acc


@intrinsic
def _block_ir(typingctx, c, ci, ldc, a, ao, aoi, b, bi, steps, mr, accumulate):
    """c[ci + i ldc + j] (+)= sum over t1, t2 of a[ao[aoi + i] + t1 acs1 + t2 acs2] b[bi + t1 ldb1 + t2 ldb2 + j]
    for i < mr <= MR, j < NR; steps = ((s1, acs1, ldb1), (s2, acs2, ldb2)), t1 < s1 and t2 < s2. Rows
    mr..MR-1 repeat row mr-1's loads and are not stored, so nothing outside the mr rows is touched."""
    sig = types.void(c, ci, ldc, a, ao, aoi, b, bi, steps, mr, accumulate)

    def codegen(context, builder, sig, args):
        c, ci, ldc, a, ao, aoi, b, bi, steps, mr, accumulate = args
        (s1, acs1, ldb1), (s2, acs2, ldb2) = (cgutils.unpack_tuple(builder, builder.extract_value(steps, k))
                                              for k in range(2))
        fty = context.get_data_type(sig.args[0].dtype)
        bits = 32 if fty == ir.FloatType() else 64
        lanes = VECTOR_BITS // bits
        vty = ir.VectorType(fty, lanes)
        i64 = ir.IntType(64)
        name = "llvm.fmuladd.v%df%d" % (lanes, bits)
        fmuladd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        cp, ap, bp = (context.make_array(sig.args[k])(context, builder, v).data for k, v in ((0, c), (3, a), (6, b)))
        op = context.make_array(sig.args[4])(context, builder, ao).data

        def const(v):
            return ir.Constant(i64, v)

        def vector_at(base, offset):
            return builder.bitcast(builder.gep(base, [offset]), vty.as_pointer())

        last = builder.sub(mr, const(1))
        rows = [builder.select(builder.icmp_signed("<", const(i), mr), const(i), last) for i in range(MR)]
        acc = [[cgutils.alloca_once(builder, vty) for _ in range(NR // lanes)] for _ in range(MR)]
        c_at = [[vector_at(cp, builder.add(builder.add(ci, builder.mul(rows[i], ldc)), const(v * lanes)))
                 for v in range(NR // lanes)] for i in range(MR)]
        with builder.if_else(accumulate) as (load, zero):
            with load:
                for i in range(MR):
                    for v, ptr in enumerate(c_at[i]):
                        builder.store(builder.load(ptr, align=1), acc[i][v])
            with zero:
                for row in acc:
                    for slot in row:
                        builder.store(ir.Constant(vty, None), slot)
        splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), None)
        a_rows = [builder.load(builder.gep(op, [builder.add(aoi, r)])) for r in rows]
        with cgutils.for_range(builder, s1) as outer:
            a1, b1 = builder.mul(outer.index, acs1), builder.add(bi, builder.mul(outer.index, ldb1))
            with cgutils.for_range(builder, s2) as inner:
                b_row = builder.add(b1, builder.mul(inner.index, ldb2))
                bv = [builder.load(vector_at(bp, builder.add(b_row, const(v * lanes))), align=1)
                      for v in range(NR // lanes)]
                a_step = builder.add(a1, builder.mul(inner.index, acs2))
                for i in range(MR):
                    av = builder.load(builder.gep(ap, [builder.add(a_rows[i], a_step)]))
                    one = builder.insert_element(ir.Constant(vty, ir.Undefined), av, ir.Constant(ir.IntType(32), 0))
                    splat = builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined), splat_mask)
                    for v in range(NR // lanes):
                        builder.store(builder.call(fmuladd, [splat, bv[v], builder.load(acc[i][v])]), acc[i][v])
        for i in range(MR):
            with builder.if_then(builder.icmp_signed("<", const(i), mr)):
                for v, ptr in enumerate(c_at[i]):
                    builder.store(builder.load(acc[i][v]), ptr, align=1)
        return context.get_dummy_value()

    return sig, codegen


_block = _block_python if numba.config.DISABLE_JIT else _block_ir


# c[i ldc + j] (+)= sum over t1 < s1, t2 < s2 of a[ao[i] + t1 acs1 + t2 acs2] b[t1 ldb1 + t2 ldb2 + j] for
# i < m, j < n, n % NR == 0; c, a, b flat, ao (>=m,) int64: where A's rows start in a;
# steps = ((s1, acs1, ldb1), (s2, acs2, ldb2)), a plain product over t < s: ((1, 0, 0), (s, acs, ldb)).
# The caller guarantees every index stays inside c, a, b and ao: the blocks have no bounds checks.
@jit
def gemm(c, ldc, m, n, a, ao, b, steps, accumulate):
    for i0 in range(0, m, MR):
        mr = min(MR, m - i0)
        for j0 in range(0, n, NR):
            _block(c, i0 * ldc + j0, ldc, a, ao, i0, b, j0, steps, mr, accumulate)


# The last nr < NR columns of a product, still on the vector block (kernels/_cython/_gemm.h does the same):
# B's nr columns are copied into an NR-wide panel (zero beyond nr), TAIL_STEPS steps of the inner reduction
# at a time, and the block accumulates into a full-width copy of c's rows, so nothing outside c's and B's
# extents is read or written. work: TAIL_WORK elements of scratch.
TAIL_STEPS, TAIL_ROWS = GEMM_TAIL_STEPS, GEMM_TAIL_ROWS
TAIL_WORK = (TAIL_STEPS + TAIL_ROWS) * NR


# c[i ldc + j] (+)= as gemm, for j < nr < NR
@jit
def gemm_tail(c, ldc, m, nr, a, ao, b, steps, accumulate, work):
    (s1, acs1, ldb1), (s2, acs2, ldb2) = steps
    panel, rows = work[:TAIL_STEPS * NR], work[TAIL_STEPS * NR:TAIL_WORK]
    panel[:] = 0
    for g0 in range(0, m, TAIL_ROWS):
        mg = min(TAIL_ROWS, m - g0)
        rows[:] = 0
        for i in range(mg):
            if accumulate:
                rows[i * NR:i * NR + nr] = c[(g0 + i) * ldc:(g0 + i) * ldc + nr]
        for t1 in range(s1):
            for u in range(0, s2, TAIL_STEPS):
                count = min(TAIL_STEPS, s2 - u)
                at = t1 * ldb1 + u * ldb2
                for t in range(count):
                    panel[t * NR:t * NR + nr] = b[at + t * ldb2:at + t * ldb2 + nr]
                for i0 in range(0, mg, MR):
                    _block(rows, i0 * NR, NR, a[t1 * acs1 + u * acs2:], ao, g0 + i0, panel, 0,
                           ((1, 0, 0), (count, acs2, NR)), min(MR, mg - i0), True)
        for i in range(mg):
            c[(g0 + i) * ldc:(g0 + i) * ldc + nr] = rows[i * NR:i * NR + nr]
