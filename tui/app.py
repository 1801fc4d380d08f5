"""The tsrnn terminal app: six tabs over one session (data -> model -> train -> export -> forecast; compare)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, TabbedContent, TabPane

from tsrnn.compare.request import CompareRequest
from tsrnn.core.errors import ConfigError

from .keys import GLOBAL_KEYS
from .screens.data import DataView
from .settings import Settings, SettingsStore, default_config_dir, remembered_columns
from .tabs import FIRST, TABS, LazyTabs, Tab
from .text import for_tui

if TYPE_CHECKING:
    from tsrnn.data.loader import SeriesSet

    from .screens.compare import CompareView
    from .screens.forecast import ForecastView
    from .screens.model import ModelView
    from .screens.train import TrainView


class TsrnnApp(App[None]):
    """Holds the session (loaded data, trained experiment) and routes global keys to the screens."""

    CSS_PATH = "app.tcss"
    TITLE = "tsrnn"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.keys, k.action, k.label, priority=k.priority, show=k.show, id=k.action) for k in GLOBAL_KEYS
    ]

    def __init__(
        self, data_path: str | None = None, model_path: str | None = None, config_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.store = SettingsStore(config_dir or default_config_dir())
        self.settings: Settings = self.store.load()
        self._data_path = data_path
        self._model_path = model_path
        self.data: SeriesSet | None = None
        self.tabs = LazyTabs(self, self._build_view, self._view_ready)
        """Every view but the Data screen's is built the first time it is needed."""

    def compose(self) -> ComposeResult:
        start = self._data_path or self.settings.data.get("path")
        folder = Path(start).expanduser().parent if start and Path(start).expanduser().parent.is_dir() else Path(".")
        with TabbedContent(initial=FIRST, id="tabs"):
            for tab in TABS:
                with TabPane(tab.title, id=tab.id):
                    if tab.id == FIRST:
                        yield DataView(folder, id=tab.view_id)
        yield Footer()

    def _build_view(self, tab: Tab, cls: type[Any]) -> Widget:
        forecast = dict(self.settings.forecast)
        if self._model_path:
            forecast["model"] = self._model_path
        args = {"model": (self.settings.model,), "forecast": (forecast,), "compare": (self.settings.compare,)}
        view: Widget = cls(*args.get(tab.id, ()), id=tab.view_id)
        return view

    def _view_ready(self, tab: Tab, view: Any) -> None:
        """Bring a view mounted late up to date with the session, as if it had been there from the start."""
        if tab.id == "model" and self.data is not None:
            view.set_data(self.data)
        elif tab.id == "forecast" and self.data is not None:
            view.set_csv(self.data.path)
        elif tab.id == "compare":
            self._show_compare_settings()
        self.refresh_bindings()

    async def on_mount(self) -> None:
        if self.store.warning:
            self.notify(self.store.warning, title="Settings ignored", severity="warning", timeout=10)
        path = self._data_path or self.settings.data.get("path")
        if path:
            self.query_one(DataView).open_path(path, remembered_columns(self.settings, str(path)))
            if any(w.group == "load" for w in self.workers):
                self.tabs.file_loading()
        else:
            self.query_one("#data-path", Input).focus()
        if self._model_path:
            await self.action_show_tab("forecast")

    # --- session ---------------------------------------------------------------------------------------

    def on_data_view_loaded(self, msg: DataView.Loaded) -> None:
        self.data = msg.data
        try:
            model: ModelView | None = self.tabs.view("model")
            forecast: ForecastView | None = self.tabs.view("forecast")
            if model is not None:
                model.set_data(msg.data)
            if forecast is not None:
                forecast.set_csv(msg.data.path)
            self._show_compare_settings()
        except NoMatches:
            return  # the app is closing and its widgets are gone
        self.save_settings()
        self.tabs.file_loading()

    async def on_train_view_start_requested(self) -> None:
        await self.action_train()

    async def on_train_view_exported(self, msg: TrainView.Exported) -> None:
        if msg.result is not None:
            forecast: ForecastView = await self.tabs.ensure("forecast")
            forecast.refresh_models(select=msg.result.path)
        self.save_settings()

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        view = await self.tabs.ensure(str(event.pane.id))
        if event.pane.id == "forecast":
            view.refresh_models()
        if event.pane.id == "compare":
            self._show_compare_settings()
        self.refresh_bindings()

    def save_settings(self) -> None:
        try:
            self.settings.data = self.query_one(DataView).remembered()
            for tab, remembered in (("model", "texts"), ("forecast", "remembered"), ("compare", "remembered")):
                view = self.tabs.view(tab)
                if view is not None:  # a view not built yet still holds what the settings file gave it
                    setattr(self.settings, tab, getattr(view, remembered)())
        except NoMatches:
            return  # closing: the widgets holding the settings are gone
        problem = self.store.save(self.settings)
        if problem:
            self.notify(problem, title="Settings not saved", severity="warning")

    # --- actions ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the key and lets it fall through to a focused Input (ctrl+x cut, ctrl+e end).
        try:
            train: TrainView | None = self.tabs.view("train")
            compare: CompareView | None = self.tabs.view("compare")
            forecast: ForecastView | None = self.tabs.view("forecast")
        except NoMatches:
            return True  # closing
        training = train is not None and train.training
        comparing = compare is not None and compare.running
        if isinstance(self.screen, ModalScreen) and action not in ("quit", "cancel"):
            return False  # the row dialog on the Compare screen is open
        if action == "cancel":
            return training or comparing
        if action == "compare":
            return None if comparing else True
        if action == "export":
            return train is not None and train.experiment is not None and not training and not train.exporting
        if action == "save":
            return forecast is not None and forecast.result is not None
        if action == "train":
            return None if training else True
        return True

    async def action_show_tab(self, tab: str) -> None:
        await self.tabs.show(tab)

    async def action_open(self) -> None:
        await self.action_show_tab("data")
        box = self.query_one("#data-path", Input)
        box.focus()
        box.select_all()

    async def action_train(self) -> None:
        model: ModelView = await self.tabs.ensure("model")
        train: TrainView = await self.tabs.ensure("train")
        if train.training:
            return
        compare: CompareView | None = self.tabs.view("compare")
        if compare is not None and compare.running:
            self.notify(
                "A comparison is running: cancel it (Ctrl+X) or wait for it before training.",
                title="Busy",
                severity="warning",
            )
            return
        try:
            data, model_cfg, train_cfg = model.prepared()
        except ConfigError as exc:
            self.notify(for_tui(exc.message), title="Cannot train yet", severity="error", timeout=8)
            await self.action_show_tab("data" if self.data is None else "model")
            return
        await self.action_show_tab("train")
        self.save_settings()
        train.start(data, model_cfg, train_cfg, model.try_seasons)

    def action_cancel(self) -> None:
        for tab in ("train", "compare"):
            view = self.tabs.view(tab)
            if view is not None:
                view.cancel()

    async def action_compare(self) -> None:
        compare: CompareView = await self.tabs.ensure("compare")
        if compare.running:
            return
        await self.action_show_tab("compare")
        train: TrainView | None = self.tabs.view("train")
        if train is not None and train.training:
            self.notify(
                "Training is running: cancel it (Ctrl+X) or wait for it before comparing.",
                title="Busy",
                severity="warning",
            )
            return
        model: ModelView = self.tabs.view("model")
        try:
            variants, folds, refit, export_best = compare.options()
            data, model_cfg, train_cfg = model.prepared()
        except ConfigError as exc:
            self.notify(for_tui(exc.message), title="Cannot compare yet", severity="error", timeout=8)
            self._show_compare_settings()
            return
        self.save_settings()
        base = replace(model_cfg, num_layers=1, bidirectional=False)
        await compare.start(
            CompareRequest(
                data,
                tuple(variants),
                base,
                train_cfg,
                folds=folds,
                refit=refit,
                export_best=export_best,
                try_seasons=model.try_seasons or None,  # Seasons: auto, with seasons beyond the window to try
            )
        )

    def _show_compare_settings(self) -> None:
        try:
            model: ModelView | None = self.tabs.view("model")
            compare: CompareView | None = self.tabs.view("compare")
        except NoMatches:
            return  # a late message while the app closes: its widgets are gone
        if model is None or compare is None:
            return  # shown when the Compare screen is built
        try:
            model_cfg, train_cfg = model.configs()
        except ConfigError as exc:
            compare.show_settings(None, None, for_tui(exc.message))
        else:
            compare.show_settings(model_cfg, train_cfg)

    async def on_compare_view_start_requested(self) -> None:
        await self.action_compare()

    def on_model_view_checked(self) -> None:
        self._show_compare_settings()

    async def on_compare_view_exported(self, msg: CompareView.Exported) -> None:
        forecast: ForecastView = await self.tabs.ensure("forecast")
        forecast.refresh_models(select=msg.path)

    async def on_compare_view_open_in_forecast(self, msg: CompareView.OpenInForecast) -> None:
        forecast: ForecastView = await self.tabs.ensure("forecast")
        forecast.refresh_models(select=Path(msg.path))
        await self.action_show_tab("forecast")
        forecast.run_forecast()

    async def action_export(self) -> None:
        await self.action_show_tab("train")
        self.tabs.view("train").export()

    async def action_forecast(self) -> None:
        await self.action_show_tab("forecast")
        self.tabs.view("forecast").run_forecast()

    async def action_save(self) -> None:
        await self.action_show_tab("forecast")
        self.tabs.view("forecast").save()
        self.save_settings()

    async def action_quit(self) -> None:
        await self.tabs.stop()
        self.action_cancel()
        self.save_settings()
        self.exit()


def make_app(data_path: str | None = None, model_path: str | None = None, config_dir: Path | None = None) -> App[None]:
    """The app the CLI runs and the tests drive; config_dir overrides where tui.json lives."""
    return TsrnnApp(data_path, model_path, config_dir)


def run_tui(data_path: str | None = None, model_path: str | None = None) -> None:
    make_app(data_path, model_path).run()
