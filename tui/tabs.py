"""The six tabs, and their views built on first need: the first screen needs only the Data view, so every other
view's module is imported, and the view mounted in its pane, when its tab is first opened, when a key acts on it,
or in the background once the first file is on screen (one view at a time, so keys are still answered)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.containers import ScrollableContainer
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane
from textual.worker import Worker


@dataclass(frozen=True)
class Tab:
    id: str
    """The pane's id, as `show_tab` and the tests name it."""
    title: str
    module: str
    """The module under tui.screens that defines the view."""
    view: str
    """The view's class name in that module."""
    needs: tuple[str, ...] = ()
    """Tabs whose views are mounted first: the Compare screen shows the Model screen's settings, and its Tune
    dialog checks that no training runs."""

    @property
    def view_id(self) -> str:
        return f"{self.id}-view"


TABS = (
    Tab("data", "Data F1", "data", "DataView"),
    Tab("model", "Model F2", "model", "ModelView"),
    Tab("train", "Train F3", "train", "TrainView"),
    Tab("forecast", "Forecast F4", "forecast", "ForecastView"),
    Tab("help", "Help F5", "help", "HelpView"),
    Tab("compare", "Compare F6", "compare", "CompareView", needs=("model", "train")),
)
BY_ID = {t.id: t for t in TABS}
FIRST = "data"
"""The tab composed with the app."""
PRELOAD_AFTER_S = 0.5
"""Seconds between the first file on screen and mounting the other views: the first keys go first, and an app
closed at once (a script, a test) does not close during a mount."""


def view_class(tab: Tab) -> type[Widget]:
    """Import the tab's screen module (the first time) and return its view class."""
    cls: type[Widget] = getattr(importlib.import_module(f"tui.screens.{tab.module}"), tab.view)
    return cls


class LazyTabs:
    """Mounts each tab's view once, answers which views are there, and switches tabs with the focus inside.

    `build` makes a view from its class (the app knows the arguments), `ready` wires a view just mounted to
    the session (the loaded data, the other views)."""

    def __init__(
        self,
        app: App[Any],
        build: Callable[[Tab, type[Widget]], Widget],
        ready: Callable[[Tab, Any], None],
    ) -> None:
        self._app = app
        self._build = build
        self._ready = ready
        self._mounted = {FIRST}
        self._pending: dict[str, asyncio.Event] = {}
        self._preload: Worker[None] | None = None
        self._stopped = False

    def view(self, tab: str) -> Any:
        """The tab's view, or None while it is not mounted (NoMatches once the app is closing and it is gone)."""
        if tab not in self._mounted:
            return None
        return self._app.query_one(f"#{BY_ID[tab].view_id}")

    async def ensure(self, tab: str) -> Any:
        """The tab's view, imported and mounted first when it is not there yet."""
        spec = BY_ID[tab]
        for need in spec.needs:
            await self.ensure(need)
        pending = self._pending.get(tab)
        if tab not in self._mounted and pending is None:
            pending = self._pending[tab] = asyncio.Event()
            try:
                view = self._build(spec, view_class(spec))
                await self._app.query_one(f"#{tab}", TabPane).mount(view)
                self._mounted.add(tab)
                self._ready(spec, view)
            finally:
                pending.set()
        elif pending is not None:
            await pending.wait()  # mounting already, for another caller
        return self._app.query_one(f"#{spec.view_id}")

    # --- background --------------------------------------------------------------------------------------

    def file_loading(self) -> None:
        """A file is loading (or was just shown): mount the other views in the background once it is on screen."""
        if self._preload is None:
            self._preload = self._app.run_worker(self._mount_rest(), name="views", group="load")

    async def _mount_rest(self) -> None:
        await self._file_shown()
        await asyncio.sleep(PRELOAD_AFTER_S)
        for tab in TABS:
            if self._stopped or not self._app.is_running:
                return  # quitting: a view mounted while the app closes would fail half-way
            try:
                await self.ensure(tab.id)
            except NoMatches:
                if self._app.is_running:
                    raise

    async def stop(self) -> None:
        """Mount nothing more in the background, and wait for a view being mounted now (before quitting)."""
        self._stopped = True
        for pending in list(self._pending.values()):
            await pending.wait()

    async def _file_shown(self) -> None:
        """Wait until no file is loading any more and the screen shows the result."""

        def loading() -> list[Worker[Any]]:
            return [w for w in self._app.workers if w.group == "load" and w.node is not self._app and not w.is_finished]

        while pending := loading():
            await asyncio.gather(*(w.wait() for w in pending), return_exceptions=True)  # a reload cancels one
        for call in (self._app.query_one(f"#{BY_ID[FIRST].view_id}").call_later, self._app.call_after_refresh):
            done = asyncio.Event()
            call(done.set)  # after the view's pending result message, then after the repaint
            await done.wait()

    # --- switching ---------------------------------------------------------------------------------------

    async def show(self, tab: str) -> None:
        """Make `tab` the active one (mounting its view first) and move the focus into it."""
        await self.ensure(tab)
        tabs = self._app.query_one(TabbedContent)
        if tabs.active != tab:
            # A focused widget left in a hidden pane would switch the tabs back when it is refocused.
            self._app.set_focus(None)
            tabs.active = tab
            self._app.call_after_refresh(self._focus_in, tab)

    def _focus_in(self, tab: str) -> None:
        """Move focus into the shown pane; a focused widget left in a hidden pane would switch back to it."""
        tabs = self._app.query_one(TabbedContent)
        if tabs.active != tab:
            return  # another key switched again in the meantime
        pane = self._app.query_one(f"#{tab}", TabPane)
        preferred = getattr(self.view(tab), "FOCUS_FIRST", None)
        first = (
            pane.query_one(preferred)
            if preferred
            else next((w for w in pane.query("*") if w.focusable and not isinstance(w, ScrollableContainer)), None)
        )
        if first is not None:
            first.focus()
        else:
            tabs.query_one("ContentTabs").focus()
