"""INT8 dynamic quantization of an exported model, and how far it drifts from the float model."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsrnn.core.errors import ModelFileError
from tsrnn.core.safeio import atomic_write
from tsrnn.evaluate.metrics import METRICS, baselines, evaluate, mase_scale
from tsrnn.runtime.forecastio import load_history, window_inputs
from tsrnn.runtime.inference import Forecaster

MATERIAL = 0.05
"""INT8 is 'materially worse' when its MASE exceeds the float model's by more than 5 % (and 0.01)."""


@dataclass
class Drift:
    float_path: Path
    int8_path: Path
    float_bytes: int
    int8_bytes: int
    quantized_ops: list[str]
    float_recurrent: list[str]
    """Recurrent nodes left in float: ONNX Runtime has a dynamic INT8 kernel for LSTM only."""
    float_metrics: dict[str, float] | None = None
    int8_metrics: dict[str, float] | None = None
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None

    @property
    def worse(self) -> bool:
        if not (self.float_metrics and self.int8_metrics):
            return False
        f, q = self.float_metrics["mase"], self.int8_metrics["mase"]
        return q > f * (1 + MATERIAL) + 0.01

    def to_dict(self) -> dict[str, Any]:
        return {
            "float_path": str(self.float_path),
            "int8_path": str(self.int8_path),
            "float_bytes": self.float_bytes,
            "int8_bytes": self.int8_bytes,
            "quantized_ops": self.quantized_ops,
            "float_recurrent": self.float_recurrent,
            "float_metrics": self.float_metrics,
            "int8_metrics": self.int8_metrics,
            "max_abs_diff": self.max_abs_diff,
            "max_rel_diff": self.max_rel_diff,
            "materially_worse": self.worse,
        }


def int8_path_for(path: Path) -> Path:
    return path.with_name(f"{path.stem}.int8.onnx")


def quantize_model(src: str | os.PathLike[str], dst: str | os.PathLike[str] | None = None) -> Path:
    """Write an INT8 dynamically quantized copy (weights INT8, activations quantized on the fly)."""
    # Here, not at the top: ONNX Runtime's quantizer loads onnx, needed only to quantize.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = Path(src)
    Forecaster.load(source)  # a clear error for a file that is not a tsrnn model
    target = Path(dst) if dst else int8_path_for(source)
    if target.resolve() == source.resolve():
        raise ModelFileError(f"{target}: the INT8 model must not overwrite the float model; choose another path")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs advice about image models through the root logger
    try:
        return atomic_write(target, lambda tmp: _quantize(source, tmp, quantize_dynamic, QuantType.QInt8))
    finally:
        root.setLevel(level)


def _quantize(source: Path, tmp: Path, quantize_dynamic: Any, weight_type: Any) -> None:
    """The quantizer does not enter If branches: a model with the batch dispatch is split into its two
    graphs, each is quantized on its own, and the two are joined again."""
    # Here, not at the top: loads onnx, needed only to quantize (not to forecast with an INT8 file).
    import onnx

    # Here, not at the top: loads onnx, which importing this module does not.
    from tsrnn.export.graph import dispatch_on_batch, split_dispatch

    proto = onnx.load(str(source))
    parts = split_dispatch(proto)
    if parts is None:
        quantize_dynamic(str(source), str(tmp), weight_type=weight_type)
        return
    small, large, threshold = parts
    done = []
    for i, part in enumerate((small, large)):
        src, dst = tmp.with_name(f"{tmp.name}.{i}.in"), tmp.with_name(f"{tmp.name}.{i}.out")
        try:
            onnx.save(part, str(src))
            quantize_dynamic(str(src), str(dst), weight_type=weight_type)
            done.append(onnx.load(str(dst)))
        finally:
            src.unlink(missing_ok=True)
            dst.unlink(missing_ok=True)
    joined = dispatch_on_batch(done[0], done[1], threshold)
    joined.metadata_props.extend(proto.metadata_props)
    joined.doc_string = proto.doc_string
    onnx.save(joined, str(tmp))


def _nodes(graph: Any) -> Iterator[Any]:
    """Every node of an ONNX graph, those inside If branches included."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _nodes(attr.g)


def measure_drift(float_path: Path, int8_path: Path, csv: str | os.PathLike[str] | None = None) -> Drift:
    """File sizes, quantized node types and, given a CSV, test metrics of both models on its last horizon."""
    # Here, not at the top: loads onnx, needed only to measure a quantized file.
    import onnx

    fm, qm = Forecaster.load(float_path), Forecaster.load(int8_path)
    nodes = {n.op_type for n in _nodes(onnx.load(str(int8_path)).graph)}
    ops = sorted(n for n in nodes if n.startswith(("DynamicQuantize", "MatMulInteger", "QLinear")))
    drift = Drift(
        float_path,
        int8_path,
        float_path.stat().st_size,
        int8_path.stat().st_size,
        ops,
        float_recurrent=sorted(nodes & {"RNN", "GRU", "LSTM"}),
    )
    data = load_history(fm, csv) if csv else None
    if data is None or fm.task != "forecast":
        return drift
    L, H, n_t = fm.history_len, fm.horizon, len(fm.targets)
    data = data.subset([i for i, v in enumerate(data.values) if len(v) >= L + H])
    if not data.n_series:
        return drift
    history, known = window_inputs(fm, data, back=H)
    actual = np.stack([v[-H:, :n_t] for v in data.values])
    insample = [v[:-H, :n_t] for v in data.values]
    a, b = fm.predict(history, known), qm.predict(history, known)
    season = fm.meta.season
    scale = mase_scale(insample, season)
    drift.float_metrics = _mean(evaluate(actual, a, scale))
    drift.int8_metrics = _mean(evaluate(actual, b, scale))
    drift.float_metrics["seasonal_naive_mase"] = _mean(
        evaluate(actual, baselines(insample, H, season)["seasonal_naive"], scale)
    )["mase"]
    drift.max_abs_diff = float(np.max(np.abs(a - b)))
    drift.max_rel_diff = drift.max_abs_diff / max(1.0, float(np.max(np.abs(a))))
    return drift


def _mean(per_target: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.mean(per_target[k])) for k in METRICS}


def format_drift(d: Drift) -> str:
    ratio = d.float_bytes / max(d.int8_bytes, 1)
    size = f"{ratio:.1f}x smaller" if ratio >= 1.05 else "no smaller"
    lines = [
        f"INT8 model: {d.int8_path} ({d.int8_bytes / 1024:.0f} KiB, float {d.float_bytes / 1024:.0f} KiB, "
        f"{size}); quantized ops: {', '.join(d.quantized_ops) or 'none'}"
    ]
    if d.float_recurrent:
        lines.append(
            f"the {'/'.join(d.float_recurrent)} layers of the small-batch graph stay float (ONNX Runtime "
            "quantizes only LSTM layers dynamically), so expect little gain at small batches; the "
            "large-batch graph's matrix products are INT8"
        )
    if d.float_metrics and d.int8_metrics:
        lines.append("        MASE    sMAPE %   MAE        RMSE")
        for name, m in (("float", d.float_metrics), ("int8", d.int8_metrics)):
            lines.append(f"{name:6}  {m['mase']:.3f}   {m['smape']:7.2f}   {m['mae']:<9.4g}  {m['rmse']:.4g}")
        lines.append(f"largest forecast difference: {d.max_abs_diff:.4g} (relative {d.max_rel_diff:.2e})")
        if d.worse:
            lines.append(
                f"warning: the INT8 model is materially worse than the float model (MASE "
                f"{d.int8_metrics['mase']:.3f} against {d.float_metrics['mase']:.3f}); keep the float model"
            )
    return "\n".join(lines)


def drift_json(d: Drift) -> str:
    return json.dumps(d.to_dict(), indent=2)
