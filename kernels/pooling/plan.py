"""Max pooling's geometry, shared by both compiled backends (numba.py jit-compiles maxpool2d_plan as it is;
cython.pyx calls it once per call, before its parallel loop).

Legend: H W input size, C channels, KW pool width, sw column stride, pw padding left, OW output width.
Both forwards first take the best of every input column over a window's rows. With few channels and no
column padding (every window inside the image's columns: "whole" rows), the columns are then merged for
every start position along the row (KW - 1 passes over long contiguous runs, vectorised) and each
window's C results picked out; else each window's columns are merged C channels at a time.
"""
from collections import namedtuple

Plan = namedtuple("Plan", [
    "whole",   # merge along whole rows (C < 8, no column padding)
    "span",    # elements of a merged run: (OW-1) sw + 1 positions of C channels (0 unless whole)
])

WHOLE_ROWS_MAX_C = 8   # from 8 channels on, merging window by window vectorises over the channels


def maxpool2d_plan(w, c, ow, kw, sw, pw):
    whole = c < WHOLE_ROWS_MAX_C and pw == 0 and (ow - 1) * sw + kw <= w
    return Plan(whole, ((ow - 1) * sw + 1) * c if whole else 0)
