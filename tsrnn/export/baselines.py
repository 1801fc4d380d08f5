"""The naive, seasonal-naive and drift baselines as model files: the same raw-in/raw-out contract and metadata
as a network's, so `tsrnn forecast`, `tsrnn inspect` and the TUI use them unchanged.

The graph reads history (batch, input_len, inputs) [and, where the data has known inputs, known (batch, input_len
+ horizon, known), which it ignores] and writes forecast (batch, horizon, targets) from the targets' channels:
- naive: the last value, repeated;
- seasonal naive: the last season of the window, repeated (the window holds at least one season);
- drift: the line from the window's first to its last value, extended. The backtest's drift row draws that line
  over all the history before each origin; the file sees only its window, so compare scores the file itself on the
  same folds before exporting it.
Built with the onnx helper API (numpy and onnx only, no torch); every export is checked against
`tsrnn.evaluate.metrics.baselines` on real windows through ONNX Runtime, like a network's export.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tsrnn.export.parity as parity
import tsrnn.modelfile.artifact as artifact
from tsrnn import __version__
from tsrnn.core.errors import ExportError
from tsrnn.core.safeio import atomic_write
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.metrics import baselines

OPSET = 17
IR_VERSION = 8
"""The IR version of opset 17, which every ONNX Runtime that reads opset 17 reads."""


@dataclass
class BaselineExport:
    path: Path
    max_abs_error: float
    max_rel_error: float
    batches: tuple[int, ...]
    size_bytes: int


def window_for(kind: str, input_len: int, season: int) -> int:
    """The file's input window: the compare's, or one season where that is longer (seasonal naive needs one)."""
    return max(input_len, season) if kind == "seasonal_naive" and season > 1 else input_len


def build_graph(
    kind: str, input_len: int, horizon: int, n_inputs: int, n_targets: int, n_known: int, season: int
) -> onnx.ModelProto:
    """The baseline as an ONNX graph with a dynamic batch axis."""
    if kind not in artifact.BASELINE_MODELS:
        raise ValueError(f"unknown baseline '{kind}'")
    L, H, T = input_len, horizon, n_targets
    inits: list[TensorProto] = []

    def const(name: str, value: Any, dtype: Any = np.int64) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def last(steps: int, out: str) -> onnx.NodeProto:
        """history[:, L - steps:L, :T]"""
        return helper.make_node(
            "Slice",
            [
                artifact.HISTORY_INPUT,
                const(f"{out}/starts", [L - steps, 0]),
                const(f"{out}/ends", [L, T]),
                const(f"{out}/axes", [1, 2]),
            ],
            [out],
        )

    nodes: list[onnx.NodeProto] = []
    if kind == "seasonal_naive" and season > 1:
        if season > L:
            raise ValueError(f"a seasonal naive file needs a window of at least one season ({season}), got {L}")
        reps = -(-H // season)
        nodes += [
            last(season, "season"),
            helper.make_node("Tile", ["season", const("reps", [1, reps, 1])], ["tiled"]),
            helper.make_node(
                "Slice", ["tiled", const("h/starts", [0]), const("h/ends", [H]), const("h/axes", [1])], ["forecast"]
            ),
        ]
    elif kind in ("naive", "seasonal_naive"):
        nodes += [last(1, "last"), helper.make_node("Tile", ["last", const("reps", [1, H, 1])], ["forecast"])]
    else:  # drift
        nodes += [
            last(1, "last"),
            last(L, "window"),
            helper.make_node(
                "Slice",
                ["window", const("first/starts", [0]), const("first/ends", [1]), const("first/axes", [1])],
                ["first"],
            ),
            helper.make_node("Sub", ["last", "first"], ["rise"]),
            helper.make_node("Div", ["rise", const("run", np.float32(max(L - 1, 1)), np.float32)], ["slope"]),
            helper.make_node(
                "Mul",
                [const("steps", np.arange(1, H + 1, dtype=np.float32).reshape(1, H, 1), np.float32), "slope"],
                ["climb"],
            ),
            helper.make_node("Add", ["last", "climb"], ["forecast"]),
        ]
    inputs = [helper.make_tensor_value_info(artifact.HISTORY_INPUT, TensorProto.FLOAT, ["batch", L, n_inputs])]
    if n_known:
        inputs.append(helper.make_tensor_value_info(artifact.KNOWN_INPUT, TensorProto.FLOAT, ["batch", L + H, n_known]))
    outputs = [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", H, T])]
    graph = helper.make_graph(nodes, f"tsrnn_{kind}", inputs, outputs, initializer=inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tsrnn", producer_version=__version__
    )
    model.ir_version = IR_VERSION
    return model


def reference(kind: str, history: np.ndarray, horizon: int, n_targets: int, season: int) -> np.ndarray:
    """What the file must return: `tsrnn.evaluate.metrics.baselines` with each window as the whole history."""
    return baselines([w[:, :n_targets] for w in history], horizon, season)[kind].astype(np.float32)


def meta_for(
    kind: str,
    data: SeriesSet,
    input_len: int,
    horizon: int,
    season: int,
    backtest: dict[str, Any] | None = None,
    test_metrics: dict[str, Any] | None = None,
) -> artifact.ModelMeta:
    """The file's metadata: the data's columns, grid and known inputs, as a network trained on it would carry."""
    d = data
    last = {sid: str(t[-1]) for sid, t in zip(d.ids[: artifact.MAX_LISTED_SERIES], d.times, strict=False)}
    return artifact.ModelMeta(
        model=kind,
        cell=artifact.NO_CELL,
        input_len=input_len,
        horizon=horizon,
        targets=tuple(d.targets),
        inputs=tuple(d.channels),
        time_col=d.time_col,
        freq=artifact.recorded_freq(d.freq),
        id_col=d.id_col,
        task="forecast",
        num_layers=0,
        hidden_size=0,
        scaling=artifact.NO_SCALING,
        utc=d.utc,
        season=season,
        tsrnn_version=__version__,
        created=artifact.now_iso(),
        n_series=d.n_series,
        last_timestamps=last,
        train_file=d.path.name,
        stopped="baseline",
        test_metrics=test_metrics or {},
        split={"test_len": horizon},
        torch_platform=platform.machine(),
        backtest=backtest,
        calendar=d.known_spec.calendar,
        holidays=d.known_spec.holidays.to_dict() if d.known_spec.holidays else None,
        tz=d.known_spec.tz,
        future=d.known_spec.future,
        known=tuple(d.known_spec.columns),
    )


def sample_windows(
    data: SeriesSet, input_len: int, horizon: int, limit: int = 256
) -> tuple[np.ndarray, np.ndarray | None]:
    """Real history windows (and their known inputs) from every series, the newest first, for the parity check."""
    C = len(data.channels)
    hist, known = [], []
    for i in range(data.n_series):
        v = data.model_values(i)
        for end in range(len(v) - horizon, input_len - 1, -max(1, horizon)):
            hist.append(v[end - input_len : end, :C])
            known.append(v[end - input_len : end + horizon, C:])
            if len(hist) >= limit:
                break
        if len(hist) >= limit:
            break
    if not hist:
        raise ExportError(f"{data.path.name}: too short for a window of {input_len} and a horizon of {horizon}")
    h = np.ascontiguousarray(np.stack(hist), dtype=np.float32)
    k = np.ascontiguousarray(np.stack(known), dtype=np.float32) if data.known is not None else None
    return h, k


def export_baseline(
    kind: str, path: str | os.PathLike[str], meta: artifact.ModelMeta, history: np.ndarray, known: np.ndarray | None
) -> BaselineExport:
    """Write `path` atomically; refuse it when ONNX Runtime disagrees with `tsrnn.evaluate.metrics.baselines`."""
    T, K = len(meta.targets), len(meta.known)
    proto = build_graph(kind, meta.input_len, meta.horizon, len(meta.inputs), T, K, meta.season)
    entry = proto.metadata_props.add()
    entry.key, entry.value = artifact.METADATA_KEY, artifact.dumps(meta)
    proto.doc_string = (
        f"tsrnn {meta.describe()}; raw units in and out; JSON metadata under the key '{artifact.METADATA_KEY}'"
    )
    onnx.checker.check_model(proto)
    result: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        onnx.save(proto, str(tmp))
        result.update(check_parity(kind, tmp, meta, history, known))

    try:
        out = atomic_write(path, write, example="model.onnx")
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}; choose another --out path") from None
    return BaselineExport(out, result["abs"], result["rel"], result["batches"], out.stat().st_size)


def check_parity(
    kind: str, path: Path, meta: artifact.ModelMeta, history: np.ndarray, known: np.ndarray | None
) -> dict[str, Any]:
    """ONNX Runtime against `reference` at batch 1 and at a batch of 64 or more."""

    def run(session: Any, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        names = {i.name for i in session.get_inputs()}
        idx = np.resize(np.arange(len(history)), n)
        feeds = {artifact.HISTORY_INPUT: history[idx]}
        if artifact.KNOWN_INPUT in names:
            feeds[artifact.KNOWN_INPUT] = (
                known[idx]
                if known is not None
                else np.zeros((n, meta.input_len + meta.horizon, len(meta.known)), np.float32)
            )
        got = session.run(["forecast"], feeds)[0]
        want = reference(kind, feeds[artifact.HISTORY_INPUT], meta.horizon, len(meta.targets), meta.season)
        return {"forecast": (got, want)}

    return parity.check_parity(
        path, len(history), run, f"the {kind} baseline", lambda _: f"the {kind} file returned a forecast"
    )
