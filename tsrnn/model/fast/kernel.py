"""The compiled time loops of the GRU training fast path: `fastkernel.c`, built with the package.

A GRU time step is one matrix product and a handful of element-wise operations on a few thousand numbers; from
Python each of those is a torch call costing more than its arithmetic. `fastkernel.c` runs a whole layer's
forward and backward loops in two calls, with the matrix products going to the same BLAS `sgemm_` torch uses
(its address is looked up in torch's own library and passed in).

The file is compiled when the package is built and installed (setup.py: the optional extension module
`tsrnn.model.fast._fastkernel`, `-O3` and the vector instructions of the CPU that installs it), never at training
time. `load()` opens that one file, found inside the package by the import system, with ctypes; it uses it only if
the library says it was built from the `fastkernel.c` beside it for an instruction set this CPU has. That a tiny
forward and backward through it match torch's own GRU is checked by the tests and at install (`python -m
tsrnn.model.fast.kernel`, which `make venv` runs: `tsrnn.model.fast.parity`), not at training time, so that this
module imports nothing of the fast path above it. Where anything is missing (the extension was not built: no C
compiler at install; a torch without `sgemm_`; another source or instruction set) it returns None and
`tsrnn.model.fast.cells` keeps its torch loops: slower, the same results. ``TSRNN_FAST_KERNEL=0`` turns it off;
`status()` says which is in use and why (`python -m tsrnn.model.fast.parity`, `tsrnn --version`).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

MODULE = "tsrnn.model.fast._fastkernel"
"""The extension module setup.py builds from `SOURCE` (its initialiser makes an empty module: the loops are called
through ctypes)."""
SOURCE = Path(__file__).with_name("fastkernel.c")
REINSTALL = "reinstall tsrnn to rebuild it (from a checkout: pip install -e .)"
_OFF = ("0", "false", "no", "off")
_ISA = {0: "no vector extensions", 1: "AVX2", 2: "AVX-512"}
_reason = "not loaded yet"


@dataclass(frozen=True)
class Kernel:
    lib: ctypes.CDLL
    sgemm: int
    """The address of torch's BLAS sgemm_."""
    path: Path
    isa: int
    """The vector instructions it was compiled for: 0 none, 1 AVX2 with FMA, 2 AVX-512."""
    source_hash: int
    """The first 60 bits of the SHA-256 of the fastkernel.c it was built from."""

    def gru_forward(
        self, gates: Tensor, s: Tensor, ks: Tensor, w_hh: Tensor, folded: Tensor, b_hh: Tensor, reverse: bool,
        skip_first: bool,
    ) -> None:  # fmt: skip
        steps, batch, hidden = s.shape
        self.lib.gru_forward(
            self.sgemm, gates.data_ptr(), s.data_ptr(), ks.data_ptr(), w_hh.data_ptr(), folded.data_ptr(),
            b_hh.data_ptr(), steps, batch, hidden, reverse, skip_first,
        )  # fmt: skip

    def gru_backward(
        self, gates: Tensor, s: Tensor, hs: Tensor, dh: Tensor, dg: Tensor, an: Tensor, w_hh: Tensor, reverse: bool
    ) -> None:
        steps, batch, hidden = s.shape
        self.lib.gru_backward(
            self.sgemm, gates.data_ptr(), s.data_ptr(), hs.data_ptr(), dh.data_ptr(), dg.data_ptr(), an.data_ptr(),
            w_hh.data_ptr(), steps, batch, hidden, reverse,
        )  # fmt: skip


def status() -> str:
    """'compiled (LIBRARY, ISA)', or why the torch loops are used."""
    kernel = load()
    return f"compiled ({kernel.path}, {_ISA.get(kernel.isa, kernel.isa)})" if kernel is not None else _reason


def summary() -> str:
    """Which loops a float32 GRU trains with, and why, in one line (`python -m tsrnn.model.fast.parity`, `tsrnn
    --version`)."""
    kernel = load()
    return (
        f"GRU training: compiled loops ({kernel.path}, {_ISA.get(kernel.isa, kernel.isa)})"
        if kernel
        else f"GRU training: torch loops, {_reason}"
    )


@functools.cache
def load() -> Kernel | None:
    """The package's compiled loops, checked, or None (the reason in `status()`)."""
    global _reason
    if os.environ.get("TSRNN_FAST_KERNEL", "1").strip().lower() in _OFF:
        _reason = "turned off (TSRNN_FAST_KERNEL=0)"
        return None
    path = library()
    if path is None:
        _reason = (
            f"the extension {MODULE} was not built when tsrnn was installed; install a C compiler and reinstall tsrnn "
            "to build it (from a checkout: pip install -e .)"
        )
        return None
    sgemm = _sgemm()
    if sgemm is None:
        _reason = "this torch exports no BLAS sgemm_"
        return None
    try:
        kernel = _open(path, sgemm)
    except (OSError, AttributeError) as exc:
        _reason = f"could not load {path}: {exc}"
        return None
    _reason = _refusal(kernel) or ""
    return None if _reason else kernel


def library() -> Path | None:
    """The extension module's file inside the installed package (never anywhere else), or None if it was not built."""
    spec = importlib.util.find_spec(MODULE)
    return Path(spec.origin) if spec is not None and spec.origin else None


def _refusal(kernel: Kernel) -> str | None:
    """Why the library must not be used, or None: built from another fastkernel.c, or for an instruction set this
    CPU lacks. (Whether it computes torch's GRU is checked by the tests and at install: `tsrnn.model.fast.parity`.)"""
    try:
        source = int(hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:15], 16)
    except OSError as exc:
        return f"cannot read {SOURCE} to check {kernel.path.name} against it ({exc.strerror}); {REINSTALL}"
    if kernel.source_hash != source:
        return f"{kernel.path} was built from another version of {SOURCE.name}; {REINSTALL}"
    if kernel.isa > cpu_isa():
        return f"{kernel.path.name} was built for {_ISA.get(kernel.isa, kernel.isa)}, which this CPU lacks; {REINSTALL}"
    return None


def _open(path: Path, sgemm: int) -> Kernel:
    lib = ctypes.CDLL(str(path))
    p, n = ctypes.c_void_p, ctypes.c_long
    lib.gru_forward.argtypes = [p, p, p, p, p, p, p, n, n, n, ctypes.c_int, ctypes.c_int]
    lib.gru_backward.argtypes = [p, p, p, p, p, p, p, p, n, n, n, ctypes.c_int]
    for fn in (lib.gru_forward, lib.gru_backward):
        fn.restype = None
    lib.fastkernel_isa.restype = ctypes.c_int
    lib.fastkernel_source_hash.restype = ctypes.c_ulonglong
    return Kernel(lib, sgemm, path, lib.fastkernel_isa(), lib.fastkernel_source_hash())


def cpu_isa() -> int:
    """The vector instructions this CPU has, as `fastkernel_isa` numbers them (setup.py's test: AVX-512 F, BW, DQ
    and VL with FMA; AVX2 with FMA); torch's own detection where /proc/cpuinfo is not to be read."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return 0
    try:
        flags = next(
            set(line.split(":", 1)[1].split())
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        return {"AVX512": 2, "AVX2": 1}.get(torch.backends.cpu.get_cpu_capability(), 0)
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"} <= flags:
        return 2
    return 1 if {"avx2", "fma"} <= flags else 0


def _sgemm() -> int | None:
    """The address of `sgemm_` in torch's CPU library (MKL's, in the x86 wheels), or None."""
    lib_dir = Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        if (lib_dir / name).exists():
            try:
                return ctypes.cast(ctypes.CDLL(str(lib_dir / name)).sgemm_, ctypes.c_void_p).value
            except (OSError, AttributeError):
                return None
    return None
