"""The instruction-set variants of the compiled kernels, and which one a process runs.

The Cython kernels are built once per variant on x86-64 (setup.py: the baseline for any x86-64, and builds
for x86-64-v3 and x86-64-v4), each family as its own extension module; at import the Cython backend loads
the best variant the CPU runs (kernels/_cython/_cpu.h asks the CPU). Numba compiles for the CPU it runs on.
$FASTNN_ISA forces a variant on both backends, for testing the others on one machine or for comparing them.
Off x86-64 there is only the baseline, built for that machine.
"""
import os

# best first; the suffix of each variant's module in a family folder (kernels/<family>/cython<suffix>)
ISAS = ("avx512", "avx2", "baseline")
SUFFIX = {"avx512": "_avx512", "avx2": "_avx2", "baseline": ""}
# what each variant needs of the CPU, as x86-64 microarchitecture levels (for messages and `fastnn info`)
LEVEL = {"avx512": "x86-64-v4", "avx2": "x86-64-v3", "baseline": "x86-64"}
ENV = "FASTNN_ISA"


def requested():
    """The variant $FASTNN_ISA forces, or None when unset (or empty): the best the CPU runs."""
    value = os.environ.get(ENV, "").strip().lower()
    if not value:
        return None
    if value not in ISAS:
        raise ValueError(f"{ENV} must be one of {', '.join(ISAS)} (or unset, for the best this CPU runs). "
                         f"Received: {ENV}={os.environ[ENV]!r}")
    return value


def pick(supported):
    """The variant to run among supported (names of ISAS): $FASTNN_ISA's if set, else the best.
    Raises ImportError when $FASTNN_ISA asks for one the CPU (or the build) cannot run."""
    forced = requested()
    if forced is None:
        return next(isa for isa in ISAS if isa in supported)
    if forced not in supported:
        raise ImportError(f"{ENV}={forced} asks for {LEVEL[forced]} kernels, which are not available here "
                          f"(available: {', '.join(s for s in ISAS if s in supported)})")
    return forced
