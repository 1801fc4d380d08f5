"""Dynamic batching: what concurrent requests for one model send is merged into one call, and the results split
back to each request: windows into one ONNX Runtime call, or (`tables`) whole request tables into one forecast."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger("tsrnn.serve")

Run = Callable[[np.ndarray, np.ndarray | None], dict[str, np.ndarray]]
"""(history, known) -> every output: `Forecaster.predict_outputs`."""
Tables = Callable[[list[Any]], list[Any]]
"""Request tables -> each one's result, or the error it gets (`tsrnn.serve.merging.forecast_tables`)."""
OnBatch = Callable[[int, int, float], None]
"""Told of each call: windows, requests merged, seconds the call took."""


@dataclass
class _Job:
    history: np.ndarray | None
    known: np.ndarray | None
    table: Any = None
    """A request's whole table (with `units` series), when the batcher merges tables."""
    units: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    outputs: Any = None
    error: BaseException | None = None

    @property
    def windows(self) -> int:
        return self.units if self.history is None else len(self.history)


class Ticket:
    """One request on its way to the batcher: while it is being read and checked, the batcher may wait for it."""

    def __init__(self, batcher: Batcher) -> None:
        self.batcher = batcher
        self.waiting = True

    def predict(self, history: np.ndarray, known: np.ndarray | None) -> dict[str, np.ndarray]:
        """This request's windows through the next merged call; blocks until its outputs are there."""
        return self.batcher.submit(self, history, known)  # type: ignore[no-any-return]

    def forecast_table(self, table: Any, series: int) -> Any:
        """This request's table (of `series` series) through the next merged forecast; its result, or its error
        raised."""
        return self.batcher.submit_table(self, table, series)


class Batcher:
    """One thread per model that runs the queued requests' windows together: at most `max_batch` windows per
    call (a larger request runs alone), and it waits up to `max_wait` seconds for more only while other requests
    are still being read (one client alone never waits). `max_batch` 1 runs each request by itself."""

    def __init__(
        self,
        run: Run,
        max_batch: int,
        max_wait: float,
        on_batch: OnBatch | None = None,
        name: str = "",
        tables: Tables | None = None,
    ) -> None:
        self.run = run
        self.tables = tables
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.on_batch = on_batch
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._reading = 0
        """Requests holding a ticket that have not submitted yet."""
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=f"tsrnn-batch-{name}", daemon=True)
        self._thread.start()

    @contextmanager
    def ticket(self) -> Iterator[Ticket]:
        """Hold a place for a request from its first byte: `ticket.predict(...)` submits its windows."""
        t = self.open_ticket()
        try:
            yield t
        finally:
            self.release(t)

    def open_ticket(self) -> Ticket:
        """A ticket that `release` must close (`ticket()` does both)."""
        t = Ticket(self)
        with self._cond:
            self._reading += 1
        return t

    def release(self, t: Ticket) -> None:
        with self._cond:
            if t.waiting:
                t.waiting = False
                self._reading -= 1
                self._cond.notify_all()

    def submit(self, t: Ticket, history: np.ndarray, known: np.ndarray | None) -> Any:
        return self._submit(t, _Job(history, known))

    def submit_table(self, t: Ticket, table: Any, series: int) -> Any:
        if self.tables is None:
            raise TypeError("this batcher merges windows, not tables")
        return self._submit(t, _Job(None, None, table, series))

    def _submit(self, t: Ticket, job: _Job) -> Any:
        if not self._thread.is_alive() or self._alone(t):  # closed without this ticket, or nobody to wait for
            t.waiting = False
            self._run([job])
        else:
            self._enqueue(t, job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.outputs

    def _alone(self, t: Ticket) -> bool:
        """Whether no other request is queued or being read: the batcher would run this one by itself at once, so
        it runs on the request's own thread (no hand-over to the batcher's thread and back)."""
        with self._cond:
            if self._queue or not t.waiting or self._reading != 1 or self._closing:
                return False
            t.waiting = False
            self._reading -= 1  # no one to tell: the batching thread waits for a queue, which is empty
            return True

    def _enqueue(self, t: Ticket, job: _Job) -> None:
        with self._cond:
            self._queue.append(job)
            if t.waiting:
                t.waiting = False
                self._reading -= 1
            self._cond.notify_all()

    def close(self, wait: bool = True) -> None:
        """Finish what is queued and what holds a ticket, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if wait:
            self._thread.join()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            self._run(jobs)

    def _take(self) -> list[_Job] | None:
        """The next jobs to merge, or None when closing with nothing left."""
        with self._cond:
            while not self._queue:
                if self._closing and not self._reading:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.max_wait
            while self._reading and sum(j.windows for j in self._queue) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            jobs = [self._queue.popleft()]
            total = jobs[0].windows
            while self._queue and total + self._queue[0].windows <= self.max_batch:
                total += self._queue[0].windows
                jobs.append(self._queue.popleft())
            return jobs

    def _run(self, jobs: list[_Job]) -> None:
        tables = [j for j in jobs if j.history is None]
        windows = [j for j in jobs if j.history is not None]
        for group in (tables, windows):
            if group:
                self._run_group(group)

    def _run_group(self, jobs: list[_Job]) -> None:
        t0 = time.perf_counter()
        try:
            outputs: list[Any]
            if jobs[0].history is None:
                assert self.tables is not None
                outputs = self.tables([j.table for j in jobs])
            elif len(jobs) == 1:
                outputs = [self.run(jobs[0].history, jobs[0].known)]
            else:
                outputs = self._merged(jobs)
        except BaseException as exc:  # every request of the call hears of it; the thread goes on
            for j in jobs:
                j.error = exc
                j.done.set()
            return
        seconds = time.perf_counter() - t0
        for j, out in zip(jobs, outputs, strict=True):
            if isinstance(out, BaseException):  # a table's own error
                j.error = out
            else:
                j.outputs = out
            j.done.set()
        if self.on_batch is not None:
            try:
                self.on_batch(sum(j.windows for j in jobs), len(jobs), seconds)
            except Exception:  # a metric must never stop the thread that answers requests
                log.exception("batch metrics failed")

    def _merged(self, jobs: list[_Job]) -> list[dict[str, np.ndarray]]:
        history = np.concatenate([j.history for j in jobs if j.history is not None])
        known = None if jobs[0].known is None else np.concatenate([j.known for j in jobs if j.known is not None])
        merged = self.run(history, known)
        bounds = np.cumsum([0] + [j.windows for j in jobs])
        return [{k: v[a:b] for k, v in merged.items()} for a, b in itertools.pairwise(bounds)]
