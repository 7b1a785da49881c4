"""The shared plans: the chunk rule both backends use, and the scratch layouts' pieces fitting their parts."""
import itertools

import numpy as np
import pytest

from fastnn.kernels import _scratch, design
from fastnn.kernels.pooling.plan import maxpool2d_layout, maxpool2d_plan

ROWS = [1, 2, 7, 64, 1000]
WORK = [0, design.GRAIN - 1, design.GRAIN, 10 * design.GRAIN, 10**9]
PARTS = [0, 16, design.PART_BUDGET // 3, design.PART_BUDGET * 2]


@pytest.mark.parametrize("rows,work,part", list(itertools.product(ROWS, WORK, PARTS)))
def test_chunk_count_rule(rows, work, part):
    chunks = design.chunk_count(rows, work, part)
    assert 1 <= chunks <= max(1, min(rows, design.MAX_CHUNKS))
    if work < design.GRAIN:
        assert chunks == 1
    if chunks > 1:
        assert chunks * part <= design.PART_BUDGET
    # every row in exactly one chunk, in order
    bounds = [(c * rows // chunks, (c + 1) * rows // chunks) for c in range(chunks)]
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_numba_compiles_the_same_chunk_rule():
    chunks = pytest.importorskip("fastnn.kernels._numba.chunks")
    for rows, work, part in itertools.product(ROWS, WORK, PARTS):
        count = design.chunk_count(rows, work, part)
        assert chunks.chunk_count(rows, work, part) == count
        assert [chunks.chunk_rows(ch, count, rows) for ch in range(count)] == \
            [(ch * rows // count, (ch + 1) * rows // count) for ch in range(count)]


# (N, H, W, C, pool, stride, padding)
POOLS = [(64, 28, 28, 6, 2, 2, 0), (64, 10, 10, 16, 2, 2, 0), (3, 7, 9, 1, 3, 2, 1), (2, 5, 5, 40, 3, 1, 1)]


@pytest.mark.parametrize("n,h,w,c,k,s,p", POOLS)
def test_pooling_layout_pieces_fit_their_part(n, h, w, c, k, s, p):
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    plan = maxpool2d_plan(h, w, c, oh, ow, k, k, s, s, p, p)
    fwd = maxpool2d_layout(n, h, w, c, oh, ow, k, k, s, s, p, p, False)
    # the column winners (two rows of W C), the chain pair (two of C), the merged runs (two of span)
    assert 2 * w * c <= fwd.pair_at and fwd.pair_at + 2 * c <= fwd.runs_at
    assert fwd.runs_at + 2 * plan.span <= fwd.thread == fwd.ithread
    assert fwd.ints == k * w * c and all(v % 16 == 0 for v in (fwd.pair_at, fwd.runs_at))
    bwd = maxpool2d_layout(n, h, w, c, oh, ow, k, k, s, s, p, p, True)
    assert bwd.ints == 3 * k * k and bwd.thread == bwd.ithread == 0


def test_split_cuts_the_parts_part_sizes_counts():
    lay = maxpool2d_layout(64, 28, 28, 6, 14, 14, 2, 2, 2, 2, 0, 0, False)
    threads = 3
    nf, ni = _scratch.part_sizes(lay, threads)
    fbuf, ibuf = np.arange(nf, dtype=np.float32), np.arange(ni, dtype=np.int32)
    shared, chunks, per_thread, ints, iper_thread = _scratch.split(fbuf, ibuf, lay, threads)
    assert shared.size + chunks.size + per_thread.size == nf and ints.size + iper_thread.size == ni
    assert per_thread.shape == (threads, lay.thread) and iper_thread.shape == (threads, lay.ithread)
    assert per_thread[1, 0] == lay.shared + lay.chunks * lay.chunk + lay.thread   # views, in order
