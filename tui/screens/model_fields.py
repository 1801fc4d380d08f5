"""The Model screen's fields: what each one holds, the control that edits it, its hint, and how its text is read."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any

from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from tsrnn.core.budget import parse_optional_budget
from tsrnn.core.config import CELL_NAMES, CELLS, DEVICES
from tsrnn.core.errors import ConfigError
from tsrnn.data.seasons import parse_seasons


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: str
    """int, float, quantiles, cell, device, bool, budget (a duration, blank for none), seasons (auto, none or a list
    of steps); an int field with default None falls back to the data's default."""
    default: str
    owner: str = "model"
    """Which config checks it: model, train, known (the calendar inputs, checked against the data), skip (the
    seasonal skip, checked against the data's season and the window) or seasons (checked against the data)."""


FIELDS = (
    Field("cell", "Cell", "cell", "lstm"),
    Field("bidirectional", "Bidirectional", "bool", "false"),
    Field("num_layers", "Layers", "int", "2"),
    Field("hidden_size", "Hidden size", "int", "64"),
    Field("dropout", "Dropout", "float", "0.0"),
    Field("highway", "Linear highway", "bool", "false"),
    Field("seasonal_skip", "Seasonal skip", "bool", "false", "skip"),
    Field("seasons", "Seasons", "seasons", "auto", "seasons"),
    Field("input_len", "Input window", "int", ""),
    Field("horizon", "Horizon", "int", ""),
    Field("quantiles", "Quantiles", "quantiles", ""),
    Field("calendar", "Calendar", "text", "auto", "known"),
    Field("holidays", "Holidays", "text", "", "known"),
    Field("tz", "Time zone", "text", "", "known"),
    Field("future", "Future columns", "text", "", "known"),
    Field("epochs", "Epochs", "int", "100", "train"),
    Field("batch_size", "Batch size", "int", "32", "train"),
    Field("lr", "Learning rate", "float", "0.001", "train"),
    Field("patience", "Patience", "int", "15", "train"),
    Field("time_limit", "Time budget", "budget", "", "train"),
    Field("seed", "Seed", "int", "0", "train"),
    Field("device", "Device", "device", "cpu", "train"),
)
HINTS = {
    "cell": "",
    "bidirectional": "reads each window both ways",
    "num_layers": "stacked recurrent layers",
    "hidden_size": "units per layer and direction",
    "dropout": "between layers, 0 to <1",
    "highway": "window -> horizon linear skip",
    "seasonal_skip": "adds the last season; learns what differs",
    "seasons": "auto: tried, kept if they help; none; 48,336",
    "quantiles": "blank: point forecast; e.g. 0.1,0.5,0.9",
    "calendar": "auto, none, or e.g. hour,dow",
    "holidays": "blank: none; country, e.g. AU:VIC, US",
    "tz": "blank: as written; e.g. Australia/Melbourne",
    "future": "known ahead, e.g. promo,price",
    "epochs": "at most; may stop early",
    "batch_size": "windows per optimiser step",
    "lr": "Adam step size",
    "patience": "epochs without validation gain",
    "time_limit": "blank: none; e.g. 90s, 10m",
    "seed": "same seed, same model (CPU)",
    "device": "cuda needs torch with CUDA",
}


def parse_quantiles(text: str) -> tuple[float, ...]:
    """'0.1, 0.5, 0.9' -> (0.1, 0.5, 0.9); blank -> (); ValueError names the bad part."""
    out = []
    for part in (p for p in re.split(r"[,\s]+", text.strip()) if p):
        try:
            out.append(float(part))
        except ValueError:
            raise ValueError(f"'{part}' is not a number: type levels like 0.1,0.5,0.9") from None
    return tuple(out)


def control(f: Field, value: str) -> Widget:
    """The widget that edits one field, showing `value` (a saved text that no longer fits falls back)."""
    if f.kind == "cell":
        return Select(
            [(CELL_NAMES[c], c) for c in CELLS],
            value=value if value in CELLS else "lstm",
            allow_blank=False,
            id=f.id,
            compact=True,
            classes="field-control",
        )
    if f.kind == "device":
        return Select(
            [(d, d) for d in DEVICES],
            value=value if value in DEVICES else "cpu",
            allow_blank=False,
            id=f.id,
            compact=True,
            classes="field-control",
        )
    if f.kind == "bool":
        return Checkbox("", value=value.lower() == "true", id=f.id, compact=True, classes="field-control")
    return Input(value, id=f.id, compact=True, classes="field-control", select_on_focus=True)


def parse_fields(texts: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each field's typed text as a value, or why it is not one; a blank window or horizon is None (the data's
    default)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        text = texts[f.id].strip()
        if f.kind == "bool":
            values[f.id] = text == "true"
        elif f.kind in ("cell", "device", "text"):
            values[f.id] = text
        elif f.kind == "quantiles":
            try:
                values[f.id] = parse_quantiles(text)
            except ValueError as exc:
                errors[f.id] = str(exc)
        elif f.kind == "seasons":
            try:
                values[f.id] = parse_seasons(text or "auto")  # None: auto
            except argparse.ArgumentTypeError as exc:
                errors[f.id] = str(exc)
        elif f.kind == "budget":
            try:
                values[f.id] = parse_optional_budget(text)
            except ConfigError as exc:
                errors[f.id] = exc.message
        elif f.kind == "int":
            if text == "" and f.id in ("input_len", "horizon"):
                values[f.id] = None
                continue
            try:
                values[f.id] = int(text)
            except ValueError:
                errors[f.id] = f"'{text}' is not a whole number" if text else "type a whole number"
        else:
            try:
                values[f.id] = float(text)
            except ValueError:
                errors[f.id] = f"'{text}' is not a number" if text else "type a number, e.g. 0.001"
    return values, errors


def hint(f: Field, values: dict[str, Any], season: int | None, found: str | None = None) -> str:
    """The grey note beside a field that has no error; `season` is the loaded data's (None: no data yet), `found`
    the seasons `auto` would try, in words ('' for none; None: not known)."""
    if f.id == "dropout" and values.get("num_layers") == 1 and (values.get("dropout") or 0) > 0:
        return "ignored with one layer"
    if f.id == "seasonal_skip" and values.get("seasonal_skip") and season:
        return f"adds the last {season} steps; learns what differs"
    if f.id == "seasons" and found is not None:
        if values.get("seasons") is None:
            return f"auto: {found}, kept if they help" if found else "auto: none beyond the window"
        return "none: the window alone" if values.get("seasons") == () else "the model reads them"
    if f.id in ("input_len", "horizon"):
        text = "steps read" if f.id == "input_len" else "steps forecast at once"
        return text if season is not None else text + "; default from the data"
    return HINTS.get(f.id, "")
