"""What a valid model metadata dict is: the words its fields may hold, and one check per field or group.

Each `read_*` function takes the JSON object as parsed, returns one field (or a group of fields that must agree
with each other) as its typed value, and raises `MetadataError` naming the first field that is missing, of the
wrong type, or contradicts another. `tsrnn.modelfile.artifact.ModelMeta.from_dict` calls them in a fixed order, so the
field a message names does not depend on the dict's key order.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tsrnn.core.config import CELLS, SCALINGS, TASKS
from tsrnn.core.errors import TsrnnError
from tsrnn.timeline.calendar import FEATURES, HolidayCalendar, calendar_columns
from tsrnn.timeline.sessions import SessionCalendar
from tsrnn.timeline.timefreq import Frequency

SCHEMA_VERSION = 3
"""1: the untyped dict of the first releases (key 'format'); 2: the same keys, checked, with 'schema_version'.
Keys added since, with a default that older files get (e.g. 'model': 'network'), keep version 2. 3: the
graph's history may be longer than the input window ('history_len', for seasons longer than the window)."""
PLAIN_VERSION = 2
"""Files whose history is their input window are written as version 2, which earlier releases read; a file
with a longer history is version 3, which they refuse ("written by a newer tsrnn") rather than misread."""
REQUIRED = ("input_len", "horizon", "targets", "inputs", "time_col", "freq", "cell")
"""Keys every version of the metadata holds."""
MODEL_KINDS = {
    "network": "recurrent network",
    "seasonal_naive": "seasonal naive",
    "naive": "naive (last value)",
    "drift": "drift (straight line)",
    "ensemble": "ensemble of recurrent networks",
}
"""What a file holds (ModelMeta.model), in words: every allowed value is listed here and only here."""
BASELINE_MODELS = ("seasonal_naive", "naive", "drift")
"""The kinds that are a baseline, not a trained model (`tsrnn.export.baselines`)."""
NO_CELL = "none"
"""ModelMeta.cell of a file without a recurrent cell (a baseline)."""
NO_SCALING = "none"
"""ModelMeta.scaling of a file that does not scale its input (a baseline)."""


class MetadataError(ValueError):
    """A field of the metadata is missing, of the wrong type, or contradicts another field or the graph."""

    def __init__(self, field_name: str, problem: str, newer: bool = False) -> None:
        super().__init__(f"metadata field '{field_name}' {problem}")
        self.field = field_name
        self.newer = newer
        """The file was written by a newer tsrnn (not damaged)."""


def read_schema(d: dict[str, Any]) -> int:
    """The schema version, once the file is known to come from a tsrnn this one can read and to hold every
    required key."""
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
    for key in REQUIRED:
        if key not in d:
            raise MetadataError(key, "is missing")
    return version


def read_kind(d: dict[str, Any]) -> tuple[str, str, str, str]:
    """model, cell, task and scaling; a baseline may name no cell and no scaling."""
    model = read_str(d, "model", "model", default="network")
    if model not in MODEL_KINDS:
        raise MetadataError("model", f"is '{model}', not one of {', '.join(MODEL_KINDS)}")
    network = model == "network"
    cell = read_str(d, "cell", "cell")
    if cell not in CELLS and (network or cell != NO_CELL):
        raise MetadataError(
            "cell", f"is '{cell}', not one of {', '.join(CELLS)}" + ("" if network else f" or {NO_CELL}")
        )
    task = read_str(d, "task", "task", default="forecast")
    if task not in TASKS:
        raise MetadataError("task", f"is '{task}', not one of {', '.join(TASKS)}")
    scaling = read_str(d, "scaling", "scaling", default="window")
    if scaling not in SCALINGS and (network or scaling != NO_SCALING):
        raise MetadataError("scaling", f"is '{scaling}', not one of {', '.join(SCALINGS)}")
    return model, cell, task, scaling


def read_columns(
    d: dict[str, Any], task: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[float, ...], tuple[str, ...], int]:
    """targets, inputs, quantiles, outputs and horizon, checked against each other and the task."""
    targets = read_names(d, "targets")
    inputs = read_names(d, "inputs")
    if tuple(inputs[: len(targets)]) != targets:
        raise MetadataError("inputs", f"must start with the targets ({', '.join(targets)}), got {', '.join(inputs)}")
    quantiles = read_quantiles(d)
    outputs = ("probability",) if task == "direction" else ("forecast", "quantiles") if quantiles else ("forecast",)
    if "outputs" in d and tuple(read_names(d, "outputs")) != outputs:
        raise MetadataError(
            "outputs",
            f"are {d['outputs']}, but a {task} model{' with quantiles' if quantiles else ''} has {', '.join(outputs)}",
        )
    horizon = read_int(d, "horizon", "horizon", 1)
    if task == "direction" and (horizon != 1 or len(targets) != 1):
        raise MetadataError("horizon", "must be 1, with one target, for a direction model")
    return targets, inputs, quantiles, outputs, horizon


def read_id_col(d: dict[str, Any]) -> str | None:
    id_col = d.get("id_col")
    if id_col is not None and (not isinstance(id_col, str) or not id_col):
        raise MetadataError("id_col", f"is {id_col!r}, not a column name")
    return id_col


_MISSING = object()


def _get(d: dict[str, Any], key: str, name: str, default: Any) -> Any:
    value = d.get(key, default if default is not _MISSING else _MISSING)
    if value is _MISSING:
        raise MetadataError(name, "is missing")
    return value


def read_int(d: dict[str, Any], key: str, name: str, minimum: int | None, default: Any = _MISSING) -> int:
    value = _get(d, key, name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetadataError(name, f"is {value!r}, not a whole number")
    if minimum is not None and value < minimum:
        raise MetadataError(name, f"is {value}; it must be at least {minimum}")
    return value


def read_str(d: dict[str, Any], key: str, name: str, default: Any = _MISSING) -> str:
    value = _get(d, key, name, default)
    if not isinstance(value, str) or not value:
        raise MetadataError(name, f"is {value!r}, not a non-empty text")
    return value


def read_bool(d: dict[str, Any], key: str, name: str, default: Any = _MISSING) -> bool:
    value = _get(d, key, name, default)
    if not isinstance(value, bool):
        raise MetadataError(name, f"is {value!r}, not true or false")
    return value


def read_float(d: dict[str, Any], key: str, default: float) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetadataError(key, f"is {value!r}, not a number")
    return float(value)


def read_names(d: dict[str, Any], key: str) -> tuple[str, ...]:
    value = d[key]
    if not isinstance(value, list) or not value or not all(isinstance(x, str) and x for x in value):
        raise MetadataError(key, f"is {value!r}, not a non-empty list of column names")
    if len(set(value)) != len(value):
        raise MetadataError(key, f"names a column twice ({', '.join(value)})")
    return tuple(value)


def read_dict(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key) or {}
    if not isinstance(value, dict):
        raise MetadataError(key, f"is {type(value).__name__}, not an object")
    return value


def read_quantiles(d: dict[str, Any]) -> tuple[float, ...]:
    q = d.get("quantiles") or []
    if not isinstance(q, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in q):
        raise MetadataError("quantiles", f"is {q!r}, not a list of numbers")
    if any(not 0 < x < 1 for x in q) or list(q) != sorted(set(q)):
        raise MetadataError("quantiles", f"must be distinct, increasing and between 0 and 1, got {q}")
    return tuple(float(x) for x in q)


FREQ_CODE = re.compile(r"^[1-9]\d*(s|m|h|d|bd|w|mo|y)$")


def read_freq(d: Any) -> Frequency:
    """The time grid of a model file's `freq` object (`tsrnn.modelfile.artifact.freq_record`)."""
    if not isinstance(d, dict):
        raise MetadataError("freq", "is not an object with code, label and season")
    code = read_str(d, "code", "freq.code")
    if not FREQ_CODE.match(code):
        raise MetadataError("freq.code", f"is '{code}', not a frequency such as 30m, 1h, 1d, 1bd, 1w, 1mo or 1y")
    freq = Frequency(
        code=code,
        label=read_str(d, "label", "freq.label"),
        season=read_int(d, "season", "freq.season", 1),
        step_us=read_int(d, "step_us", "freq.step_us", 0, default=0),
        months=read_int(d, "months", "freq.months", 0, default=0),
        month_end=read_bool(d, "month_end", "freq.month_end", default=False),
        sessions=_read_sessions(d.get("sessions")),
    )
    calendar = code.endswith(("mo", "y"))
    if calendar and (freq.months < 1 or freq.step_us):
        raise MetadataError("freq.months", f"must be at least 1 (and step_us 0) for the calendar step '{code}'")
    if code == "1bd" and (freq.months or freq.step_us):
        raise MetadataError("freq.step_us", "must be 0 for business days")
    if not calendar and code != "1bd" and (freq.step_us < 1 or freq.months):
        raise MetadataError("freq.step_us", f"must be a positive number of microseconds for the step '{code}'")
    return freq


def _read_sessions(value: Any) -> SessionCalendar | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MetadataError("freq.sessions", "is not an object with step_us and days")
    try:
        return SessionCalendar.from_dict(value)
    except ValueError as exc:
        raise MetadataError("freq.sessions", f"is malformed ({exc})") from None


def read_known(
    d: dict[str, Any],
) -> tuple[tuple[str, ...], dict[str, Any] | None, str | None, tuple[str, ...], tuple[str, ...]]:
    """calendar, holidays, tz, future columns and the known columns, checked against each other."""

    calendar = tuple(read_names(d, "calendar")) if d.get("calendar") else ()
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
    future = tuple(read_names(d, "future")) if d.get("future") else ()
    known = tuple(read_names(d, "known")) if d.get("known") else ()
    expected = tuple(calendar_columns(calendar, holidays is not None)) + future
    if known != expected:
        raise MetadataError(
            "known",
            f"are {', '.join(known) or 'none'}, but the calendar "
            f"({', '.join(calendar) or 'none'}{' and holidays' if holidays else ''}) and the future "
            f"columns give {', '.join(expected) or 'none'}",
        )
    return calendar, holidays, tz, future, known


def read_ensemble(d: dict[str, Any], input_len: int, model: str) -> dict[str, Any] | None:
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
        read_int(m, "input_len", f"ensemble.members[{i}].input_len", 1)
    longest = max(m["input_len"] for m in members)
    if longest != input_len:
        raise MetadataError("ensemble.members", f"read at most {longest} steps, but the file's window is {input_len}")
    return value


def read_seasons(d: dict[str, Any], input_len: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """(seasons, season_lags, history_len): (), () and input_len for files without them."""
    raw = _steps_list(d, "seasons")
    lags = _steps_list(d, "season_lags")
    if lags and not raw:
        raise MetadataError("season_lags", f"is {lags!r}, but the file names no seasons")
    history_len = read_int(d, "history_len", "history_len", 1, default=input_len)
    need = input_len + lags[-1] if lags else max([input_len, *raw])
    if history_len != need:
        raise MetadataError("history_len", f"is {history_len}, but the window and the seasons need {need}")
    return tuple(raw), tuple(lags), history_len


def _steps_list(d: dict[str, Any], key: str) -> list[int]:
    raw = d.get(key, [])
    if not isinstance(raw, list) or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in raw):
        raise MetadataError(key, f"is {raw!r}, not a list of whole numbers of steps")
    if raw != sorted(set(raw)):
        raise MetadataError(key, f"is {raw!r}: they must be distinct and ascending")
    return raw
