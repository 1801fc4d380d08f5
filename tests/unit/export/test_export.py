"""Every variant trains, exports to one ONNX file and matches PyTorch in ONNX Runtime."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tsrnn.core.config import DataConfig, TrainConfig
from tsrnn.core.errors import ExportError, TrainingError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.export.exporter import WIDE_FROM
from tsrnn.runtime.inference import Forecaster

VARIANTS = list(itertools.product(["rnn", "gru", "lstm"], [False, True], [1, 3]))


@pytest.fixture(scope="module")
def demo():
    return load_series("demo")


@pytest.mark.parametrize(("cell", "bi", "layers"), VARIANTS, ids=[f"{c}-{'bi' * b}{n}" for c, b, n in VARIANTS])
def test_variant_exports_with_parity(demo, tmp_path: Path, cell: str, bi: bool, layers: int) -> None:
    cfg = model_config(demo, cell=cell, bidirectional=bi, num_layers=layers, hidden_size=8, dropout=0.1)
    exp = train_experiment(demo, cfg, TrainConfig(epochs=1, seed=1))
    res = exp.export(tmp_path / "m.onnx")
    assert res.max_rel_error < 1e-4 and res.batches[0] == 1 and res.batches[1] >= 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # one file, no external data
    session = ort.InferenceSession(str(res.path), providers=["CPUExecutionProvider"])
    x = np.stack([demo.values[0][i : i + 24] for i in range(100)])
    from tsrnn.model.train import predict

    expected = predict(exp.result.model, x)
    got = session.run(None, {"history": x})[0]
    assert got.shape == (100, 12, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    assert session.get_inputs()[0].shape[0] == "batch"
    native = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[cell]
    graph = onnx.load(str(res.path)).graph
    wide_from = WIDE_FROM.get(cell)
    if wide_from is None:
        assert native in {n.op_type for n in graph.node}
        return
    # rnn and gru: the native kernel below `wide_from` windows, the unrolled graph from there; both match torch.
    (dispatch,) = [n for n in graph.node if n.op_type == "If"]
    branches = {a.name: {n.op_type for n in a.g.node} for a in dispatch.attribute}
    assert native in branches["else_branch"] and native not in branches["then_branch"]
    assert Forecaster.load(res.path).meta.wide_graph_from_batch == wide_from
    for n in (1, wide_from - 1, wide_from):
        np.testing.assert_allclose(session.run(None, {"history": x[:n]})[0], expected[:n], rtol=1e-4, atol=1e-3)


def test_metadata_carries_what_inference_needs(demo, tmp_path: Path) -> None:
    cfg = model_config(demo, cell="gru", hidden_size=8, num_layers=1)
    exp = train_experiment(demo, cfg, TrainConfig(epochs=2, seed=3))
    path = exp.export(tmp_path / "gru.onnx").path
    meta = Forecaster.load(path).meta.to_dict()
    assert meta["schema_version"] == 2
    for key in [
        "tsrnn_version",
        "cell",
        "bidirectional",
        "num_layers",
        "hidden_size",
        "input_len",
        "horizon",
        "time_col",
        "targets",
        "inputs",
        "id_col",
        "freq",
        "last_timestamps",
        "season",
        "scaling",
        "seed",
        "test_metrics",
        "created",
    ]:
        assert key in meta, key
    assert meta["cell"] == "gru" and meta["input_len"] == 24 and meta["horizon"] == 12
    assert meta["last_timestamps"] == {"": "1960-12-01T00:00:00.000000"}
    assert set(meta["test_metrics"]) == {"model", "naive", "seasonal_naive", "drift"}


def test_same_seed_same_onnx_outputs(demo, tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        cfg = model_config(demo, cell="lstm", hidden_size=8, num_layers=2)
        exp = train_experiment(demo, cfg, TrainConfig(epochs=2, seed=7))
        f = Forecaster.load(exp.export(tmp_path / f"m{i}.onnx").path)
        outs.append(f.predict(demo.values[0][None, -24:]))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_global_scaling_forecasts_in_raw_units(demo, tmp_path: Path) -> None:
    cfg = model_config(demo, cell="gru", hidden_size=16, num_layers=1, scaling="global")
    exp = train_experiment(demo, cfg, TrainConfig(epochs=20, seed=0, lr=3e-3))
    f = Forecaster.load(exp.export(tmp_path / "g.onnx").path)
    y = f.predict(demo.values[0][None, -24:])
    assert 200 < float(y.mean()) < 800  # passengers in thousands, not z-scores


def test_nan_loss_stops_with_clear_error(demo) -> None:
    cfg = model_config(demo, cell="rnn", hidden_size=8, num_layers=1, scaling="global")
    with pytest.raises(TrainingError, match="lower --lr"):
        train_experiment(demo, cfg, TrainConfig(epochs=3, lr=1e30, clip_norm=1e30))


def test_stop_request_keeps_best_weights(demo) -> None:
    cfg = model_config(demo, cell="gru", hidden_size=8, num_layers=1)
    seen = []
    exp = train_experiment(demo, cfg, TrainConfig(epochs=50), on_epoch=seen.append, should_stop=lambda: len(seen) >= 3)
    assert exp.result.stopped == "cancelled" and exp.result.epochs_run == 3
    assert [i.epoch for i in seen] == [1, 2, 3] and seen[-1].eta > 0
    assert exp.scores["model"]["passengers"]["mae"] > 0


def test_multivariate_inputs_and_targets(tmp_path: Path) -> None:
    data = load_series(
        Path(__file__).parents[2] / "data/real/us_change_quarterly.csv",
        DataConfig(targets=("consumption", "income"), features=("production",)),
    )
    cfg = model_config(data, cell="lstm", hidden_size=8, num_layers=1)
    exp = train_experiment(data, cfg, TrainConfig(epochs=1))
    f = Forecaster.load(exp.export(tmp_path / "mv.onnx").path)
    assert f.inputs == ["consumption", "income", "production"] and f.targets == ["consumption", "income"]
    assert f.predict(data.values[0][None, -cfg.input_len :]).shape == (1, cfg.horizon, 2)


def test_unwritable_export_path_is_refused(demo, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = model_config(demo, cell="gru", hidden_size=4, num_layers=1)
    exp = train_experiment(demo, cfg, TrainConfig(epochs=1))
    with pytest.raises(ExportError, match="cannot write"):
        exp.export(blocker / "m.onnx")


def test_export_above_tolerance_is_refused_and_not_written(demo, tmp_path: Path, monkeypatch) -> None:
    import tsrnn.export.parity

    cfg = model_config(demo, cell="gru", hidden_size=4, num_layers=1)
    exp = train_experiment(demo, cfg, TrainConfig(epochs=1))
    monkeypatch.setattr(tsrnn.export.parity, "TOLERANCE", -1.0)
    with pytest.raises(ExportError, match=r"differs from PyTorch.*not saved"):
        exp.export(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_dispatch_threshold_can_be_overridden_at_load(demo, tmp_path: Path) -> None:
    """A GPU session moves the switch out of reach; the override really picks the branch that runs."""
    import json

    from tsrnn.model.train import predict
    from tsrnn.runtime.inference import NEVER, override_dispatch

    exp = train_experiment(demo, model_config(demo, cell="rnn", hidden_size=8, num_layers=1), TrainConfig(epochs=1))
    path = exp.export(tmp_path / "rnn.onnx").path
    x = np.stack([demo.values[0][i : i + 24] for i in range(40)])
    expected = predict(exp.result.model, x)
    ran = {}
    for name, threshold in (("native", NEVER), ("wide", 1)):
        opts = ort.SessionOptions()
        opts.enable_profiling = True
        opts.profile_file_prefix = str(tmp_path / name)
        keep = override_dispatch(opts, path, threshold)
        assert len(keep) == 1
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(session.run(None, {"history": x})[0], expected, rtol=1e-4, atol=1e-3)
        events = json.loads(Path(session.end_profiling()).read_text())
        ran[name] = {e["name"].split("/")[0] for e in events if e.get("cat") == "Node"}
    assert "native" in ran["native"] and "wide" not in ran["native"]
    assert "wide" in ran["wide"] and "native" not in ran["wide"]
    plain = tmp_path / "plain.onnx"
    plain.write_bytes(b"not a dispatch model")
    assert override_dispatch(ort.SessionOptions(), plain, 1) == []
