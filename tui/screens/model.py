"""Model screen: the recurrent cell, its sizes, the window and the training settings, checked as typed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Markdown, Select, Static

from tsrnn.budget import parse_optional_budget
from tsrnn.config import CELL_NAMES, CELLS, DEVICES, ModelConfig, TrainConfig
from tsrnn.errors import ConfigError

from ..text import CELL_HELP, OPTION_HELP, for_tui
from ..widgets.field import FieldRow

if TYPE_CHECKING:
    from tsrnn.data import SeriesSet
    from tsrnn.known import KnownSpec


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: str
    """int, float, quantiles, cell, device, bool, budget (a duration, blank for none); an int field with default None
    falls back to the data's default."""
    default: str
    owner: str = "model"
    """Which config checks it: model, train, or known (the calendar inputs, checked against the data)."""


FIELDS = (
    Field("cell", "Cell", "cell", "lstm"),
    Field("bidirectional", "Bidirectional", "bool", "false"),
    Field("num_layers", "Layers", "int", "2"),
    Field("hidden_size", "Hidden size", "int", "64"),
    Field("dropout", "Dropout", "float", "0.0"),
    Field("highway", "Linear highway", "bool", "false"),
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


def training_threads() -> int:
    """Leave one core to the UI: torch spinning on every core made epochs ~100x slower under load."""
    return max(1, (os.cpu_count() or 1) - 1)


class ModelView(Horizontal):
    """The settings form; `configs()` turns it into ModelConfig and TrainConfig or marks what is wrong."""

    class Checked(Message):
        """The form was checked again (a field or the data changed); the Compare screen shows the result."""

    def __init__(self, values: dict[str, str], id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = {f.id: str(values.get(f.id, f.default)) for f in FIELDS}
        self.data: SeriesSet | None = None
        self.errors: dict[str, str] = {}
        self._known: KnownSpec | None = None
        self._known_key: tuple[str, str, str, str, str, int] | None = None
        self._known_last: tuple[KnownSpec | None, tuple[str, str] | None] = (None, None)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="model-form"):
            for f in FIELDS:
                yield FieldRow(f.label, self._control(f), f.id)
            yield Static("", id="model-status")
        with VerticalScroll(id="model-help"):
            yield Markdown("", id="cell-help")
            yield Markdown(OPTION_HELP, id="option-help")

    def _control(self, f: Field) -> Widget:
        value = self._initial[f.id]
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

    def on_mount(self) -> None:
        self.validate()

    def set_data(self, data: SeriesSet | None) -> None:
        self.data = data
        if data is not None:
            from tsrnn.pipeline import default_input_len

            self.query_one("#input_len", Input).placeholder = f"{default_input_len(data)} (default)"
            self.query_one("#horizon", Input).placeholder = f"{data.freq.default_horizon()} (default)"
        self.validate()

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.validate()

    # --- reading and checking -----------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """The form as typed, for the settings file."""
        out = {}
        for f in FIELDS:
            w = self.query_one(f"#{f.id}")
            if isinstance(w, Checkbox):
                out[f.id] = "true" if w.value else "false"
            elif isinstance(w, (Input, Select)):
                out[f.id] = str(w.value)
        return out

    def _parse(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        texts = self.texts()
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

    def validate(self) -> dict[str, str]:
        """Check every field on its own, then the window against the data; mark each row."""
        values, errors = self._parse()
        for f in FIELDS:
            if f.id in errors or values.get(f.id) is None:
                continue
            try:
                if f.owner == "model":
                    ModelConfig(**{f.id: values[f.id]})
                elif f.owner == "train":
                    TrainConfig(**{f.id: values[f.id]})
            except ConfigError as exc:
                errors[f.id] = for_tui(exc.message)
        self._known = None
        if self.data is not None:
            self._known, wrong = self._check_known(values)
            if wrong:
                errors[wrong[0]] = wrong[1]
        if self.data is not None and not ({"input_len", "horizon"} & errors.keys()):
            from tsrnn.pipeline import check_fit, default_input_len

            horizon = values["horizon"] or self.data.freq.default_horizon()
            input_len = values["input_len"] or default_input_len(self.data, horizon)
            if input_len < 2:
                errors["input_len"] = "window scaling needs an input window of at least 2"
            else:
                problem = check_fit(self.data, input_len, horizon)
                if problem:
                    errors["input_len"] = problem
        self.errors = errors
        for f in FIELDS:
            hint = HINTS.get(f.id, "")
            if f.id == "dropout" and values.get("num_layers") == 1 and (values.get("dropout") or 0) > 0:
                hint = "ignored with one layer"
            if f.id in ("input_len", "horizon"):
                hint = "steps read" if f.id == "input_len" else "steps forecast at once"
                if self.data is None:
                    hint += "; default from the data"
            self.query_one(f"#row-{f.id}", FieldRow).show_error(errors.get(f.id), hint)
        self._show_status(values, errors)
        self.query_one("#cell-help", Markdown).update(CELL_HELP.get(values.get("cell", "lstm"), ""))
        self.post_message(self.Checked())
        return errors

    def _check_known(self, values: dict[str, Any]) -> tuple[KnownSpec | None, tuple[str, str] | None]:
        """The calendar inputs for the loaded data, or the field that is wrong and why."""
        from tsrnn.known import choose_known

        assert self.data is not None
        key = (
            values["calendar"],
            values["holidays"],
            values["tz"],
            values["future"],
            f"{values['input_len']}/{values['horizon']}",
            id(self.data),
        )
        if self._known_key == key:
            return self._known_last
        field = "calendar"
        try:
            from tsrnn.calendar import check_zone, parse_calendar

            if values["tz"]:
                field = "tz"
                check_zone(values["tz"])
            field = "calendar"
            parse_calendar(values["calendar"] or "auto", self.data.freq)
            field = "future"
            future = self._future_columns(values["future"])
            field = "holidays"
            from tsrnn.pipeline import default_input_len

            horizon = values["horizon"] or self.data.freq.default_horizon()
            input_len = values["input_len"] or default_input_len(self.data, horizon)
            spec = choose_known(
                self.data.freq,
                self.data.times,
                values["calendar"] or "auto",
                values["holidays"] or None,
                values["tz"] or None,
                future,
                input_len,
            )
            result: tuple[KnownSpec | None, tuple[str, str] | None] = (spec, None)
        except ConfigError as exc:
            result = (None, (field, for_tui(exc.message)))
        self._known_key, self._known_last = key, result
        return result

    def _future_columns(self, text: str) -> tuple[str, ...]:
        """The --future columns typed, checked against the data file's columns."""
        from tsrnn.csvio import read_header

        assert self.data is not None
        names = tuple(dict.fromkeys(c.strip() for c in text.replace(" ", ",").split(",") if c.strip()))
        if not names:
            return ()
        header = read_header(self.data.path)
        for c in names:
            if c not in header:
                raise ConfigError(f"no column '{c}'; columns are {', '.join(header)}")
            if c in self.data.targets or c in (self.data.time_col, self.data.id_col):
                raise ConfigError(f"'{c}' is a target, time or id column; future columns are other numeric columns")
        return names

    def prepared(self) -> tuple[SeriesSet, ModelConfig, TrainConfig]:
        """The data with its calendar inputs and the two configs, ready to train or compare (the file is read
        again when future columns are chosen: they are loaded beside the values)."""
        mc, tc = self.configs()
        assert self.data is not None and self._known is not None
        data = self.data
        if self._known.future != tuple(data.future_names):
            from tsrnn.config import DataConfig
            from tsrnn.data import load_series

            future = self._known.future
            data = load_series(
                data.path,
                DataConfig(
                    time_col=data.time_col,
                    id_col=data.id_col,
                    targets=tuple(data.targets),
                    features=tuple(c for c in data.features if c not in future),
                    future=future,
                    sessions=data.freq.sessions or "none",
                ),
            )
            mc = replace(mc, n_inputs=len(data.channels))
        return data.with_known(self._known), mc, tc

    def _show_status(self, values: dict[str, Any], errors: dict[str, str]) -> None:
        status = self.query_one("#model-status", Static)
        if errors:
            names = ", ".join(f.label.lower() for f in FIELDS if f.id in errors)
            status.update(
                f"[b $error]Fix {len(errors)} field{'s' if len(errors) > 1 else ''} before training:[/] {names}"
            )
        elif self.data is None:
            status.update("Load a CSV on the Data screen (F1) before training.")
        else:
            mc, tc = self.configs()
            bi = "bidirectional " if mc.bidirectional else ""
            q = f", quantiles {', '.join(f'{x:g}' for x in mc.quantiles)}" if mc.quantiles else ""
            known = self._known.describe() if self._known is not None else ""
            status.update(
                f"[b $success]Ready:[/] {bi}{CELL_NAMES[mc.cell]} {mc.num_layers}×{mc.hidden_size}, "
                f"window {mc.input_len} → horizon {mc.horizon}{q}, up to {tc.epochs} epochs; "
                f"{escape(known)}. Press Ctrl+T to train, or compare every cell on the Compare screen (F6)."
            )

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """The two configs; raises ConfigError when a field is wrong or no data is loaded."""
        if self.data is None:
            raise ConfigError("no data loaded: open a CSV on the Data screen (F1) first")
        values, errors = self._parse()
        errors = errors or self.errors
        if errors:
            first = next(f for f in FIELDS if f.id in errors)
            raise ConfigError(f"{first.label}: {errors[first.id]} (fix the fields marked on the Model screen)")
        from tsrnn.pipeline import model_config

        mc = model_config(
            self.data,
            input_len=values["input_len"],
            horizon=values["horizon"],
            cell=values["cell"],
            hidden_size=values["hidden_size"],
            num_layers=values["num_layers"],
            bidirectional=values["bidirectional"],
            dropout=values["dropout"],
            quantiles=values["quantiles"],
            highway=values["highway"],
        )
        mc = replace(mc, n_known=self._known.n if self._known is not None else 0)
        tc = TrainConfig(
            epochs=values["epochs"],
            batch_size=values["batch_size"],
            lr=values["lr"],
            patience=values["patience"],
            seed=values["seed"],
            device=values["device"],
            threads=training_threads(),
            time_limit=values["time_limit"],
        )
        return mc, tc
