"""Model screen: the recurrent cell, its sizes, the window and the training settings, checked as typed."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import Checkbox, Input, Markdown, Select, Static

from tsrnn.core.config import CELL_NAMES, ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.data.seasons import describe_seasons

from ..text import CELL_HELP, OPTION_HELP
from ..widgets.field import FieldRow
from .model_checks import (
    KnownCheck,
    build_configs,
    check_known,
    config_errors,
    known_key,
    seasons_error,
    seasons_to_try,
    skip_error,
    window_error,
    with_future,
)
from .model_fields import FIELDS, control, hint, parse_fields

if TYPE_CHECKING:
    from tsrnn.data.loader import SeriesSet
    from tsrnn.timeline.known import KnownSpec


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
        self._known_last: KnownCheck = (None, None)
        self.try_seasons: tuple[int, ...] = ()
        """The data's seasons that training tries first (Seasons: auto), () when there are none to try."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="model-form"):
            for f in FIELDS:
                yield FieldRow(f.label, control(f, self._initial[f.id]), f.id)
            yield Static("", id="model-status")
        with VerticalScroll(id="model-help"):
            yield Markdown("", id="cell-help")
            yield Markdown(OPTION_HELP, id="option-help")

    def on_mount(self) -> None:
        self.validate()

    def set_data(self, data: SeriesSet | None) -> None:
        self.data = data
        if data is not None:
            from tsrnn.experiment.pipeline import default_input_len

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

    def validate(self) -> dict[str, str]:
        """Check every field on its own, then the window against the data; mark each row."""
        values, errors = parse_fields(self.texts())
        config_errors(values, errors)
        self._known = None
        if self.data is not None:
            self._known, wrong = self._check_known(values)
            if wrong:
                errors[wrong[0]] = wrong[1]
        if self.data is not None and not ({"input_len", "horizon"} & errors.keys()):
            problem = window_error(self.data, values)
            if problem:
                errors["input_len"] = problem
            elif problem := skip_error(self.data, values):
                errors["seasonal_skip"] = problem
            elif "seasons" not in errors and (problem := seasons_error(self.data, values)):
                errors["seasons"] = problem
        self.errors = errors
        season = self.data.freq.season if self.data is not None else None
        self.try_seasons = ()
        if self.data is not None and not ({"input_len", "horizon", "seasons"} & errors.keys()):
            self.try_seasons = seasons_to_try(self.data, values)
        found = None
        if self.data is not None:
            found = describe_seasons(self.try_seasons, self.data.freq) if self.try_seasons else ""
        for f in FIELDS:
            self.query_one(f"#row-{f.id}", FieldRow).show_error(errors.get(f.id), hint(f, values, season, found))
        self._show_status(errors)
        self.query_one("#cell-help", Markdown).update(CELL_HELP.get(values.get("cell", "lstm"), ""))
        self.post_message(self.Checked())
        return errors

    def _check_known(self, values: dict[str, Any]) -> KnownCheck:
        """The calendar inputs for the loaded data, or the field that is wrong and why (kept while the fields
        it depends on and the data stay the same: it may read the file's header)."""
        assert self.data is not None
        key = known_key(self.data, values)
        if self._known_key != key:
            self._known_key, self._known_last = key, check_known(self.data, values)
        return self._known_last

    def prepared(self) -> tuple[SeriesSet, ModelConfig, TrainConfig]:
        """The data with its calendar inputs and the two configs, ready to train or compare (the file is read
        again when future columns are chosen: they are loaded beside the values)."""
        mc, tc = self.configs()
        assert self.data is not None and self._known is not None
        data = self.data
        if self._known.future != tuple(data.future_names):
            data = with_future(data, self._known.future)
            mc = replace(mc, n_inputs=len(data.channels))
        return data.with_known(self._known), mc, tc

    def _show_status(self, errors: dict[str, str]) -> None:
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
        values, errors = parse_fields(self.texts())
        errors = errors or self.errors
        if errors:
            first = next(f for f in FIELDS if f.id in errors)
            raise ConfigError(f"{first.label}: {errors[first.id]} (fix the fields marked on the Model screen)")
        return build_configs(self.data, values, self._known)
