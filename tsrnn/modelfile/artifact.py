"""The metadata that travels inside each exported .onnx file: one typed, versioned description.

`ModelMeta` is written by the exporter as JSON under the key 'tsrnn' of the model's metadata_props and read
back by the forecaster, the CLI and the TUI; nothing else reads the JSON by its keys. `ModelMeta.from_dict`
checks every field (and the fields against each other, with the checks of `tsrnn.modelfile.metaschema`) and names the
file and the field of the first problem; `check_graph` checks the fields against the shapes of the graph's inputs and
outputs. Version 1 files (no `schema_version`, written before the schema existed) load unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from tsrnn.core.config import CELL_NAMES
from tsrnn.modelfile.metaschema import BASELINE_MODELS as BASELINE_MODELS
from tsrnn.modelfile.metaschema import MODEL_KINDS as MODEL_KINDS
from tsrnn.modelfile.metaschema import NO_CELL as NO_CELL
from tsrnn.modelfile.metaschema import NO_SCALING as NO_SCALING
from tsrnn.modelfile.metaschema import (
    PLAIN_VERSION,
    SCHEMA_VERSION,
    read_bool,
    read_columns,
    read_dict,
    read_ensemble,
    read_float,
    read_freq,
    read_id_col,
    read_int,
    read_kind,
    read_known,
    read_schema,
    read_seasons,
    read_str,
)
from tsrnn.modelfile.metaschema import MetadataError as MetadataError
from tsrnn.timeline.holidaycal import HolidayCalendar
from tsrnn.timeline.known import KnownSpec
from tsrnn.timeline.timefreq import Frequency

METADATA_KEY = "tsrnn"
MAX_LISTED_SERIES = 1000
HISTORY_INPUT = "history"
KNOWN_INPUT = "known"
"""The graph's second input, for models with known-in-advance inputs: (batch, history_len + horizon, known)."""


def describe_model(kind: str, season: int = 1, input_len: int = 0) -> str:
    """A baseline (or another kind that is not one network) in words: 'seasonal naive (season 48), no network'."""
    if kind == "seasonal_naive":
        return (
            f"seasonal naive (season {season}), no network"
            if season > 1
            else "seasonal naive (season 1: the last value), no network"
        )
    if kind == "drift":
        return f"drift (straight line over the {input_len}-step window), no network"
    if kind == "naive":
        return "naive (the last value), no network"
    return MODEL_KINDS.get(kind, kind)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def recorded_freq(freq: Frequency) -> Frequency:
    """What a model file records of a time grid: all of it but the data's own daylight-saving shift and zone
    (`Frequency.shift_us`, `Frequency.zone`)."""
    return replace(freq, shift_us=0, zone=None)


def freq_record(freq: Frequency) -> dict[str, Any]:
    """The model file's `freq` object, as every release wrote it: code, label, season, step_us, months, month_end
    and the session calendar (`SessionCalendar.to_dict`; None for every step)."""
    return {
        "code": freq.code,
        "label": freq.label,
        "season": freq.season,
        "step_us": freq.step_us,
        "months": freq.months,
        "month_end": freq.month_end,
        "sessions": freq.sessions.to_dict() if freq.sessions is not None else None,
    }


@dataclass(frozen=True)
class ModelMeta:
    """What a model file says about itself: the network, the data it expects, and how it was trained."""

    cell: str
    input_len: int
    horizon: int
    targets: tuple[str, ...]
    inputs: tuple[str, ...]
    """Input channels in order: the targets, then the feature columns."""
    time_col: str
    freq: Frequency
    """The time grid (`recorded_freq`: without the data's daylight-saving shift and zone)."""
    id_col: str | None = None
    task: str = "forecast"
    quantiles: tuple[float, ...] = ()
    outputs: tuple[str, ...] = ("forecast",)
    bidirectional: bool = False
    num_layers: int = 1
    hidden_size: int = 0
    dropout: float = 0.0
    highway: bool = False
    """A linear map from each target's scaled window to its horizon beside the recurrent stack."""
    seasonal_skip: int = 0
    """Season added to the network's output as a fixed seasonal-naive forecast (0: none; older files)."""
    seasons: tuple[int, ...] = ()
    """Seasons in steps whose seasonal-naive paths, mixed by learned weights, the network's output corrects."""
    season_lags: tuple[int, ...] = ()
    """Lags (steps) of the seasonal profile mixed from the history (`tsrnn.core.config.season_lags`); () for files
    without one, or with the older seasonal-naive paths."""
    history_len: int = 0
    """Steps of the graph's 'history' input: input_len and the longest season lag before it; for files without
    season lags input_len, or the longest season when longer (0: computed so)."""
    scaling: str = "window"
    utc: bool = False
    season: int = 1
    schema_version: int = field(default=SCHEMA_VERSION, compare=False)
    """The version read from a file (a file records the lowest version that describes it: 2 unless the history is
    longer than the window); not part of what a model is, so two metas that describe one model compare equal."""
    tsrnn_version: str = ""
    created: str = ""
    n_series: int = 0
    last_timestamps: dict[str, str] = field(default_factory=dict)
    train_file: str = ""
    seed: int = 0
    epochs_run: int = 0
    best_epoch: int = 0
    stopped: str = ""
    loss: str = ""
    test_metrics: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    torch_platform: str = ""
    model: str = "network"
    """What the file is: one of MODEL_KINDS ("network": a trained recurrent network; a baseline's name)."""
    wide_graph_from_batch: int | None = None
    """Batch size from which the file runs its unrolled graph (models that carry two graphs)."""
    backtest: dict[str, Any] | None = None
    """The rolling-origin backtest that chose this model (compare)."""
    calendar: tuple[str, ...] = ()
    """Calendar features computed from the timestamps (`tsrnn.timeline.calendar.FEATURES`), e.g. hour, dow."""
    holidays: dict[str, Any] | None = None
    """The holiday calendar (`tsrnn.timeline.calendar.HolidayCalendar.to_dict`): country, years and the dates
    themselves."""
    tz: str | None = None
    """Time zone in which UTC timestamps are read for the calendar features (None: as written)."""
    future: tuple[str, ...] = ()
    """The user's own known-in-advance columns (--future): their horizon values come with the data to forecast."""
    known: tuple[str, ...] = ()
    """Columns of the 'known' input, in order: the calendar's sin/cos pairs, the holiday flags, the future
    columns."""
    ensemble: dict[str, Any] | None = None
    """For an ensemble file (`tsrnn.compare.ensemble`): {"method": "mean" or "median", "members": one description per
    member (name, cell, bidirectional, num_layers, hidden_size, input_len, ...)}; None for one model."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know (from a newer tsrnn), kept as they are."""

    def __post_init__(self) -> None:
        if not self.history_len:
            longest = self.input_len + self.season_lags[-1] if self.season_lags else self.input_len
            object.__setattr__(self, "history_len", max([longest, *self.seasons]))

    @property
    def cell_name(self) -> str:
        return CELL_NAMES.get(self.cell) or MODEL_KINDS.get(self.model, self.model)

    @property
    def is_network(self) -> bool:
        return self.model == "network"

    def describe(self) -> str:
        """'LSTM, bidirectional, 2 layers x 64 units' or 'seasonal naive (season 48), no network'."""
        if self.is_network:
            bi = ", bidirectional" if self.bidirectional else ""
            hw = " + linear highway" if self.highway else ""
            hw += f" + seasonal skip (season {self.seasonal_skip})" if self.seasonal_skip else ""
            if self.seasons and not self.seasonal_skip:
                form = "profile" if self.season_lags else "paths"
                hw += f" + seasonal {form} (seasons {', '.join(map(str, self.seasons))})"
            return f"{self.cell_name}{bi}, {self.num_layers} layer(s) x {self.hidden_size} units{hw}"
        if self.ensemble is not None:
            return describe_ensemble(self.ensemble)
        return describe_model(self.model, self.season, self.input_len)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c for c in self.inputs if c not in self.targets)

    @property
    def scaling_note(self) -> str:
        if self.scaling == NO_SCALING:
            return "none: raw values in and out, nothing learned"
        return (
            "window: each input window is normalised by its own mean and std"
            if self.scaling == "window"
            else "global: training-part mean and std per column"
        )

    def output_columns(self) -> list[str]:
        """The forecast table's value columns."""
        if self.task == "direction":
            return [f"{self.targets[0]}_up_probability"]
        if self.quantiles:
            return [quantile_column(t, q) for t in self.targets for q in self.quantiles]
        return list(self.targets)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "freq")}
        d["freq"] = freq_record(self.freq)
        lists = ("targets", "inputs", "quantiles", "outputs", "calendar", "future", "known", "seasons", "season_lags")
        for key in lists:
            d[key] = list(d[key])
        d["schema_version"] = SCHEMA_VERSION if self.history_len > self.input_len else PLAIN_VERSION
        d["cell_name"] = self.cell_name
        d["scaling_note"] = self.scaling_note
        d["format"] = 1  # read by tsrnn releases before the schema: they check only the required keys
        if d["backtest"] is None:
            del d["backtest"]
        if d["wide_graph_from_batch"] is None:
            del d["wide_graph_from_batch"]
        if d["ensemble"] is None:
            del d["ensemble"]
        if not self.season_lags:
            del d["season_lags"]
        if not self.seasons and self.history_len == self.input_len:  # written as earlier releases wrote it
            del d["seasons"], d["history_len"]
        return {**self.extra, **d}

    @classmethod
    def from_dict(cls, d: Any) -> ModelMeta:
        """Check every field; raise MetadataError naming the first bad one."""
        if not isinstance(d, dict):
            raise MetadataError("(top level)", "is not a JSON object")
        version = read_schema(d)
        model, cell, task, scaling = read_kind(d)
        network = model == "network"
        targets, inputs, quantiles, outputs, horizon = read_columns(d, task)
        known = {f.name for f in fields(cls)} | {"cell_name", "scaling_note", "format"}
        id_col = read_id_col(d)
        wide = d.get("wide_graph_from_batch")
        if wide is not None:
            wide = read_int(d, "wide_graph_from_batch", "wide_graph_from_batch", 1)
        calendar, holidays, tz, future, known_cols = read_known(d)
        seasons, lags, history_len = read_seasons(d, read_int(d, "input_len", "input_len", 1))
        return cls(
            cell=cell,
            input_len=read_int(d, "input_len", "input_len", 1),
            horizon=horizon,
            targets=targets,
            inputs=inputs,
            time_col=read_str(d, "time_col", "time_col"),
            freq=read_freq(d["freq"]),
            id_col=id_col,
            task=task,
            quantiles=quantiles,
            outputs=outputs,
            bidirectional=read_bool(d, "bidirectional", "bidirectional", default=False),
            num_layers=read_int(d, "num_layers", "num_layers", 1 if network else 0, default=1),
            hidden_size=read_int(d, "hidden_size", "hidden_size", 0, default=0),
            dropout=read_float(d, "dropout", default=0.0),
            scaling=scaling,
            highway=read_bool(d, "highway", "highway", default=False),
            seasonal_skip=read_int(d, "seasonal_skip", "seasonal_skip", 0, default=0),
            seasons=seasons,
            season_lags=lags,
            history_len=history_len,
            utc=read_bool(d, "utc", "utc", default=False),
            season=read_int(d, "season", "season", 1, default=1),
            schema_version=version,
            tsrnn_version=str(d.get("tsrnn_version", "")),
            created=str(d.get("created", "")),
            n_series=read_int(d, "n_series", "n_series", 0, default=0),
            last_timestamps=read_dict(d, "last_timestamps"),
            train_file=str(d.get("train_file", "")),
            seed=read_int(d, "seed", "seed", None, default=0),
            epochs_run=read_int(d, "epochs_run", "epochs_run", 0, default=0),
            best_epoch=read_int(d, "best_epoch", "best_epoch", 0, default=0),
            stopped=str(d.get("stopped", "")),
            loss=str(d.get("loss", "")),
            test_metrics=read_dict(d, "test_metrics"),
            split=read_dict(d, "split"),
            torch_platform=str(d.get("torch_platform", "")),
            model=model,
            wide_graph_from_batch=wide,
            backtest=read_dict(d, "backtest") if d.get("backtest") is not None else None,
            calendar=calendar,
            holidays=holidays,
            tz=tz,
            future=future,
            known=known_cols,
            ensemble=read_ensemble(d, read_int(d, "input_len", "input_len", 1), model),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def with_changes(self, **changes: Any) -> ModelMeta:
        return replace(self, **changes)


def quantile_column(target: str, level: float) -> str:
    """passengers_q10 for the 0.1 quantile of passengers."""
    return f"{target}_q{level * 100:g}"


Dim = int | str | None
"""One dimension of an ONNX Runtime input or output shape: a number, a symbolic name, or unknown."""


def check_graph(meta: ModelMeta, inputs: dict[str, list[Dim]], outputs: dict[str, list[Dim]]) -> None:
    """Check the metadata against the graph's input and output shapes; raise MetadataError on a contradiction."""
    if HISTORY_INPUT not in inputs:
        raise MetadataError(
            "inputs", f"describe a '{HISTORY_INPUT}' input, but the graph's inputs are {', '.join(inputs) or 'none'}"
        )
    rows = "history_len" if meta.history_len > meta.input_len else "input_len"  # the field that sets the rows
    _expect_shape(inputs[HISTORY_INPUT], HISTORY_INPUT, [(rows, meta.history_len), ("inputs", len(meta.inputs))])
    if meta.known and KNOWN_INPUT not in inputs:
        raise MetadataError(
            "known", f"lists {len(meta.known)} known inputs, but the graph has no '{KNOWN_INPUT}' input"
        )
    if not meta.known and KNOWN_INPUT in inputs:
        raise MetadataError("known", f"is empty, but the graph has a '{KNOWN_INPUT}' input")
    if meta.known:
        _expect_shape(
            inputs[KNOWN_INPUT],
            KNOWN_INPUT,
            [(f"{rows} + horizon", meta.history_len + meta.horizon), ("known", len(meta.known))],
        )
    if sorted(outputs) != sorted(meta.outputs):
        raise MetadataError(
            "outputs", f"are {', '.join(meta.outputs)}, but the graph's outputs are {', '.join(outputs) or 'none'}"
        )
    if meta.task == "direction":
        _expect_shape(outputs["probability"], "probability", [("horizon", 1)])
        return
    _expect_shape(outputs["forecast"], "forecast", [("horizon", meta.horizon), ("targets", len(meta.targets))])
    if meta.quantiles:
        _expect_shape(
            outputs["quantiles"],
            "quantiles",
            [("horizon", meta.horizon), ("targets", len(meta.targets)), ("quantiles", len(meta.quantiles))],
        )


def _expect_shape(shape: list[Dim], name: str, dims: list[tuple[str, int]]) -> None:
    """shape is (batch, *dims); a symbolic or unknown dimension is not checked."""
    if len(shape) != len(dims) + 1:
        raise MetadataError(
            dims[0][0],
            f"cannot fit the graph's '{name}' of {len(shape)} dimensions ({_show(shape)}); expected {len(dims) + 1}",
        )
    for (field_name, want), got in zip(dims, shape[1:], strict=True):
        if isinstance(got, int) and got != want:
            raise MetadataError(
                field_name, f"says {want}, but the graph's '{name}' has {got} there (shape {_show(shape)})"
            )


def _show(shape: list[Dim]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def dumps(meta: ModelMeta) -> str:
    return json.dumps(meta.to_dict(), default=_plain)


def loads(text: str) -> ModelMeta:
    """Parse and check; a MetadataError or json.JSONDecodeError says what is wrong."""
    return ModelMeta.from_dict(json.loads(text))


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def describe_ensemble(e: dict[str, Any]) -> str:
    """'mean of 3 networks: GRU 1x64 (window 24), bidirectional LSTM 2x32 (window 36), ...'."""
    parts = [
        f"{'bidirectional ' if m.get('bidirectional') else ''}{CELL_NAMES[m['cell']]} "
        f"{m.get('num_layers', '?')}x{m.get('hidden_size', '?')} (window {m['input_len']})"
        for m in e["members"]
    ]
    return f"{e['method']} of {len(parts)} networks: {', '.join(parts)}"


def known_spec(meta: ModelMeta) -> KnownSpec:
    """The known inputs a model was trained with: its calendar features, holidays, time zone and future columns."""
    holidays = HolidayCalendar.from_dict(meta.holidays) if meta.holidays is not None else None
    return KnownSpec(tuple(meta.calendar), holidays, meta.tz, tuple(meta.future), utc=meta.utc or not meta.tz)
