"""The CPU training fast path for GRU and simple RNN computes what nn.GRU / nn.RNN compute, forward and backward,
and never reaches evaluation, inference or export."""

from __future__ import annotations

import itertools
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from tsrnn.core.config import TrainConfig
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.model.fast import kernel as fastkernel
from tsrnn.model.fast import products as fastproducts
from tsrnn.model.fast import rnn as fastrnn
from tsrnn.model.networks import RecurrentForecaster

CASES = list(itertools.product(["gru", "rnn"], [False, True], [1, 3]))
IDS = [f"{c}-{'bi' * b}{n}" for c, b, n in CASES]


def make(cell: str, bidirectional: bool, layers: int, dtype: torch.dtype = torch.float32, **kw) -> nn.Module:
    torch.manual_seed(0)
    module = {"gru": nn.GRU, "rnn": nn.RNN}[cell](
        input_size=3, hidden_size=12, num_layers=layers, bidirectional=bidirectional, **kw
    )
    return module.to(dtype).train()


def outputs_and_grads(fn, module: nn.Module, x: torch.Tensor, hx: torch.Tensor | None, seed: int = 1):
    """Output, final state and the gradients of a random projection of both w.r.t. input, h0 and every
    parameter (name -> gradient)."""
    out, h_n = fn(module, x, hx)
    gen = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum() + (
        h_n * torch.randn(h_n.shape, generator=gen, dtype=h_n.dtype)
    ).sum()
    named = [("input", x)] + ([("h0", hx)] if hx is not None else []) + list(module.named_parameters())
    grads = torch.autograd.grad(loss, [t for _, t in named])
    return out.detach(), h_n.detach(), {name: g for (name, _), g in zip(named, grads, strict=True)}


def standard(module, x, hx):
    return module(x) if hx is None else module(x, hx)


def fast(module, x, hx):
    return fastrnn.fast_forward(module, x, hx)


@pytest.mark.parametrize(("cell", "bi", "layers"), CASES, ids=IDS)
def test_outputs_states_and_gradients_match_torch(cell: str, bi: bool, layers: int) -> None:
    module = make(cell, bi, layers, batch_first=True)
    x = torch.randn(5, 9, 3, requires_grad=True)  # batch 5, 9 steps
    want = outputs_and_grads(standard, module, x, None)
    got = outputs_and_grads(fast, module, x, None)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(got[1], want[1], rtol=0, atol=1e-5)
    assert got[2].keys() == want[2].keys() and len(want[2]) == 1 + 4 * layers * (2 if bi else 1)
    for name, g in want[2].items():
        torch.testing.assert_close(got[2][name], g, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize(("cell", "bi", "layers"), CASES, ids=IDS)
def test_same_mathematics_in_float64_with_initial_state(cell: str, bi: bool, layers: int) -> None:
    """In double precision the fast path agrees to round-off: the same equations, not an approximation."""
    module = make(cell, bi, layers, dtype=torch.float64)  # time-major input (batch_first=False)
    x = torch.randn(7, 4, 3, dtype=torch.float64, requires_grad=True)
    hx = torch.randn(layers * (2 if bi else 1), 4, 12, dtype=torch.float64, requires_grad=True)
    want = outputs_and_grads(standard, module, x, hx)
    got = outputs_and_grads(fast, module, x, hx)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(got[1], want[1], rtol=0, atol=1e-12)
    for name, g in want[2].items():
        torch.testing.assert_close(got[2][name], g, rtol=1e-9, atol=1e-11, msg=name)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_layers_without_biases(cell: str) -> None:
    module = make(cell, True, 2, batch_first=True, bias=False)
    x = torch.randn(4, 6, 3, requires_grad=True)
    want, got = outputs_and_grads(standard, module, x, None), outputs_and_grads(fast, module, x, None)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-5)
    for name, g in want[2].items():
        torch.testing.assert_close(got[2][name], g, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "torch-matmul"])
def test_training_sized_layers_match_torch(monkeypatch, onednn: bool) -> None:
    """Window 24, batch 32, hidden 64, two layers: the large products over all steps (input projections,
    input and weight gradients) go through oneDNN where torch has it, else through torch's own matmul."""
    if not onednn:
        monkeypatch.setattr(fastproducts, "onednn", lambda: None)
    used = []
    real = fastproducts.product
    monkeypatch.setattr(fastproducts, "product", lambda *a: used.append(r := real(*a)) or r)
    for cell in ("gru", "rnn"):
        torch.manual_seed(0)
        module = {"gru": nn.GRU, "rnn": nn.RNN}[cell](1, 64, num_layers=2, batch_first=True).train()
        x = torch.randn(32, 24, 1, requires_grad=True)
        want = outputs_and_grads(standard, module, x, None)
        got = outputs_and_grads(fast, module, x, None)
        torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-5)
        for name, g in want[2].items():  # float32 sums over 768 rows: compare relative to the largest entry
            torch.testing.assert_close(got[2][name], g, rtol=0, atol=2e-5 * float(g.abs().max()), msg=name)
    took = [u is not None for u in used]
    assert any(took) == (onednn and fastproducts.onednn.__wrapped__() is not None)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_dropout_between_layers_draws_the_same_mask(cell: str) -> None:
    module = make(cell, True, 3, batch_first=True, dropout=0.5)
    x = torch.randn(4, 6, 3)
    torch.manual_seed(5)
    want = module(x)
    torch.manual_seed(5)
    got = fastrnn.fast_forward(module, x)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(got[1], want[1], rtol=0, atol=1e-5)
    torch.manual_seed(6)  # another mask: a different result, so the mask was really applied
    assert not torch.allclose(fastrnn.fast_forward(module, x)[0], want[0], atol=1e-3)


def test_used_only_for_cpu_training_with_gradients() -> None:
    gru, x = make("gru", False, 1, batch_first=True), torch.randn(2, 5, 3)
    assert fastrnn.applies(gru, x)
    assert fastrnn.applies(make("rnn", True, 2, batch_first=True), x)
    with torch.no_grad():
        assert not fastrnn.applies(gru, x)
    with torch.inference_mode():
        assert not fastrnn.applies(gru, x)
    assert not fastrnn.applies(gru.eval(), x)
    gru.train()
    assert not fastrnn.applies(gru, x[0])  # unbatched input
    assert not fastrnn.applies(nn.LSTM(3, 12, batch_first=True), x)  # the LSTM has its own fused kernel
    assert not fastrnn.applies(nn.RNN(3, 12, nonlinearity="relu", batch_first=True), x)
    with fastrnn.enabled(False):
        assert not fastrnn.applies(gru, x)
    assert fastrnn.applies(gru, x)
    with pytest.raises(TypeError, match="LSTM"):
        fastrnn.fast_forward(nn.LSTM(3, 12), x)


def test_wide_gru_on_one_thread_keeps_the_module_without_the_compiled_loops(monkeypatch) -> None:
    """Where batch x hidden exceeds GRU_WIDE the standard GRU was as fast as the torch loops on one thread: without
    the compiled loops the fast path then needs more than one (the simple RNN was faster at every size measured,
    and so were the compiled loops)."""
    gru, rnn = make("gru", False, 1, batch_first=True), make("rnn", False, 1, batch_first=True)
    wide = torch.randn(fastrnn.GRU_WIDE // 12 + 1, 5, 3)  # batch x hidden 12 just above GRU_WIDE
    narrow = wide[: fastrnn.GRU_WIDE // 12]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        monkeypatch.setattr(fastkernel, "load", lambda: None)
        assert not fastrnn.applies(gru, wide) and fastrnn.applies(gru, narrow) and fastrnn.applies(rnn, wide)
        gru64 = make("gru", False, 1, dtype=torch.float64, batch_first=True)
        assert not fastrnn.applies(gru64, wide.double())  # float64 never has the compiled loops
        torch.set_num_threads(2)
        assert fastrnn.applies(gru, wide)
        torch.set_num_threads(1)
        monkeypatch.setattr(fastkernel, "load", lambda: object())  # compiled loops available
        assert fastrnn.applies(gru, wide) and not fastrnn.applies(gru64, wide.double())
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("layers", [1, 2])
def test_states_only_skips_the_output_of_a_bidirectional_last_layer(layers: int) -> None:
    module = make("gru", True, layers, batch_first=True)
    x = torch.randn(4, 6, 3, requires_grad=True)
    out, h_n = fastrnn.fast_forward(module, x, output=False)
    assert out is None
    want = module(x)[1]
    torch.testing.assert_close(h_n, want, rtol=0, atol=1e-5)
    g_got = torch.autograd.grad(h_n.sum(), [x, *module.parameters()])
    g_want = torch.autograd.grad(want.sum(), [x, *module.parameters()])
    for a, b in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_forecaster_uses_it_while_training_only(monkeypatch) -> None:
    calls = []
    real = fastrnn.fast_forward
    monkeypatch.setattr(fastrnn, "fast_forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    data = load_series("demo")
    model = RecurrentForecaster(model_config(data, cell="gru", hidden_size=8, num_layers=2))
    window = torch.randn(3, model.config.input_len + model.config.horizon, 1)
    model.train()
    pred_train, _ = model.scaled_loss_inputs(window)
    assert len(calls) == 1
    model.eval()
    pred_eval, _ = model.scaled_loss_inputs(window)
    assert len(calls) == 1  # evaluation ran the module itself
    torch.testing.assert_close(pred_train, pred_eval, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("cell", "bi", "layers"), [("gru", False, 1), ("rnn", True, 2)], ids=["gru", "birnn-2"])
def test_model_trained_on_the_fast_path_exports_with_parity(
    tmp_path: Path, monkeypatch, cell: str, bi: bool, layers: int
) -> None:
    calls = []
    real = fastrnn.fast_forward
    monkeypatch.setattr(fastrnn, "fast_forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    data = load_series("demo")
    cfg = model_config(data, cell=cell, bidirectional=bi, num_layers=layers, hidden_size=8, dropout=0.1)
    exp = train_experiment(data, cfg, TrainConfig(epochs=1, seed=1))
    trained = len(calls)
    assert trained >= 20  # every training step (at least 20 an epoch)
    fresh = RecurrentForecaster(cfg)
    assert list(exp.result.model.state_dict()) == list(fresh.state_dict())  # the same parameters and names
    res = exp.export(tmp_path / "m.onnx")
    assert len(calls) == trained  # export (and its parity check) ran the standard module
    assert res.max_rel_error < 1e-4
    ops = {n.op_type for n in onnx.load(str(res.path)).graph.node}
    ops |= {
        m.op_type for n in onnx.load(str(res.path)).graph.node for a in n.attribute if a.g is not None for m in a.g.node
    }
    assert {"gru": "GRU", "rnn": "RNN"}[cell] in ops  # the native recurrent node, as before
