"""The compiled GRU loops (tsrnn/model/fast/fastkernel.c, built with the package as tsrnn.model.fast._fastkernel): the
same results as nn.GRU and as the torch loops, loaded only from the package itself, checked at load against their
source and this CPU, checked against torch's GRU by `tsrnn.model.fast.parity` (here and at install), and never in the
way where they were not built."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import tsrnn
from tsrnn.cli.commands import main
from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.model import workspace
from tsrnn.model.fast import cells as fastcells
from tsrnn.model.fast import kernel as fastkernel
from tsrnn.model.fast import parity
from tsrnn.model.fast import rnn as fastrnn

needs_kernel = pytest.mark.skipif(
    fastkernel.library() is None or fastkernel._sgemm() is None,
    reason="the extension tsrnn.model.fast._fastkernel was not built at install (no C compiler), or this torch "
    "exports no "
    "BLAS sgemm_: training uses the torch loops (their fallback is tested below)",
)
PACKAGE = Path(tsrnn.__file__).parent
FAST = PACKAGE / "model" / "fast"
"""Where the extension is built and loaded from."""


@pytest.fixture
def fresh():
    """`load()` forgotten before and after the test."""
    fastkernel.load.cache_clear()
    yield
    fastkernel.load.cache_clear()


def grads(run, module: nn.Module, x: torch.Tensor, hx: torch.Tensor | None) -> list[torch.Tensor]:
    """Outputs, final states and the gradients of a fixed random projection of both w.r.t. everything."""
    out = list(run(module, x, hx))
    gen = torch.Generator().manual_seed(3)
    loss = sum((t * torch.randn(t.shape, generator=gen)).sum() for t in out)
    inputs = [x, *module.parameters(), *([hx] if hx is not None else [])]
    return [t.detach() for t in out] + list(torch.autograd.grad(loss, inputs))


def standard(module, x, hx):
    return module(x) if hx is None else module(x, hx)


def fast(module, x, hx):
    return fastrnn.fast_forward(module, x, hx)


@needs_kernel
@pytest.mark.parametrize(
    ("layers", "bidirectional", "with_h0", "batch_first"),
    [(1, False, False, True), (1, True, True, False), (3, False, False, True), (2, True, False, True)],
    ids=["gru", "bigru-h0", "gru-3", "bigru-2"],
)
def test_kernel_matches_torch_and_the_torch_loops(fresh, layers, bidirectional, with_h0, batch_first) -> None:
    kernel = fastkernel.load()
    assert kernel is not None and fastkernel.status().startswith("compiled")
    assert kernel.path.parent == FAST and kernel.path.name.startswith("_fastkernel.")
    torch.manual_seed(0)
    module = nn.GRU(4, 24, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first).train()
    x = torch.randn(6, 11, 4, requires_grad=True)  # (batch, steps) or (steps, batch)
    hx = torch.randn(layers * (1 + bidirectional), 6 if batch_first else 11, 24) if with_h0 else None
    if hx is not None:
        hx.requires_grad_(True)
    want = grads(standard, module, x, hx)
    with fastcells.kernel_override(kernel):
        got = grads(fast, module, x, hx)
    with fastcells.kernel_override(None):
        loops = grads(fast, module, x, hx)
    for w, g, lo in zip(want, got, loops, strict=True):
        scale = float(w.abs().max()) or 1.0
        torch.testing.assert_close(g, w, rtol=0, atol=2e-5 * scale)
        torch.testing.assert_close(g, lo, rtol=0, atol=2e-5 * scale)


@needs_kernel
def test_loaded_from_the_package_alone_without_compiling_anything(fresh, monkeypatch, tmp_path: Path) -> None:
    """No compiler runs at training time and no library is opened from anywhere but the package: a library planted
    where the loops used to be cached, with the marker of a passed check beside it, is never touched."""
    for folder in (tmp_path / "tsrnn", tmp_path / "xdg" / "tsrnn"):
        folder.mkdir(parents=True)
        (folder / "fastkernel-0123456789abcdef.so").write_bytes(b"planted")
        (folder / "fastkernel-0123456789abcdef.ok").write_text("passed\n")
    monkeypatch.setenv("TSRNN_CACHE_DIR", str(tmp_path / "tsrnn"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    opened: list[str] = []
    real_cdll = ctypes.CDLL

    def cdll(name, *args, **kwargs):
        opened.append(str(name))
        return real_cdll(name, *args, **kwargs)

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail(f"started {a}"))
    rng = torch.get_rng_state()
    kernel = fastkernel.load()
    assert kernel is not None
    assert opened and all(Path(p).parent in (FAST, Path(torch.__file__).parent / "lib") for p in opened), opened
    assert str(FAST / kernel.path.name) in opened
    assert torch.equal(torch.get_rng_state(), rng)  # loading leaves training's random state alone
    assert fastkernel.status() == f"compiled ({kernel.path}, {fastkernel._ISA[kernel.isa]})"


@needs_kernel
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_the_parity_check_passes_whatever_mode_it_is_asked_in(fresh, mode: str) -> None:
    """The loaded library matches torch's GRU, and its check can be asked for in no-grad or inference mode: it still
    runs its backward, and the mode and the random state are as they were afterwards."""
    kernel = fastkernel.load()
    assert kernel is not None, fastkernel.status()
    rng = torch.get_rng_state()
    with getattr(torch, mode)():
        assert parity.refusal(kernel) is None
        assert parity.selfcheck(kernel) < parity.TOLERANCE
        assert torch.equal(torch.get_rng_state(), rng)
        assert not torch.is_grad_enabled()
        assert torch.is_inference_mode_enabled() == (mode == "inference_mode")


@needs_kernel
def test_a_library_built_from_another_source_is_refused(fresh, monkeypatch, tmp_path: Path) -> None:
    """An in-place build left behind by an edit of fastkernel.c (the editable install of a checkout) is not used
    until it is rebuilt."""
    edited = tmp_path / "fastkernel.c"
    edited.write_text(fastkernel.SOURCE.read_text() + "\n/* edited */\n")
    monkeypatch.setattr(fastkernel, "SOURCE", edited)
    assert fastkernel.load() is None
    assert "was built from another version of fastkernel.c; reinstall tsrnn to rebuild it" in fastkernel.status()
    assert fastcells.kernel_for(torch.zeros(1), torch.zeros(3, 1)) is None


@needs_kernel
def test_a_library_for_vector_instructions_this_cpu_lacks_is_refused(fresh, monkeypatch) -> None:
    """A package built on a machine with wider vector instructions and copied here keeps the torch loops rather than
    stopping on an illegal instruction."""
    isa = fastkernel.load().isa  # type: ignore[union-attr]
    if isa == 0:
        pytest.skip("the library uses no vector extensions: every x86-64 CPU runs it")
    fastkernel.load.cache_clear()
    monkeypatch.setattr(fastkernel, "cpu_isa", lambda: isa - 1)
    assert fastkernel.load() is None
    assert f"built for {fastkernel._ISA[isa]}, which this CPU lacks" in fastkernel.status()


@needs_kernel
@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler to build a wrong library with")
def test_a_library_that_computes_something_else_fails_the_parity_check(fresh, monkeypatch, tmp_path: Path) -> None:
    """The check against nn.GRU (a tiny GRU forward and backward) finds a miscompiled library, and `python -m
    tsrnn.model.fast.parity` (run by `make venv` after the build) fails with it."""
    source = fastkernel.SOURCE.read_bytes()
    wrong = tmp_path / "wrong.c"
    wrong.write_bytes(source.replace(b"2.0f * gb[j] * gb[2 * H + j]", b"2.1f * gb[j] * gb[2 * H + j]"))
    lib = tmp_path / "_fastkernel.so"
    digest = hashlib.sha256(source).hexdigest()[:15]  # claims to be built from the real file
    subprocess.run(
        ["cc", "-O2", "-fPIC", "-shared", f"-DFASTKERNEL_SOURCE_HASH=0x{digest}ULL", "-o", lib, wrong, "-lm"],
        check=True,
    )
    monkeypatch.setattr(fastkernel, "library", lambda: lib)
    kernel = fastkernel.load()
    assert kernel is not None and kernel.path == lib  # its source hash and instruction set pass at load
    assert "_fastkernel.so differs from torch's GRU by" in str(parity.refusal(kernel))
    assert parity.main() == 1


@pytest.mark.skipif(not (PACKAGE.parent / "setup.py").exists(), reason="not a checkout: no setup.py to build with")
@pytest.mark.parametrize("compiler", ["cc", "/bin/false"], ids=["compiler", "failing-compiler"])
def test_the_build_makes_the_extension_or_warns_and_still_succeeds(compiler: str, tmp_path: Path) -> None:
    """setup.py's build_ext: with a compiler, a library the package can load, built from this fastkernel.c for this
    CPU, that passes the parity check; with a compiler that fails, a warning and a successful build without it."""
    if not shutil.which(compiler):
        pytest.skip(f"no {compiler} here")
    done = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--build-lib",
            tmp_path / "lib",
            "--build-temp",
            tmp_path / "t",
        ],
        cwd=PACKAGE.parent,
        env={**os.environ, "CC": compiler},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    built = list((tmp_path / "lib" / "tsrnn" / "model" / "fast").glob("_fastkernel.*"))
    if compiler == "/bin/false":
        assert not built
        assert (
            "WARNING: tsrnn's compiled GRU training loops (tsrnn/model/fast/fastkernel.c) were not built" in done.stderr
        )
        return
    assert [p.name for p in built] == ["_fastkernel" + importlib.machinery.EXTENSION_SUFFIXES[0]]  # importable here
    sgemm = fastkernel._sgemm()
    if sgemm is None:
        pytest.skip("this torch exports no BLAS sgemm_ to run the loops with")
    kernel = fastkernel._open(built[0], sgemm)
    assert kernel.source_hash == int(hashlib.sha256(fastkernel.SOURCE.read_bytes()).hexdigest()[:15], 16)
    assert kernel.isa == fastkernel.cpu_isa()
    assert parity.selfcheck(kernel) < parity.TOLERANCE


def test_without_the_extension_training_uses_the_torch_loops(fresh, monkeypatch) -> None:
    """Installed where it could not be built (no C compiler): the same training, through the torch loops, and the
    report says why."""
    monkeypatch.setattr(fastkernel, "library", lambda: None)
    assert fastkernel.load() is None
    assert fastkernel.status() == (
        "the extension tsrnn.model.fast._fastkernel was not built when tsrnn was installed; install a C compiler "
        "and reinstall "
        "tsrnn to build it (from a checkout: pip install -e .)"
    )
    assert fastkernel.summary().startswith(
        "GRU training: torch loops, the extension tsrnn.model.fast._fastkernel was not"
    )
    assert fastcells.kernel_for(torch.zeros(1), torch.zeros(3, 1)) is None
    data = load_series("demo")
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=8), TrainConfig(epochs=1, seed=0))
    assert exp.result.history and all(torch.isfinite(p).all() for p in exp.result.model.parameters())
    gru = nn.GRU(1, 8)
    assert fastrnn.describe(gru, "cpu") == f"GRU fast path, torch loops: {fastkernel.status()}"


def test_the_extension_is_found_in_the_package_folder_only() -> None:
    """`library()` is the import system's answer for tsrnn.model.fast._fastkernel: a file inside the package built for
    this interpreter, or None."""
    path = fastkernel.library()
    if path is None:
        assert not list(FAST.glob("_fastkernel*"))
    else:
        assert path.parent == FAST and path.exists()


def test_turned_off_by_the_environment(fresh, monkeypatch) -> None:
    monkeypatch.setenv("TSRNN_FAST_KERNEL", "0")
    monkeypatch.setattr(fastkernel, "library", lambda: pytest.fail("looked for the library"))
    assert fastkernel.load() is None
    assert fastkernel.status() == "turned off (TSRNN_FAST_KERNEL=0)"


@pytest.mark.parametrize("off", [False, True], ids=["default", "turned-off"])
def test_version_and_python_m_say_which_loops_train(off: bool, capsys, monkeypatch) -> None:
    env = {"TSRNN_FAST_KERNEL": "0"} if off else {}
    done = subprocess.run(
        [sys.executable, "-m", "tsrnn.model.fast.parity"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    if off:
        want = "GRU training: torch loops, turned off (TSRNN_FAST_KERNEL=0)"
    elif fastkernel.library() is None or fastkernel._sgemm() is None:
        want = f"GRU training: torch loops, {fastkernel.status()}"
    else:
        want = f"GRU training: compiled loops ({fastkernel.library()}, "
    assert done.stdout.startswith(want), done.stdout + done.stderr
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fastkernel.load.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["--version"])
    finally:
        fastkernel.load.cache_clear()
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"tsrnn {tsrnn.__version__}\n{done.stdout}"


def test_version_without_the_training_extra(capsys, monkeypatch) -> None:
    """A forecasting-only install (no torch) still answers --version, and says how to get training."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert (
        capsys.readouterr().out
        == f'tsrnn {tsrnn.__version__}\nGRU training: not installed (pip install "tsrnn[train]")\n'
    )


def test_only_float32_cpu_layers_reach_the_kernel() -> None:
    """The kernel is float32 on the CPU with a contiguous W_hh; anything else is computed by the torch loops (a
    float64 layer to float64 round-off)."""
    f32, f64 = torch.zeros(3, 1), torch.zeros(3, 1, dtype=torch.float64)
    assert fastcells.kernel_for(f32[0], f32) is fastkernel.load()  # the kernel itself where there is one
    assert fastcells.kernel_for(f64[0], f64) is None
    assert fastcells.kernel_for(f32[0], f64) is None  # mixed precision never reaches the C loops
    assert fastcells.kernel_for(f32[0], torch.zeros(2, 3).t()) is None  # a transposed view


def test_workspaces_are_reused_between_steps_and_never_while_an_output_is_held() -> None:
    workspace.release()
    torch.manual_seed(0)
    module = nn.GRU(2, 8).train()
    x = torch.randn(5, 3, 2)
    out, h = fastrnn.fast_forward(module, x)
    h.sum().backward()
    first = out.untyped_storage().data_ptr()
    out2, h2 = fastrnn.fast_forward(module, x)  # `out` still held: another workspace
    assert out2.untyped_storage().data_ptr() != first
    torch.testing.assert_close(out2, out)  # and `out` was not overwritten
    h2.sum().backward()
    del out, h
    out3, _ = fastrnn.fast_forward(module, x)
    assert out3.untyped_storage().data_ptr() == first  # reused (the second one is still held as out2)
    assert workspace.pooled_bytes() > 0
    workspace.release()
    assert workspace.pooled_bytes() == 0


def test_a_graph_kept_for_a_second_backward_keeps_its_workspace() -> None:
    """retain_graph=True: the layer's buffers stay out of the pool until the graph is gone, so a second backward
    after more training steps still reads its own gates."""
    workspace.release()
    torch.manual_seed(0)
    module = nn.GRU(2, 8).train()
    x = torch.randn(5, 3, 2)
    _, h = fastrnn.fast_forward(module, x)
    loss = h.sum()
    first = torch.autograd.grad(loss, list(module.parameters()), retain_graph=True)
    for _ in range(workspace.POOL_PER_SHAPE + 1):
        _, h2 = fastrnn.fast_forward(module, x * 2)
        h2.sum().backward()
    second = torch.autograd.grad(loss, list(module.parameters()))
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
