"""Build script: maps kernels/ into the package as fastnn.kernels and compiles one Cython extension per op
family listed in kernels/ops.py (kernels/<family>/cython.pyx), plus the shared runtime kernels/_cython/.

The Cython directives and C flags live here, in one place. FASTNN_CYTHON_DEBUG=1 builds with bounds checks
and wraparound on, so an out-of-bounds index raises IndexError in the test suite instead of corrupting
memory (tests/test_cython_backend.py builds it into a temporary directory and runs the conformance suite).
A machine without a C compiler (or without OpenMP) still installs fastnn: the extensions are optional and
the Cython backend then reports itself unavailable.
"""
import glob
import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

from setuptools import find_packages

FAMILIES = runpy.run_path(os.path.join("kernels", "ops.py"))["FAMILIES"]
C_MACROS = [(name, str(value)) for name, value in runpy.run_path(os.path.join("kernels", "design.py"))["C_MACROS"]]
PACKAGES = (find_packages(include=["fastnn", "fastnn.*"])
            + ["fastnn.kernels"] + ["fastnn.kernels." + p for p in find_packages("kernels")])
PACKAGE_DIR = {"fastnn": "fastnn", "fastnn.kernels": "kernels"}
SHARED = os.path.join("kernels", "_cython")   # the .pxd and .h files every family cimports or includes

DEBUG = os.environ.get("FASTNN_CYTHON_DEBUG", "") not in ("", "0")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
}
# C compiler flags, beside the directives. FLOAT_FLAGS are the Numba backend's fastmath set
# (kernels/_numba/config.py): reassociation lets GCC vectorise reductions (the dot products of conv2d's
# weight gradient run 4x faster), contraction gives FMA, no signed zeros, reciprocals; NaN and inf keep
# IEEE semantics so a NaN still reaches the loss. No debug info (-g0: 5x smaller modules); the debug
# build is for the tests, at -O0, which halves its compile time.
OPT_FLAGS = ["-O0", "-g0"] if DEBUG else ["-O3", "-g0"]
FLOAT_FLAGS = ["-fno-math-errno", "-fno-trapping-math", "-fassociative-math", "-fno-signed-zeros",
               "-freciprocal-math", "-ffp-contract=fast"]
# The kernels are compiled on the machine that runs them (pip builds fastnn from source), so by default for
# its CPU: AVX2 and FMA triple the conv2d loops over the x86-64 baseline. To build for other machines (a
# wheel or image copied elsewhere) set FASTNN_CYTHON_MARCH to their -march value, e.g. x86-64-v2, or to
# "" for the compiler's default. A compiler that rejects the flag builds without it.
MARCH = os.environ.get("FASTNN_CYTHON_MARCH", "native")


class OptionalBuildExt(build_ext):
    """Compile with OpenMP and -march when the compiler has them, without when not, and skip on failure."""

    def build_extensions(self):
        flags = OPT_FLAGS + FLOAT_FLAGS
        if MARCH and _compiler_accepts(self.compiler, [f"-march={MARCH}"]):
            flags.append(f"-march={MARCH}")
        openmp = _compiler_accepts(self.compiler, ["-fopenmp"], link=True)
        for ext in self.extensions:
            ext.extra_compile_args = flags + (["-fopenmp"] if openmp else [])
            ext.extra_link_args = ["-fopenmp"] if openmp else []
        try:
            super().build_extensions()
        except Exception as exc:  # no compiler: install the pure-Python backends only
            print(f"fastnn: Cython kernels not built ({exc}); the cython backend will be unavailable",
                  file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"fastnn: could not build {ext.name} ({exc})", file=sys.stderr)


def _compiler_accepts(compiler, flags, link=False):
    """Whether the compiler builds (and, with link, links) a small OpenMP-aware program with flags."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#ifdef _OPENMP\n#include <omp.h>\n#endif\n"
                    "int main(void){\n#ifdef _OPENMP\nreturn omp_get_max_threads() > 0 ? 0 : 1;\n#endif\nreturn 0;}\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            if link:
                compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=flags)
            return True
        except Exception:
            return False


def _extensions():
    sources = {"fastnn.kernels._cython._openmp": os.path.join(SHARED, "_openmp.pyx")}
    for family in FAMILIES:
        src = os.path.join("kernels", family, "cython.pyx")
        if os.path.exists(src):
            sources[f"fastnn.kernels.{family}.cython"] = src
    try:
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError as exc:
        print(f"fastnn: Cython or numpy missing at build time ({exc}); skipping compiled kernels", file=sys.stderr)
        return []
    headers = sorted(glob.glob(os.path.join(SHARED, "*.h")) + glob.glob(os.path.join(SHARED, "*.pxd")))
    exts = [
        Extension(name, [src], include_dirs=[numpy.get_include(), SHARED],
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")] + C_MACROS,
                  depends=headers + [os.path.join("kernels", "design.py")])   # a change to the shared C helpers or declarations rebuilds every module
        for name, src in sources.items()
    ]
    # include_path: the kernels cimport their shared declarations as `_shared` and `_gemm` (kernels/_cython/).
    # The debug build writes its C files apart (FASTNN_CYTHON_C_DIR, else build/cython-debug) and always
    # regenerates them: Cython decides by timestamps, not directives, so the release C files beside the
    # sources would otherwise be compiled again without the bounds checks.
    c_dir = os.environ.get("FASTNN_CYTHON_C_DIR") or (os.path.join("build", "cython-debug") if DEBUG else None)
    return cythonize(exts, compiler_directives=DIRECTIVES, include_path=[SHARED],
                     build_dir=c_dir, force=DEBUG, quiet=True)

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"fastnn": ["data/*/*"], "fastnn.draw": ["*.html"],
                  "fastnn.kernels": ["auto.json", "*/*.pyx", "*/*.pxd", "*/*.h"]},
    # the C that Cython generates beside each .pyx, 1.5 MB a module
    exclude_package_data={"": ["*.c"]},
    ext_modules=_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    zip_safe=False,
)
