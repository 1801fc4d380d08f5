"""The metadata that travels inside each exported .onnx file: one typed, versioned description.

`ModelMeta` is written by the exporter as JSON under the key 'tsrnn' of the model's metadata_props and read
back by the forecaster, the CLI and the TUI; nothing else reads the JSON by its keys. `ModelMeta.from_dict`
checks every field (and the fields against each other) and names the file and the field of the first problem;
`check_graph` checks the fields against the shapes of the graph's inputs and outputs. Version 1 files (no
`schema_version`, written before the schema existed) load unchanged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from .config import CELL_NAMES, CELLS, SCALINGS, TASKS
from .errors import TsrnnError

METADATA_KEY = "tsrnn"
SCHEMA_VERSION = 2
"""1: the untyped dict of the first releases (key 'format'); 2: the same keys, checked, with 'schema_version'.
Keys added since, with a default that older files get (e.g. 'model': 'network'), keep version 2."""
MAX_LISTED_SERIES = 1000
FREQ_CODE = re.compile(r"^[1-9]\d*(s|m|h|d|bd|w|mo|y)$")
HISTORY_INPUT = "history"
KNOWN_INPUT = "known"
"""The graph's second input, for models with known-in-advance inputs: (batch, input_len + horizon, known)."""
MODEL_KINDS = {
    "network": "recurrent network",
    "seasonal_naive": "seasonal naive",
    "naive": "naive (last value)",
    "drift": "drift (straight line)",
    "ensemble": "ensemble of recurrent networks",
}
"""What a file holds (ModelMeta.model), in words: every allowed value is listed here and only here."""
BASELINE_MODELS = ("seasonal_naive", "naive", "drift")
"""The kinds that are a baseline, not a trained model (`tsrnn.baselines_onnx`)."""
NO_CELL = "none"
"""ModelMeta.cell of a file without a recurrent cell (a baseline)."""
NO_SCALING = "none"
"""ModelMeta.scaling of a file that does not scale its input (a baseline)."""


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


class MetadataError(ValueError):
    """A field of the metadata is missing, of the wrong type, or contradicts another field or the graph."""

    def __init__(self, field_name: str, problem: str, newer: bool = False) -> None:
        super().__init__(f"metadata field '{field_name}' {problem}")
        self.field = field_name
        self.newer = newer
        """The file was written by a newer tsrnn (not damaged)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class FreqSpec:
    """The time grid: the same fields as `tsrnn.timefreq.Frequency`."""

    code: str
    label: str
    season: int
    step_us: int = 0
    months: int = 0
    month_end: bool = False
    sessions: dict[str, Any] | None = None
    """`tsrnn.sessions.SessionCalendar.to_dict` for data observed only in open slots; None for every step."""

    @classmethod
    def from_dict(cls, d: Any) -> FreqSpec:
        if not isinstance(d, dict):
            raise MetadataError("freq", "is not an object with code, label and season")
        code = _str(d, "code", "freq.code")
        if not FREQ_CODE.match(code):
            raise MetadataError("freq.code", f"is '{code}', not a frequency such as 30m, 1h, 1d, 1bd, 1w, 1mo or 1y")
        spec = cls(
            code=code,
            label=_str(d, "label", "freq.label"),
            season=_int(d, "season", "freq.season", 1),
            step_us=_int(d, "step_us", "freq.step_us", 0, default=0),
            months=_int(d, "months", "freq.months", 0, default=0),
            month_end=_bool(d, "month_end", "freq.month_end", default=False),
            sessions=_sessions(d.get("sessions")),
        )
        calendar = code.endswith(("mo", "y"))
        if calendar and (spec.months < 1 or spec.step_us):
            raise MetadataError("freq.months", f"must be at least 1 (and step_us 0) for the calendar step '{code}'")
        if code == "1bd" and (spec.months or spec.step_us):
            raise MetadataError("freq.step_us", "must be 0 for business days")
        if not calendar and code != "1bd" and (spec.step_us < 1 or spec.months):
            raise MetadataError("freq.step_us", f"must be a positive number of microseconds for the step '{code}'")
        return spec


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
    freq: FreqSpec
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
    scaling: str = "window"
    utc: bool = False
    season: int = 1
    schema_version: int = SCHEMA_VERSION
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
    """Calendar features computed from the timestamps (`tsrnn.calendar.FEATURES`), e.g. hour, dow."""
    holidays: dict[str, Any] | None = None
    """The holiday calendar (`tsrnn.calendar.HolidayCalendar.to_dict`): country, years and the dates themselves."""
    tz: str | None = None
    """Time zone in which UTC timestamps are read for the calendar features (None: as written)."""
    future: tuple[str, ...] = ()
    """The user's own known-in-advance columns (--future): their horizon values come with the data to forecast."""
    known: tuple[str, ...] = ()
    """Columns of the 'known' input, in order: the calendar's sin/cos pairs, the holiday flags, the future
    columns."""
    ensemble: dict[str, Any] | None = None
    """For an ensemble file (`tsrnn.ensemble`): {"method": "mean" or "median", "members": one description per
    member (name, cell, bidirectional, num_layers, hidden_size, input_len, ...)}; None for one model."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know (from a newer tsrnn), kept as they are."""

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
        d["freq"] = asdict(self.freq)
        for key in ("targets", "inputs", "quantiles", "outputs", "calendar", "future", "known"):
            d[key] = list(d[key])
        d["cell_name"] = self.cell_name
        d["scaling_note"] = self.scaling_note
        d["format"] = 1  # read by tsrnn releases before the schema: they check only the required keys
        if d["backtest"] is None:
            del d["backtest"]
        if d["wide_graph_from_batch"] is None:
            del d["wide_graph_from_batch"]
        if d["ensemble"] is None:
            del d["ensemble"]
        return {**self.extra, **d}

    @classmethod
    def from_dict(cls, d: Any) -> ModelMeta:
        """Check every field; raise MetadataError naming the first bad one."""
        if not isinstance(d, dict):
            raise MetadataError("(top level)", "is not a JSON object")
        version = d.get("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise MetadataError("schema_version", f"is {version!r}, not a version number")
        if version > SCHEMA_VERSION:
            raise MetadataError(
                "schema_version",
                f"is {version}: the file was written by a newer tsrnn "
                f"(this one reads up to {SCHEMA_VERSION}); upgrade tsrnn",
                newer=True,
            )
        for key in ("input_len", "horizon", "targets", "inputs", "time_col", "freq", "cell"):
            if key not in d:
                raise MetadataError(key, "is missing")
        model = _str(d, "model", "model", default="network")
        if model not in MODEL_KINDS:
            raise MetadataError("model", f"is '{model}', not one of {', '.join(MODEL_KINDS)}")
        network = model == "network"
        cell = _str(d, "cell", "cell")
        if cell not in CELLS and (network or cell != NO_CELL):
            raise MetadataError(
                "cell", f"is '{cell}', not one of {', '.join(CELLS)}" + ("" if network else f" or {NO_CELL}")
            )
        task = _str(d, "task", "task", default="forecast")
        if task not in TASKS:
            raise MetadataError("task", f"is '{task}', not one of {', '.join(TASKS)}")
        scaling = _str(d, "scaling", "scaling", default="window")
        if scaling not in SCALINGS and (network or scaling != NO_SCALING):
            raise MetadataError("scaling", f"is '{scaling}', not one of {', '.join(SCALINGS)}")
        targets = _names(d, "targets")
        inputs = _names(d, "inputs")
        if tuple(inputs[: len(targets)]) != targets:
            raise MetadataError(
                "inputs", f"must start with the targets ({', '.join(targets)}), got {', '.join(inputs)}"
            )
        quantiles = _quantiles(d)
        outputs = ("probability",) if task == "direction" else ("forecast", "quantiles") if quantiles else ("forecast",)
        if "outputs" in d and tuple(_names(d, "outputs")) != outputs:
            raise MetadataError(
                "outputs",
                f"are {d['outputs']}, but a {task} model"
                f"{' with quantiles' if quantiles else ''} has {', '.join(outputs)}",
            )
        horizon = _int(d, "horizon", "horizon", 1)
        if task == "direction" and (horizon != 1 or len(targets) != 1):
            raise MetadataError("horizon", "must be 1, with one target, for a direction model")
        known = {f.name for f in fields(cls)} | {"cell_name", "scaling_note", "format"}
        id_col = d.get("id_col")
        if id_col is not None and (not isinstance(id_col, str) or not id_col):
            raise MetadataError("id_col", f"is {id_col!r}, not a column name")
        wide = d.get("wide_graph_from_batch")
        if wide is not None:
            wide = _int(d, "wide_graph_from_batch", "wide_graph_from_batch", 1)
        calendar, holidays, tz, future, known_cols = _known(d)
        return cls(
            cell=cell,
            input_len=_int(d, "input_len", "input_len", 1),
            horizon=horizon,
            targets=targets,
            inputs=inputs,
            time_col=_str(d, "time_col", "time_col"),
            freq=FreqSpec.from_dict(d["freq"]),
            id_col=id_col,
            task=task,
            quantiles=quantiles,
            outputs=outputs,
            bidirectional=_bool(d, "bidirectional", "bidirectional", default=False),
            num_layers=_int(d, "num_layers", "num_layers", 1 if network else 0, default=1),
            hidden_size=_int(d, "hidden_size", "hidden_size", 0, default=0),
            dropout=_float(d, "dropout", default=0.0),
            scaling=scaling,
            highway=_bool(d, "highway", "highway", default=False),
            utc=_bool(d, "utc", "utc", default=False),
            season=_int(d, "season", "season", 1, default=1),
            schema_version=version,
            tsrnn_version=str(d.get("tsrnn_version", "")),
            created=str(d.get("created", "")),
            n_series=_int(d, "n_series", "n_series", 0, default=0),
            last_timestamps=_dict(d, "last_timestamps"),
            train_file=str(d.get("train_file", "")),
            seed=_int(d, "seed", "seed", None, default=0),
            epochs_run=_int(d, "epochs_run", "epochs_run", 0, default=0),
            best_epoch=_int(d, "best_epoch", "best_epoch", 0, default=0),
            stopped=str(d.get("stopped", "")),
            loss=str(d.get("loss", "")),
            test_metrics=_dict(d, "test_metrics"),
            split=_dict(d, "split"),
            torch_platform=str(d.get("torch_platform", "")),
            model=model,
            wide_graph_from_batch=wide,
            backtest=_dict(d, "backtest") if d.get("backtest") is not None else None,
            calendar=calendar,
            holidays=holidays,
            tz=tz,
            future=future,
            known=known_cols,
            ensemble=_ensemble(d, _int(d, "input_len", "input_len", 1), model),
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
    _expect_shape(inputs[HISTORY_INPUT], HISTORY_INPUT, [("input_len", meta.input_len), ("inputs", len(meta.inputs))])
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
            [("input_len + horizon", meta.input_len + meta.horizon), ("known", len(meta.known))],
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


_MISSING = object()


def _get(d: dict[str, Any], key: str, name: str, default: Any) -> Any:
    value = d.get(key, default if default is not _MISSING else _MISSING)
    if value is _MISSING:
        raise MetadataError(name, "is missing")
    return value


def _int(d: dict[str, Any], key: str, name: str, minimum: int | None, default: Any = _MISSING) -> int:
    value = _get(d, key, name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetadataError(name, f"is {value!r}, not a whole number")
    if minimum is not None and value < minimum:
        raise MetadataError(name, f"is {value}; it must be at least {minimum}")
    return value


def _str(d: dict[str, Any], key: str, name: str, default: Any = _MISSING) -> str:
    value = _get(d, key, name, default)
    if not isinstance(value, str) or not value:
        raise MetadataError(name, f"is {value!r}, not a non-empty text")
    return value


def _bool(d: dict[str, Any], key: str, name: str, default: Any = _MISSING) -> bool:
    value = _get(d, key, name, default)
    if not isinstance(value, bool):
        raise MetadataError(name, f"is {value!r}, not true or false")
    return value


def _float(d: dict[str, Any], key: str, default: float) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetadataError(key, f"is {value!r}, not a number")
    return float(value)


def _names(d: dict[str, Any], key: str) -> tuple[str, ...]:
    value = d[key]
    if not isinstance(value, list) or not value or not all(isinstance(x, str) and x for x in value):
        raise MetadataError(key, f"is {value!r}, not a non-empty list of column names")
    if len(set(value)) != len(value):
        raise MetadataError(key, f"names a column twice ({', '.join(value)})")
    return tuple(value)


def _quantiles(d: dict[str, Any]) -> tuple[float, ...]:
    q = d.get("quantiles") or []
    if not isinstance(q, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in q):
        raise MetadataError("quantiles", f"is {q!r}, not a list of numbers")
    if any(not 0 < x < 1 for x in q) or list(q) != sorted(set(q)):
        raise MetadataError("quantiles", f"must be distinct, increasing and between 0 and 1, got {q}")
    return tuple(float(x) for x in q)


def _sessions(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    from .sessions import SessionCalendar

    if not isinstance(value, dict):
        raise MetadataError("freq.sessions", "is not an object with step_us and days")
    try:
        SessionCalendar.from_dict(value)
    except ValueError as exc:
        raise MetadataError("freq.sessions", f"is malformed ({exc})") from None
    return value


def _known(
    d: dict[str, Any],
) -> tuple[tuple[str, ...], dict[str, Any] | None, str | None, tuple[str, ...], tuple[str, ...]]:
    """calendar, holidays, tz, future columns and the known columns, checked against each other."""
    from .calendar import FEATURES, HolidayCalendar, calendar_columns

    calendar = tuple(_names(d, "calendar")) if d.get("calendar") else ()
    bad = [n for n in calendar if n not in FEATURES]
    if bad:
        raise MetadataError("calendar", f"names {', '.join(bad)}, not among {', '.join(FEATURES)}")
    holidays = d.get("holidays")
    if holidays is not None:
        if not isinstance(holidays, dict):
            raise MetadataError("holidays", "is not an object with country, years and dates")
        try:
            HolidayCalendar.from_dict(holidays)
        except TsrnnError as exc:
            raise MetadataError("holidays", exc.message.removeprefix("the model's holiday calendar ")) from None
    tz = d.get("tz")
    if tz is not None and (not isinstance(tz, str) or not tz):
        raise MetadataError("tz", f"is {tz!r}, not a time zone name")
    future = tuple(_names(d, "future")) if d.get("future") else ()
    known = tuple(_names(d, "known")) if d.get("known") else ()
    expected = tuple(calendar_columns(calendar, holidays is not None)) + future
    if known != expected:
        raise MetadataError(
            "known",
            f"are {', '.join(known) or 'none'}, but the calendar "
            f"({', '.join(calendar) or 'none'}{' and holidays' if holidays else ''}) and the future "
            f"columns give {', '.join(expected) or 'none'}",
        )
    return calendar, holidays, tz, future, known


def describe_ensemble(e: dict[str, Any]) -> str:
    """'mean of 3 networks: GRU 1x64 (window 24), bidirectional LSTM 2x32 (window 36), ...'."""
    parts = [
        f"{'bidirectional ' if m.get('bidirectional') else ''}{CELL_NAMES[m['cell']]} "
        f"{m.get('num_layers', '?')}x{m.get('hidden_size', '?')} (window {m['input_len']})"
        for m in e["members"]
    ]
    return f"{e['method']} of {len(parts)} networks: {', '.join(parts)}"


def _ensemble(d: dict[str, Any], input_len: int, model: str) -> dict[str, Any] | None:
    """The ensemble description (model 'ensemble' only): a method and at least two members, each a known cell
    reading at most the file's window (the longest exactly it)."""
    value = d.get("ensemble")
    if (value is None) != (model != "ensemble"):
        raise MetadataError(
            "ensemble",
            "describes the members of an ensemble, but the model is " + repr(model)
            if value is not None
            else "is missing: a model 'ensemble' lists its members there",
        )
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MetadataError("ensemble", "is not an object with method and members")
    if value.get("method") not in ("mean", "median"):
        raise MetadataError("ensemble.method", f"is {value.get('method')!r}, not mean or median")
    members = value.get("members")
    if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, dict) for m in members):
        raise MetadataError("ensemble.members", "is not a list of at least two member descriptions")
    for i, m in enumerate(members):
        if m.get("cell") not in CELLS:
            raise MetadataError(f"ensemble.members[{i}].cell", f"is {m.get('cell')!r}, not one of {', '.join(CELLS)}")
        _int(m, "input_len", f"ensemble.members[{i}].input_len", 1)
    longest = max(m["input_len"] for m in members)
    if longest != input_len:
        raise MetadataError("ensemble.members", f"read at most {longest} steps, but the file's window is {input_len}")
    return value


def _dict(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key) or {}
    if not isinstance(value, dict):
        raise MetadataError(key, f"is {type(value).__name__}, not an object")
    return value
