"""Open an exported model with ONNX Runtime: the providers for a device, the session options, and the checks of the
file and of its tsrnn metadata. numpy and onnxruntime only (never torch, never onnx)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

import tsrnn.modelfile.artifact as artifact
from tsrnn.core.errors import ConfigError, ModelFileError
from tsrnn.modelfile.artifact import ModelMeta
from tsrnn.modelfile.modelcheck import check_model_bytes

NEVER = 2**62
"""A dispatch threshold no batch reaches."""


def override_dispatch(opts: ort.SessionOptions, path: Path | bytes, threshold: int) -> list[Any]:
    """Make a model that carries a native and an unrolled graph (`tsrnn.export.graph.dispatch_on_batch`) switch at
    `threshold` windows instead of its own; nothing for other models. `path` is the model file or its bytes.
    Returns what must outlive the session."""
    try:
        data = path if isinstance(path, bytes) else path.read_bytes()
    except OSError:
        return []
    if b"dispatch/threshold" not in data:  # a byte search: no onnx import on this path
        return []
    value = ort.OrtValue.ortvalue_from_numpy(np.array([threshold], dtype=np.int64))
    opts.add_initializer("dispatch/threshold", value)
    return [value]


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


NO_CUDA = (
    "CUDA was asked for, but this onnxruntime offers no CUDA provider (install the gpu extra: "
    "pip install 'tsrnn[gpu]', with an NVIDIA driver); forecasting on the CPU instead"
)
CUDA_FAILED = (
    "CUDA was asked for, but ONNX Runtime could not start its CUDA provider here (no GPU, or a driver or "
    "CUDA library missing); forecasting on the CPU instead"
)


def choose_providers(device: str) -> list[str]:
    """ONNX Runtime providers for cpu, cuda or auto: CUDA first where onnxruntime offers it, the CPU always last
    (cuda falls back to the CPU; `Forecaster.fallback` says so)."""
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("cuda", "auto"):
        return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    raise ConfigError(f"unknown device '{device}': choose cpu, cuda or auto")


class OpenModel(NamedTuple):
    """A model file opened for forecasting: what `Forecaster.load` builds its forecaster from."""

    session: ort.InferenceSession
    meta: ModelMeta
    fallback: str | None
    """Why the model runs on the CPU although CUDA was asked for; None when it runs where asked."""
    keep: list[Any]
    """Session option values (initializer overrides) that must outlive the session."""


def open_model(p: Path, device: str = "cpu", threads: int | None = None) -> OpenModel:
    """One ONNX Runtime session for the model at `p` and its checked metadata. On CPU the session is
    single-threaded (the forecaster runs slices of a large batch at once on worker threads); on a GPU `threads` is
    ONNX Runtime's intra-op thread count for the CPU parts."""
    check_model_path(p)
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{p}: cannot read the model file ({exc.strerror or exc})") from None
    # Checked before ONNX Runtime sees it, and the checked bytes are what it opens: no other file is read.
    check_model_bytes(data, p.name)
    providers = choose_providers(device)
    on_cpu = providers[0] == "CPUExecutionProvider"
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    keep: list[Any] = []
    if on_cpu:
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
    else:
        if threads:
            opts.intra_op_num_threads = threads
        # On a GPU the native cuDNN graph beats the unrolled one at every batch size (H200, batch 1024:
        # 1.3-6x): lift the batch-size dispatch of models that carry both out of reach.
        keep += override_dispatch(opts, data, NEVER)
    try:
        session = ort.InferenceSession(data, sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(f"{p.name}: not a readable ONNX model ({first[:160]})") from None
    meta = read_meta(session, p)
    fallback = None
    if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
        fallback = NO_CUDA if "CUDAExecutionProvider" not in ort.get_available_providers() else CUDA_FAILED
    return OpenModel(session, meta, fallback, keep)


def check_model_path(p: Path) -> None:
    """A model path must be an existing file."""
    if p.is_dir():
        raise ModelFileError(f"{p}: is a folder, not a model file; give the .onnx file inside it")
    if not p.exists():
        raise ModelFileError(f"{p}: model file not found")
    if not p.is_file():
        raise ModelFileError(f"{p}: is not a regular file; give an .onnx model file")


def read_meta(session: ort.InferenceSession, p: Path) -> ModelMeta:
    """The checked metadata of a loaded model: against itself and against the graph's shapes."""
    custom = session.get_modelmeta().custom_metadata_map
    if artifact.METADATA_KEY not in custom:
        raise ModelFileError(f"{p.name}: an ONNX model, but not one exported by tsrnn (no tsrnn metadata)")
    damaged = "the file was edited or damaged: export the model again"
    try:
        meta = artifact.loads(custom[artifact.METADATA_KEY])
        artifact.check_graph(
            meta,
            {i.name: list(i.shape) for i in session.get_inputs()},
            {o.name: list(o.shape) for o in session.get_outputs()},
        )
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"{p.name}: the tsrnn metadata is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); {damaged}"
        ) from None
    except artifact.MetadataError as exc:
        raise ModelFileError(f"{p.name}: {exc}" + ("" if exc.newer else f"; {damaged}")) from None
    except RecursionError:  # JSON arrays or objects nested thousands deep
        raise ModelFileError(
            f"{p.name}: damaged model metadata: the tsrnn metadata nests too deeply to read; {damaged}"
        ) from None
    return meta
