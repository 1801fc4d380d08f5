"""INT8 dynamic quantization: a smaller model with the same metadata, and its drift measured."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tsrnn.core.errors import ModelFileError
from tsrnn.export.quantize import format_drift, measure_drift, quantize_model
from tsrnn.runtime.forecastio import load_history
from tsrnn.runtime.inference import Forecaster

DATA = Path(__file__).parents[2] / "data"


def test_quantize_lstm_and_measure_drift(demo_model: Path, tmp_path: Path) -> None:
    src = tmp_path / "m.onnx"
    shutil.copy(demo_model, src)
    out = quantize_model(src)
    assert out == tmp_path / "m.int8.onnx"
    q, f = Forecaster.load(out), Forecaster.load(src)
    assert q.meta == f.meta  # the metadata travels with the quantized file
    x = np.stack([load_history(f, "demo").values[0][-24:]] * 3)
    assert np.max(np.abs(q.predict(x) - f.predict(x))) < 0.1 * np.max(np.abs(f.predict(x)))
    d = measure_drift(src, out, "demo")
    assert "DynamicQuantizeLSTM" in d.quantized_ops and d.float_recurrent == []
    assert d.float_metrics and d.int8_metrics and d.max_abs_diff is not None and d.max_abs_diff > 0
    assert set(d.int8_metrics) == {"mase", "smape", "mae", "rmse"}
    text = format_drift(d)
    assert "float" in text and "int8" in text and "largest forecast difference" in text


def test_quantize_refuses_non_models_and_overwrite(demo_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a readable ONNX model"):
        quantize_model(DATA / "not_a_model.onnx", tmp_path / "x.onnx")
    with pytest.raises(ModelFileError, match="must not overwrite"):
        quantize_model(demo_model, demo_model)
    assert not (tmp_path / "x.onnx").exists()


def test_materially_worse_is_flagged(demo_model: Path, tmp_path: Path) -> None:
    d = measure_drift(demo_model, quantize_model(demo_model, tmp_path / "q.onnx"), "demo")
    assert d.float_metrics and d.int8_metrics
    d.int8_metrics["mase"] = d.float_metrics["mase"] * 1.5 + 0.1
    assert d.worse and "materially worse" in format_drift(d)


def test_quantize_gru_keeps_both_graphs(tmp_path: Path) -> None:
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment
    from tsrnn.export.exporter import WIDE_FROM

    demo = load_series("demo")
    exp = train_experiment(demo, model_config(demo, cell="gru", hidden_size=8, num_layers=1), TrainConfig(epochs=1))
    src = exp.export(tmp_path / "gru.onnx").path
    out = quantize_model(src)
    d = measure_drift(src, out, "demo")
    assert "MatMulInteger" in d.quantized_ops and d.float_recurrent == ["GRU"]  # the head, in both graphs
    q, f = Forecaster.load(out), Forecaster.load(src)
    x = np.stack([demo.values[0][i : i + 24] for i in range(WIDE_FROM["gru"] + 1)])
    for n in (1, len(x)):  # the native graph below the threshold, the unrolled one above
        assert np.max(np.abs(q.predict(x[:n]) - f.predict(x[:n]))) < 0.05 * np.max(np.abs(f.predict(x[:n])))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru.int8.onnx", "gru.onnx"]
