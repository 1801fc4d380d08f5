"""The models a server holds: each loaded once with its batcher, looked up by name, and reloaded from its file
without downtime (the new one is loaded and checked first; requests in flight finish on the old one)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsrnn.core.errors import ConfigError, TsrnnError
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.batching import Batcher, OnBatch, Ticket
from tsrnn.serve.bodies import RequestError
from tsrnn.serve.merging import forecast_tables

log = logging.getLogger("tsrnn.serve")


@dataclass
class Served:
    """One loaded version of a model: the forecaster, its batcher, when it was loaded."""

    name: str
    model: Forecaster
    batcher: Batcher
    loaded_at: float

    def describe(self) -> dict[str, Any]:
        """What GET /v1/models lists: the name, the file, where it runs, and the metadata `inspect --json` shows."""
        return {
            "name": self.name,
            "path": str(self.model.path),
            "provider": self.model.provider,
            "fallback": self.model.fallback,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
            "description": self.model.meta.describe(),
            "columns": self.model.columns,
            "outputs": self.model.meta.output_columns(),
            "metadata": self.model.meta.to_dict(),
        }

    def retire(self) -> None:
        """Stop taking requests: the batcher finishes those it has, then the forecaster closes (in the background)."""

        def finish() -> None:
            self.batcher.close(wait=True)
            self.model.close()

        threading.Thread(target=finish, name=f"tsrnn-retire-{self.name}", daemon=True).start()


def model_names(paths: list[str]) -> dict[str, Path]:
    """Each model file under its stem (`exports/load.onnx` -> 'load'); two files with one stem are refused."""
    names: dict[str, Path] = {}
    for p in map(Path, paths):
        name = p.name.removesuffix(".onnx") if p.name.endswith(".onnx") else p.stem
        if name in names:
            raise ConfigError(f"two models are named '{name}' ({names[name]} and {p}); rename one of the files")
        names[name] = p
    return names


class Models:
    """The served models by name. `get` gives the version to use for one whole request; `reload` swaps in a new
    one."""

    def __init__(
        self,
        paths: list[str],
        device: str = "cpu",
        max_batch: int = 256,
        max_wait: float = 0.002,
        on_batch: Callable[[str, int, int, float], None] | None = None,
        on_reload: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.device = device
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.on_batch = on_batch
        self.on_reload = on_reload
        """Told of each reload (by route or SIGHUP): the model, and whether it was swapped in."""
        self.paths = model_names(paths)
        self._lock = threading.Lock()
        self._served: dict[str, Served] = {}
        try:
            for name in self.paths:
                self._served[name] = self._load(name)
        except BaseException:
            self.close()
            raise

    def _load(self, name: str) -> Served:
        model = Forecaster.load(self.paths[name], device=self.device)
        try:
            model.check_runs()
        except BaseException:
            model.close()
            raise
        tell: OnBatch | None = None
        if self.on_batch is not None:
            on_batch = self.on_batch

            def tell(windows: int, requests: int, seconds: float) -> None:
                on_batch(name, windows, requests, seconds)

        batcher = Batcher(
            model.predict_outputs,
            self.max_batch,
            self.max_wait,
            tell,
            name=name,
            tables=lambda frames: forecast_tables(model, frames),
        )
        return Served(name, model, batcher, time.time())

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    def get(self, name: str) -> Served:
        with self._lock:
            served = self._served.get(name)
        if served is None:
            raise self._unknown(name)
        return served

    def _unknown(self, name: str) -> RequestError:
        return RequestError(f"unknown model '{name}'; this server has: {', '.join(self.paths) or 'none'}", 404)

    @contextmanager
    def use(self, name: str) -> Iterator[tuple[Served, Ticket]]:
        """The version of `name` that serves one whole request, and the request's ticket for its batcher, taken
        together so that a reload in between cannot close that batcher before the request is done."""
        with self._lock:
            served = self._served.get(name)
            if served is None:
                raise self._unknown(name)
            ticket = served.batcher.open_ticket()
        try:
            yield served, ticket
        finally:
            served.batcher.release(ticket)

    def all(self) -> list[Served]:
        with self._lock:
            return list(self._served.values())

    def reload(self, name: str) -> Served:
        """Load `name`'s file again and check it; swap it in only when it is good (the error says why not, and the
        old version keeps serving)."""
        self.get(name)  # an unknown name is a 404
        try:
            new = self._load(name)
        except TsrnnError as exc:
            log.error("reload of %s refused, the loaded version keeps serving: %s", name, exc.message)
            if self.on_reload is not None:
                self.on_reload(name, False)
            raise RequestError(f"reload refused, the loaded model keeps serving: {exc.message}", 422) from None
        with self._lock:
            old = self._served[name]
            self._served[name] = new
        old.retire()
        if self.on_reload is not None:
            self.on_reload(name, True)
        log.info("reloaded %s from %s (%s)", name, self.paths[name], new.model.meta.describe())
        return new

    def reload_all(self) -> dict[str, str | None]:
        """Every model reloaded (SIGHUP): name -> None, or why its reload was refused."""
        out: dict[str, str | None] = {}
        for name in self.names:
            try:
                self.reload(name)
                out[name] = None
            except RequestError as exc:
                out[name] = exc.message
        return out

    def close(self) -> None:
        with self._lock:
            served, self._served = list(self._served.values()), {}
        for s in served:
            s.batcher.close(wait=True)
            s.model.close()
