"""Max pooling's geometry and scratch layout, shared by both compiled backends: maxpool2d_plan (which loops
a call takes) and maxpool2d_layout (where each buffer lies in its scratch). Plain arithmetic on ints, so
numba.py jit-compiles both as they are and calls them inside its kernels; cython.pyx calls them from
Python once per call, before its parallel loop.

Legend: N batch, H W input size, C channels, KH KW pool size, sh sw strides, ph pw padding above/left,
OH OW output size.
Both forwards first take the best of every input column over a window's rows. With few channels and no
column padding (every window inside the image's columns: "whole" rows), the columns are then merged for
every start position along the row (KW - 1 passes over long contiguous runs, vectorised) and each
window's C results picked out; else each window's columns are merged C channels at a time.
Both backwards add each output's gradient at its recorded winner. Windows that tile the image exactly
(stride = pool size, no padding, no remainder, at least 8 channels) write every cell once instead, g or 0.
"""
from collections import namedtuple

import numpy as np

from ..design import chunk_count

Plan = namedtuple("Plan", [
    "whole",    # merge along whole rows (C < 8, no column padding)
    "span",     # elements of a merged run: (OW-1) sw + 1 positions of C channels (0 unless whole)
    "tiled",    # the backward's windows tile the image exactly, with at least 8 channels
    "inside",   # every window lies inside the image (no padding reached)
])

WHOLE_ROWS_MAX_C = 8   # from 8 channels on, merging window by window vectorises over the channels
TILED_MIN_C = 8        # with fewer, the tiled backward's select loop is too short to vectorise


def maxpool2d_plan(h, w, c, oh, ow, kh, kw, sh, sw, ph, pw):
    whole = c < WHOLE_ROWS_MAX_C and pw == 0 and (ow - 1) * sw + kw <= w
    inside = ph == 0 and pw == 0 and (oh - 1) * sh + kh <= h and (ow - 1) * sw + kw <= w
    tiled = sh == kh and sw == kw and ph == 0 and pw == 0 and oh * kh == h and ow * kw == w and c >= TILED_MIN_C
    return Plan(whole, ((ow - 1) * sw + 1) * c if whole else 0, tiled, inside)


# A call's scratch (kernels/_scratch.py) is a float and an int array, each a shared part then one part per
# thread (kernels/_scratch.py's split). Every piece starts on a cache line (_al).
#   forward, per thread, floats and ints alike (values and window indices): the column winners, two rows of
#     W C (numba.py merges out of place, from one row into the other; cython.pyx in place, in the first);
#     at pair_at two rows of C (numba.py's chain of merges over a window's columns); at runs_at the merged
#     runs of whole rows, two of `span` (cython.pyx uses the first). Shared ints: rowidx (KH, W C), each
#     row's own window index i KW (numba.py).
#   backward, shared ints: the taps' rows, columns, and offsets in a flat sample, KH KW each.
# The ints are int32 in the forward (window indices, like argmax) and intp in the backward (addresses).
# chunks: numba.py's split of the samples. cython.pyx's OpenMP loops split output rows (forward) or
# samples (backward) statically: nothing is summed across them, so no chunks are needed.
Layout = namedtuple("Layout", [
    "shared", "chunk", "thread", "ints", "ithread", "chunks",   # part sizes (see above), and chunks
    "pair_at", "runs_at",
])


def _al(n):
    """n rounded up to 16 elements: the next piece starts on a cache line (64 bytes of float32)."""
    return (n + 15) // 16 * 16


def maxpool2d_layout(n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, backward):
    """The Layout of a call with x (N,H,W,C), out (N,OH,OW,C): the forward's, or the backward's."""
    if backward:
        return Layout(0, 0, 0, 3 * kh * kw, 0, chunk_count(n, n * (h * w + oh * ow) * c), 0, 0)
    span = maxpool2d_plan(h, w, c, oh, ow, kh, kw, sh, sw, ph, pw).span
    pair_at = _al(2 * w * c)
    runs_at = pair_at + _al(2 * c)
    thread = runs_at + _al(2 * span)
    return Layout(0, 0, thread, kh * w * c, thread, chunk_count(n, n * oh * ow * c * kh * kw), pair_at, runs_at)


def index_type(backward):
    """The int scratch's type: int32 window indices in the forward, intp addresses in the backward."""
    return np.intp if backward else np.int32
