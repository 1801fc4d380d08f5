"""The compiled time loops of the GRU training fast path (`fastkernel.c`), built on first use.

A GRU time step is one matrix product and a handful of element-wise operations on a few thousand numbers; from
Python each of those is a torch call costing more than its arithmetic. `fastkernel.c` runs a whole layer's
forward and backward loops in two calls, with the matrix products going to the same BLAS `sgemm_` torch uses
(its address is looked up in torch's own library and passed in).

`load()` compiles the file with the system C compiler (`$CC`, else `cc`) into a per-user cache
(`$TSRNN_CACHE_DIR`, else `$XDG_CACHE_HOME/tsrnn`, else `~/.cache/tsrnn`; under a second), checks it once in a
separate process against torch's own GRU (so that a library that does not behave can never take the training
process down), and keeps it for every later run. Where anything is missing (no compiler, a torch without
`sgemm_`, a failed check) it returns None and `tsrnn.fastcells` keeps its torch loops: slower, the same results.
``TSRNN_FAST_KERNEL=0`` turns it off; `status()` says which is in use and why.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

SOURCE = Path(__file__).with_name("fastkernel.c")
_OFF = ("0", "false", "no", "off")
_reason = "not loaded yet"


@dataclass(frozen=True)
class Kernel:
    lib: ctypes.CDLL
    sgemm: int
    """The address of torch's BLAS sgemm_."""
    path: Path

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
    """'compiled (PATH)' or why the torch loops are used."""
    kernel = load()
    return f"compiled ({kernel.path})" if kernel is not None else _reason


@functools.cache
def load() -> Kernel | None:
    """The checked kernel, or None (the reason in `status()`)."""
    global _reason
    if os.environ.get("TSRNN_FAST_KERNEL", "1").strip().lower() in _OFF:
        _reason = "turned off (TSRNN_FAST_KERNEL=0)"
        return None
    sgemm = _sgemm()
    if sgemm is None:
        _reason = "this torch exports no BLAS sgemm_"
        return None
    try:
        path = _build()
    except (OSError, subprocess.SubprocessError) as exc:
        _reason = f"could not compile {SOURCE.name}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}"
        return None
    if not _checked(path):
        _reason = f"the compiled kernel failed its check against torch (see {path.with_suffix('.failed')})"
        return None
    try:
        kernel = _open(path, sgemm)
    except (OSError, AttributeError) as exc:  # the cached file damaged since its check
        _reason = f"could not load {path}: {exc}"
        return None
    _reason = f"compiled ({path})"
    return kernel


def _open(path: Path, sgemm: int) -> Kernel:
    lib = ctypes.CDLL(str(path))
    p, n = ctypes.c_void_p, ctypes.c_long
    lib.gru_forward.argtypes = [p, p, p, p, p, p, p, n, n, n, ctypes.c_int, ctypes.c_int]
    lib.gru_backward.argtypes = [p, p, p, p, p, p, p, p, n, n, n, ctypes.c_int]
    for fn in (lib.gru_forward, lib.gru_backward):
        fn.restype = None
    return Kernel(lib, sgemm, path)


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


def _flags() -> list[str]:
    """Vector instructions as far as torch's own kernels use them on this CPU."""
    capability = torch.backends.cpu.get_cpu_capability()
    if capability == "AVX512":
        return ["-mavx512f", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"]
    if capability == "AVX2":
        return ["-mavx2", "-mfma"]
    return []


def cache_dir() -> Path:
    """`$TSRNN_CACHE_DIR`, else `$XDG_CACHE_HOME/tsrnn`, else `~/.cache/tsrnn` (a temporary folder without a home)."""
    if os.environ.get("TSRNN_CACHE_DIR"):
        return Path(os.environ["TSRNN_CACHE_DIR"])
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no home directory to be found
        base = tempfile.gettempdir()
    return Path(base) / "tsrnn"


def _build() -> Path:
    """The shared library for this source, compiler and CPU, compiled once (to a temporary name, then renamed)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise OSError("no C compiler found (set CC)")
    flags = ["-O3", "-fno-math-errno", "-fPIC", "-shared", *_flags()]
    # The layouts the loops assume are tsrnn.fastcells': a change there is a new library, checked again.
    source = SOURCE.read_bytes() + Path(__file__).with_name("fastcells.py").read_bytes()
    key = hashlib.sha256(source + " ".join([cc, *flags, torch.__version__]).encode()).hexdigest()[:16]
    out = cache_dir() / f"fastkernel-{key}.so"
    if out.exists():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise OSError(f"cannot write to the cache folder {out.parent} ({exc.strerror}; set TSRNN_CACHE_DIR)") from None
    os.close(fd)
    try:
        subprocess.run(
            [cc, *flags, "-o", tmp, str(SOURCE), "-lm"], check=True, capture_output=True, text=True, timeout=120
        )
        os.replace(tmp, out)
    except subprocess.CalledProcessError as exc:
        raise OSError(exc.stderr or str(exc)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _checked(path: Path) -> bool:
    """Whether the library passed `selfcheck` in a separate process (remembered in a marker file beside it, and so
    is a failure, with the check's output: it is not run again for the same library)."""
    marker, failed = path.with_suffix(".ok"), path.with_suffix(".failed")
    if marker.exists():
        return True
    if failed.exists():
        return False
    try:
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(
            [sys.executable, "-m", "tsrnn.fastkernel", str(path)], capture_output=True, text=True, timeout=300, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if done.returncode != 0:
        with contextlib.suppress(OSError):
            failed.write_text(done.stdout + done.stderr)
        return False
    marker.write_text("passed\n")
    return True


def selfcheck(path: Path) -> float:
    """GRU layers' outputs and gradients through the library against nn.GRU (one layer; two bidirectional layers
    with an initial state); returns the largest difference and raises AssertionError above float32 round-off."""
    from torch import nn

    kernel = _open(path, _sgemm() or 0)
    torch.manual_seed(0)
    worst = 0.0
    for layers, bidirectional, with_h0 in ((1, False, False), (2, True, True)):
        gru = nn.GRU(3, 16, num_layers=layers, bidirectional=bidirectional)
        x = torch.randn(7, 5, 3, requires_grad=True)
        hx = torch.randn(layers * (1 + bidirectional), 5, 16, requires_grad=True) if with_h0 else None
        worst = max(worst, _difference(gru, x, hx, kernel))
    if not worst < 1e-4:
        raise AssertionError(f"the compiled GRU differs from torch's by {worst:.3g}")
    return worst


def _difference(gru: Any, x: Tensor, hx: Tensor | None, kernel: Kernel) -> float:
    from . import fastcells
    from .fastrnn import fast_forward

    inputs = [x, *gru.parameters(), *([hx] if hx is not None else [])]
    want: list[Tensor] = list(gru(x, hx))
    probe = [torch.randn_like(t) for t in want]
    with fastcells.kernel_override(kernel):
        out, h_n = fast_forward(gru, x, hx)
        assert out is not None
        results = []
        for pair in (want, [out, h_n]):
            loss = torch.stack([(t * p).sum() for t, p in zip(pair, probe, strict=True)]).sum()
            results.append([t.detach() for t in pair] + list(torch.autograd.grad(loss, inputs)))
    return max(float((a - b).abs().max()) for a, b in zip(*results, strict=True))


def main(argv: list[str]) -> None:
    """python -m tsrnn.fastkernel: build and check the library now and say what training will use (make venv
    runs it); python -m tsrnn.fastkernel LIBRARY: the separate-process check `load` runs."""
    if argv:
        print(f"largest difference from nn.GRU: {selfcheck(Path(argv[0])):.3g}")
    else:
        print(f"GRU training loops: {status()}")


if __name__ == "__main__":
    main(sys.argv[1:])
