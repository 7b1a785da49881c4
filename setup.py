"""Build script: maps kernels/ into the package as fastnn._kernels and compiles the Cython kernels.

The Cython directives live here, in one place. FASTNN_CYTHON_DEBUG=1 builds with bounds checks and
wraparound on, so an out-of-bounds index raises IndexError in the test suite instead of corrupting memory.
A machine without a C compiler (or without OpenMP) still installs fastnn: the extensions are optional and
the Cython backend then reports itself unavailable.
"""
import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

PACKAGES = ["fastnn", "fastnn.reference", "fastnn._kernels", "fastnn._kernels.numba", "fastnn._kernels.cython"]
PACKAGE_DIR = {
    "fastnn": "fastnn",
    "fastnn._kernels": "kernels",
}

DEBUG = os.environ.get("FASTNN_CYTHON_DEBUG", "") not in ("", "0")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
}


class OptionalBuildExt(build_ext):
    """Compile with OpenMP when the compiler has it, without it when not, and skip on failure."""

    def build_extensions(self):
        openmp = _compiler_has_openmp(self.compiler)
        for ext in self.extensions:
            ext.extra_compile_args = ["-O3", "-fno-math-errno"]
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args = ["-fopenmp"]
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


def _compiler_has_openmp(compiler):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objs, os.path.join(tmp, "omp"), extra_postargs=["-fopenmp"])
            return True
        except Exception:
            return False


def _extensions():
    sources = sorted(glob.glob(os.path.join("kernels", "cython", "*.pyx")))
    if not sources:
        return []
    try:
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError as exc:
        print(f"fastnn: Cython or numpy missing at build time ({exc}); skipping compiled kernels", file=sys.stderr)
        return []
    exts = [
        Extension(
            "fastnn._kernels.cython." + os.path.splitext(os.path.basename(src))[0],
            [src],
            include_dirs=[numpy.get_include(), os.path.join("kernels", "cython")],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for src in sources
    ]
    return cythonize(exts, compiler_directives=DIRECTIVES, quiet=True)


setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"fastnn": ["data/*/*"], "fastnn._kernels.cython": ["*.pxd", "*.pyx"]},
    ext_modules=_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    zip_safe=False,
)
