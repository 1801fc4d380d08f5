"""Builds the optional C extension `tsrnn.model.fast._fastkernel`: the compiled time loops of the GRU training fast path
(`tsrnn/model/fast/fastkernel.c`, loaded by `tsrnn.model.fast.kernel`). Everything else about the package is in
pyproject.toml.

The extension links nothing but libm (the matrix products go to torch's own BLAS `sgemm_`, whose address is passed
in at run time), so it builds without torch. It is compiled with -O3 and the vector instructions torch's kernels
use on the CPU that builds it (AVX-512, AVX2 with FMA, or none), the machine it is installed on. Where it cannot
be built (no C compiler, a compiler that refuses the file), installing still succeeds with a warning, and training
uses the torch loops instead (`python -m tsrnn.model.fast.kernel` says which).
"""

from __future__ import annotations

import hashlib
import platform
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = "tsrnn/model/fast/fastkernel.c"
BASE_FLAGS = ["-O3", "-fno-math-errno", "-fno-wrapv"]
"""After Python's own compiler flags, which carry -fwrapv: without it the loops compile to the same instructions as
with `cc -O3 -fno-math-errno` alone."""


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def vector_flags() -> list[str]:
    """Vector instructions as far as torch's own kernels use them on this CPU (its AVX512 capability needs
    AVX-512 F, BW, DQ and VL with FMA; AVX2 needs FMA)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    have = cpu_flags()
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"} <= have:
        return ["-mavx512f", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"]
    if {"avx2", "fma"} <= have:
        return ["-mavx2", "-mfma"]
    return []


class OptionalBuildExt(build_ext):
    """build_ext for an optional extension: the vector flags dropped if the compiler refuses them, and a warning
    instead of a failed install if it cannot be built at all."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler configured at all (setuptools raises before compiling)
            self._skipped(exc)

    def build_extension(self, ext: Extension) -> None:
        vector = [flag for flag in ext.extra_compile_args if flag.startswith("-m")]
        try:
            super().build_extension(ext)
            return
        except Exception as exc:
            if not vector:
                self._skipped(exc)
                return
        ext.extra_compile_args = [flag for flag in ext.extra_compile_args if flag not in vector]
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skipped(exc)

    @staticmethod
    def _skipped(exc: Exception) -> None:
        print(
            f"WARNING: tsrnn's compiled GRU training loops ({SOURCE}) were not built ({exc}); tsrnn works the same, "
            "training a GRU more slowly. Install a C compiler and reinstall tsrnn to build them.",
            file=sys.stderr,
        )


def extension() -> Extension:
    digest = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()
    return Extension(
        "tsrnn.model.fast._fastkernel",
        sources=[SOURCE],
        define_macros=[("FASTKERNEL_PYTHON_MODULE", "1"), ("FASTKERNEL_SOURCE_HASH", f"0x{digest[:15]}ULL")],
        extra_compile_args=[*BASE_FLAGS, *vector_flags()],
        libraries=["m"],
        optional=True,
    )


setup(ext_modules=[extension()], cmdclass={"build_ext": OptionalBuildExt})
