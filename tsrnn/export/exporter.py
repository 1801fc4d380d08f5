"""Export a trained model to one self-contained .onnx file and prove it matches PyTorch."""

from __future__ import annotations

import copy
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

import tsrnn.export.parity as parity
import tsrnn.modelfile.artifact as artifact
from tsrnn.core.errors import ExportError
from tsrnn.core.safeio import atomic_write
from tsrnn.export.graph import dispatch_on_batch
from tsrnn.model.networks import RecurrentForecaster, split_inputs
from tsrnn.model.train import predict_outputs
from tsrnn.model.unrolled import UnrolledRecurrence

OPSET = 17
WIDE_FROM = {"rnn": 4, "gru": 32, "lstm": 64}
"""Batch size from which a model runs an unrolled graph of Gemm and element-wise nodes (`tsrnn.model.unrolled`)
instead of ONNX Runtime's native RNN/GRU/LSTM kernel, which scales poorly with the batch on CPU. Measured on
2 cores with single-threaded sessions: at batch 256 the unrolled graph was ~4x (rnn), ~1.4x (gru) and ~1.3x
(lstm) faster; at batch 1 the native kernel was ~1.7x (rnn), ~4.5x (gru) and ~4.5x (lstm) faster. The
thresholds are the measured crossovers."""


@dataclass
class ExportResult:
    path: Path
    max_abs_error: float
    max_rel_error: float
    batches: tuple[int, ...]
    size_bytes: int


def export_onnx(
    model: RecurrentForecaster, path: str | os.PathLike[str], metadata: artifact.ModelMeta, windows: np.ndarray
) -> ExportResult:
    """Write `path` atomically; refuse it when ONNX Runtime disagrees with PyTorch on real windows."""
    cpu_model = copy.deepcopy(model).cpu().eval()
    result: dict[str, Any] = {}

    # an ensemble (tsrnn.compare.ensemble) carries its own threshold, the largest of its members'
    wide_from = getattr(cpu_model, "wide_from", None) or WIDE_FROM.get(cpu_model.config.cell)
    if wide_from is not None:
        metadata = metadata.with_changes(wide_graph_from_batch=wide_from)

    def write(tmp: Path) -> None:
        _torch_export(cpu_model, tmp, windows)
        if wide_from is not None:
            _add_wide_branch(cpu_model, tmp, windows, wide_from)
        _embed_metadata(tmp, metadata)
        result.update(check_parity(cpu_model, tmp, windows))

    try:
        out = atomic_write(path, write, example="model.onnx")
    except ExportError:
        raise
    except (OSError, PermissionError) as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}; choose another --out path") from None
    return ExportResult(out, result["abs"], result["rel"], result["batches"], out.stat().st_size)


def _torch_export(model: RecurrentForecaster, path: Path, windows: np.ndarray) -> None:
    # The TorchScript exporter keeps nn.RNN as one native RNN node (the dynamo exporter unrolls it per
    # step) and takes ~0.1 s; an example batch of 2 keeps the batch axis dynamic.
    feeds = model_feeds(model, _batch(windows, 2))
    example = tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in feeds.values())
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(path),
            dynamo=False,
            input_names=list(feeds),
            output_names=model.config.output_names,
            dynamic_axes={name: {0: "batch"} for name in [*feeds, *model.config.output_names]},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def model_feeds(model: RecurrentForecaster, windows: np.ndarray) -> dict[str, np.ndarray]:
    """The exported graph's inputs for raw windows (N, >= L, C [+ K]): history, and known where the model has
    known inputs."""
    history, known = split_inputs(model.config, windows)
    feeds = {artifact.HISTORY_INPUT: np.ascontiguousarray(history, dtype=np.float32)}
    if known is not None:
        feeds[artifact.KNOWN_INPUT] = np.ascontiguousarray(known, dtype=np.float32)
    return feeds


def _add_wide_branch(model: RecurrentForecaster, path: Path, windows: np.ndarray, wide_from: int) -> None:
    """Rewrite `path` as If(batch >= wide_from, unrolled graph, native graph): one file, both graphs."""
    wide = copy.deepcopy(model)
    for member in getattr(wide, "members", [wide]):  # an ensemble unrolls every member
        member.rnn = UnrolledRecurrence(member.rnn)
    wide_path = path.with_name(path.name + ".wide")
    try:
        _torch_export(wide, wide_path, windows)
        native_proto, wide_proto = onnx.load(str(path)), onnx.load(str(wide_path))
    finally:
        wide_path.unlink(missing_ok=True)
    onnx.save(dispatch_on_batch(native_proto, wide_proto, wide_from), str(path))


def _embed_metadata(path: Path, metadata: artifact.ModelMeta) -> None:
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = artifact.METADATA_KEY, artifact.dumps(metadata)
    proto.producer_name = "tsrnn"
    proto.producer_version = metadata.tsrnn_version
    proto.doc_string = (
        f"tsrnn {metadata.cell_name} model ({metadata.task}); raw units in and out; JSON metadata under the key 'tsrnn'"
    )
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _batch(windows: np.ndarray, n: int) -> np.ndarray:
    """n real windows, repeated when there are fewer."""
    reps = -(-n // len(windows))
    return np.concatenate([windows] * reps)[:n].astype(np.float32)


def check_parity(model: RecurrentForecaster, path: Path, windows: np.ndarray) -> dict[str, Any]:
    """Compare ONNX Runtime with PyTorch at batch 1 and at a batch of 64 or more."""

    def run(session: Any, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        x = _batch(windows, n)
        expected = predict_outputs(model, x)
        got = session.run(list(expected), model_feeds(model, x))
        return {name: (out, expected[name]) for name, out in zip(expected, got, strict=True)}

    return parity.check_parity(path, len(windows), run, "PyTorch", lambda name: f"exported model returned {name}")
