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
import platform
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
# Instruction-set variants (kernels/isa.py): on x86-64 every family is built three times, for the baseline
# that any x86-64 runs (the module every machine has, cython), and for x86-64-v3 (AVX2, FMA) and x86-64-v4
# (AVX-512, at its full 512-bit width) as cython_avx2 and cython_avx512; the backend loads the best one
# the CPU runs. No build uses -march=native, so what is built here runs on any x86-64. Elsewhere (ARM...)
# the compiler's default target is the one build. The debug build makes the baseline only.
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
ISA_FLAGS = {"avx2": ["-march=x86-64-v3"], "avx512": ["-march=x86-64-v4", "-mprefer-vector-width=512"]}
ISA_SUFFIX = runpy.run_path(os.path.join("kernels", "isa.py"))["SUFFIX"]


class OptionalBuildExt(build_ext):
    """Compile with OpenMP and each variant's flags when the compiler has them, and skip what fails."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:   # the modules compile side by side, one per core
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        flags = OPT_FLAGS + FLOAT_FLAGS
        openmp = _compiler_accepts(self.compiler, ["-fopenmp"], link=True)
        accepted = {isa: _compiler_accepts(self.compiler, f) for isa, f in ISA_FLAGS.items()}
        skipped = [ext for ext in self.extensions if getattr(ext, "fastnn_isa", None) and not accepted[ext.fastnn_isa]]
        for ext in skipped:
            print(f"fastnn: the compiler has no {ext.fastnn_isa} flags; not building {ext.name}", file=sys.stderr)
            self.extensions.remove(ext)
        for ext in self.extensions:
            isa_flags = ISA_FLAGS.get(getattr(ext, "fastnn_isa", None), [])
            ext.extra_compile_args = flags + isa_flags + (["-fopenmp"] if openmp else [])
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

    def extension(name, src):
        # depends: a change to the shared C helpers or declarations rebuilds every module
        return Extension(name, [src], include_dirs=[numpy.get_include(), SHARED],
                         define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")] + C_MACROS,
                         depends=headers + [os.path.join("kernels", "design.py")])

    # include_path: the kernels cimport their shared declarations as `_shared` and `_gemm` (kernels/_cython/).
    # The debug build writes its C files apart (FASTNN_CYTHON_C_DIR, else build/cython-debug) and always
    # regenerates them: Cython decides by timestamps, not directives, so the release C files beside the
    # sources would otherwise be compiled again without the bounds checks.
    c_dir = os.environ.get("FASTNN_CYTHON_C_DIR") or (os.path.join("build", "cython-debug") if DEBUG else None)
    exts = cythonize([extension(name, src) for name, src in sources.items()], compiler_directives=DIRECTIVES,
                     include_path=[SHARED], build_dir=c_dir, force=DEBUG, quiet=True)
    if X86_64 and not DEBUG:
        # the same sources under each variant's module name; Cython writes each variant's C files apart,
        # since the module name is part of them
        for isa in ISA_FLAGS:
            variant = [extension(f"{name}{ISA_SUFFIX[isa]}", src) for name, src in sources.items()
                       if not name.endswith("._openmp")]   # the thread count and CPU probe: baseline only
            for ext in cythonize(variant, compiler_directives=DIRECTIVES, include_path=[SHARED],
                                 build_dir=os.path.join(c_dir or "build", f"cython-{isa}"), quiet=True):
                ext.fastnn_isa = isa
                exts.append(ext)
    return exts

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
