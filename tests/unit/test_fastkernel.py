"""The compiled GRU loops (tsrnn/fastkernel.c): the same results as nn.GRU and as the torch loops, built once into
a cache, checked in a separate process, and never in the way where they cannot be used."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from tsrnn import fastcells, fastkernel, fastrnn, workspace
from tsrnn.config import TrainConfig
from tsrnn.data import load_series
from tsrnn.pipeline import model_config, train_experiment

needs_compiler = pytest.mark.skipif(
    not (shutil.which("cc") or shutil.which("gcc")) or fastkernel._sgemm() is None,
    reason="no C compiler, or a torch without a BLAS sgemm_: the torch loops are used",
)


@pytest.fixture
def fresh(monkeypatch, tmp_path: Path):
    """`load()` forgotten before and after the test, with its cache in tmp_path."""
    monkeypatch.setenv("TSRNN_CACHE_DIR", str(tmp_path))
    fastkernel.load.cache_clear()
    yield tmp_path
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


@needs_compiler
@pytest.mark.parametrize(
    ("layers", "bidirectional", "with_h0", "batch_first"),
    [(1, False, False, True), (1, True, True, False), (3, False, False, True), (2, True, False, True)],
    ids=["gru", "bigru-h0", "gru-3", "bigru-2"],
)
def test_kernel_matches_torch_and_the_torch_loops(fresh, layers, bidirectional, with_h0, batch_first) -> None:
    kernel = fastkernel.load()
    assert kernel is not None and fastkernel.status().startswith("compiled")
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


@needs_compiler
def test_built_once_checked_once_and_reused(fresh) -> None:
    assert fastkernel.load() is not None
    built = sorted(p.name for p in fresh.iterdir())
    assert len(built) == 2 and built[0].endswith(".ok") and built[1].endswith(".so")  # library + passed check
    stamp = (fresh / built[1]).stat().st_mtime_ns
    fastkernel.load.cache_clear()
    assert fastkernel.load() is not None
    assert (fresh / built[1]).stat().st_mtime_ns == stamp  # not compiled again


@needs_compiler
def test_a_kernel_that_computes_something_else_is_refused(fresh, monkeypatch, tmp_path: Path) -> None:
    """A library that fails the separate-process check is never used: training falls back to the torch loops."""
    wrong = tmp_path / "wrong.c"
    wrong.write_text(
        fastkernel.SOURCE.read_text().replace("2.0f * gb[j] * gb[2 * H + j]", "2.1f * gb[j] * gb[2 * H + j]")
    )
    monkeypatch.setattr(fastkernel, "SOURCE", wrong)
    assert fastkernel.load() is None
    assert "failed its check" in fastkernel.status()
    assert not list(fresh.glob("*.ok"))
    (failed,) = fresh.glob("*.failed")
    assert "differs from torch" in failed.read_text()  # the check's own words, kept beside the library
    assert fastcells.kernel_for(torch.zeros(1), torch.zeros(3, 1)) is None
    fastkernel.load.cache_clear()  # a later process does not compile or check the same library again
    monkeypatch.setattr(fastkernel.subprocess, "run", lambda *a, **k: pytest.fail("ran again"))
    assert fastkernel.load() is None


@needs_compiler
def test_a_cached_library_damaged_after_its_check_is_not_used(fresh) -> None:
    assert fastkernel.load() is not None
    (lib,) = fresh.glob("*.so")
    damaged = lib.with_suffix(".tmp")  # a new file in its place: this process still maps the old one
    damaged.write_bytes(lib.read_bytes()[:100])
    damaged.replace(lib)
    later = subprocess.run([sys.executable, "-m", "tsrnn.fastkernel"], capture_output=True, text=True, check=True)
    assert later.stdout.startswith(f"GRU training loops: could not load {lib}"), later.stdout + later.stderr


def test_an_unwritable_cache_folder_is_said(monkeypatch) -> None:
    monkeypatch.setenv("TSRNN_CACHE_DIR", "/proc/tsrnn-cache")
    fastkernel.load.cache_clear()
    try:
        assert fastkernel.load() is None
        assert "cannot write to the cache folder /proc/tsrnn-cache" in fastkernel.status()
    finally:
        fastkernel.load.cache_clear()


def test_without_a_compiler_training_still_runs(fresh, monkeypatch) -> None:
    monkeypatch.setenv("CC", str(fresh / "no-such-compiler"))
    assert fastkernel.load() is None
    assert "could not compile" in fastkernel.status()
    data = load_series("demo")
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=8), TrainConfig(epochs=1, seed=0))
    assert exp.result.history and all(torch.isfinite(p).all() for p in exp.result.model.parameters())


def test_turned_off_by_the_environment(fresh, monkeypatch) -> None:
    monkeypatch.setenv("TSRNN_FAST_KERNEL", "0")
    assert fastkernel.load() is None
    assert "TSRNN_FAST_KERNEL=0" in fastkernel.status()
    assert not list(fresh.iterdir())  # nothing compiled


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
