"""Streaming forecasts (`tsrnn forecast MODEL --follow`): rows read as they arrive (appended to a CSV, or CSV or
JSON lines on a pipe), each series' last history_len steps kept in memory (the file is never read again), and one
forecast per series each time its next step is complete. For a model with future columns, a row with the targets
empty and the future columns filled plans a time ahead (as the rows after the last target do in a file): a step's
forecast waits until its whole horizon is planned. A malformed line is reported and skipped; the stream goes on.
numpy and polars only (never torch)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from tsrnn.core.errors import DataError
from tsrnn.core.messages import shorten
from tsrnn.runtime.forecastio import value_columns
from tsrnn.runtime.inference import Forecaster
from tsrnn.timeline.known import window_times
from tsrnn.timeline.timefreq import format_times, parse_times

POLL_S = 0.05
"""How often a followed file is checked for new rows."""
READ_BYTES = 1 << 16


@dataclass
class Line:
    """One line of the stream: when it was read, its number (the header is line 1 of a CSV), its text."""

    arrived: float
    number: int
    text: str


@dataclass
class Record:
    """A line understood: its series, time, values (None: a planned row), future columns' values (None: the
    model has none, or the row left them to an earlier plan), and when it arrived."""

    arrived: float
    number: int
    series: str
    time: np.datetime64
    values: np.ndarray | None
    future: np.ndarray | None = None


@dataclass
class _Series:
    times: deque[np.datetime64]
    values: deque[np.ndarray]
    future: deque[np.ndarray]
    """The future columns' values at each step of the history (empty for a model without them)."""
    plans: dict[np.datetime64, np.ndarray] = field(default_factory=dict)
    """Future columns' values planned for times after the newest step."""
    next_time: np.datetime64 | None = None
    arrived: float = 0.0
    """When the line that made the newest forecast possible arrived."""
    pending: bool = False
    """The newest step is not forecast yet (it waits for its horizon's plans)."""


@dataclass
class FollowStats:
    lines: int = 0
    skipped: int = 0
    forecasts: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self) -> str:
        lat = ""
        if self.latencies_ms:
            a = np.asarray(self.latencies_ms)
            lat = (
                f"; arrival to forecast p50 {np.percentile(a, 50):.2f} ms, p99 {np.percentile(a, 99):.2f} ms, "
                f"max {a.max():.2f} ms"
            )
        return f"follow: {self.lines} line(s) read, {self.skipped} skipped, {self.forecasts} forecast(s){lat}"


class Follower:
    """The state of a followed stream: each series' recent history, and how to turn new lines into forecasts."""

    def __init__(self, model: Forecaster, warn: Callable[[str], None], stats: FollowStats | None = None) -> None:
        meta = model.meta
        self.model = model
        self.warn = warn
        self.time_col = meta.time_col
        self.id_col = meta.id_col
        self.inputs = list(meta.inputs)
        self.future = list(meta.future)
        self.L = model.history_len
        self.H = model.horizon
        self.told_waiting = False
        self.freq = model.freq
        self.utc: bool | None = None
        self.series: dict[str, _Series] = {}
        self.stats = stats or FollowStats()

    def check_header(self, columns: list[str], source: str) -> None:
        self.model.check_columns(columns, source)

    def records(self, rows: list[tuple[Line, dict[str, Any]]]) -> list[Record]:
        """Rows (column -> cell) -> records; a row that cannot be read is reported and skipped. The times of a
        chunk are parsed at once, one by one only when some of them are bad."""
        times = self._times([str(row.get(self.time_col) or "") for _, row in rows])
        out = []
        for (line, row), stamp in zip(rows, times, strict=True):
            try:
                out.append(self._record(line, row, stamp))
            except DataError as exc:
                self.skip(line, exc.message)
        return out

    def _times(self, texts: list[str]) -> list[tuple[np.datetime64, bool] | None]:
        if not texts:
            return []
        try:
            stamps, utc = parse_times(pl.Series(self.time_col, texts), "stream", np.arange(len(texts)))
            return [(t, utc) for t in stamps]
        except DataError:
            if len(texts) == 1:
                return [None]
            return [self._times([t])[0] for t in texts]

    def _record(self, line: Line, row: dict[str, Any], stamp: tuple[np.datetime64, bool] | None) -> Record:
        missing = [c for c in [self.time_col, *self.inputs] if row.get(c) in (None, "")]
        unplanned = [c for c in self.future if row.get(c) in (None, "")]
        planned = bool(self.future) and not unplanned and missing == self.inputs  # the targets left for later
        if missing and not planned:
            raise DataError(f"no value for {', '.join(repr(c) for c in missing)}")
        if 0 < len(unplanned) < len(self.future):  # some future columns but not all: neither a plan nor left to one
            raise DataError(f"no value for {', '.join(repr(c) for c in unplanned)}")
        values = None if planned else self._numbers(row, self.inputs)
        future = self._numbers(row, self.future) if self.future and not unplanned else None
        if stamp is None:
            raise DataError(f"{shorten(str(row[self.time_col]))!r} is not an ISO date or datetime")
        when, utc = stamp
        if self.utc is None:
            self.utc = utc
        elif utc != self.utc:
            raise DataError(
                f"the time {shorten(str(row[self.time_col]))!r} is {'UTC' if utc else 'local'} but the stream's "
                f"earlier times were {'UTC' if self.utc else 'local'}"
            )
        sid = str(row.get(self.id_col) or "") if self.id_col else ""
        return Record(line.arrived, line.number, sid, when, values, future)

    @staticmethod
    def _numbers(row: dict[str, Any], columns: list[str]) -> np.ndarray:
        values = np.empty(len(columns), dtype=np.float32)
        for j, c in enumerate(columns):
            cell = row[c]
            try:
                values[j] = float(cell)
            except (TypeError, ValueError):
                raise DataError(f"column '{c}' holds {shorten(str(cell))!r}, not a number") from None
            if not np.isfinite(values[j]):
                raise DataError(f"column '{c}' holds {shorten(str(cell))!r}, not a finite number")
        return values

    def skip(self, line: Line, why: str) -> None:
        self.stats.skipped += 1
        self.warn(f"line {line.number}: {why}; skipped")

    def add(self, records: list[Record]) -> list[str]:
        """Append each record to its series' history (or, planned, to its plans); the series whose newest step is
        complete, that have history_len steps and (with future columns) the plans of their whole horizon, each
        once."""
        ready: dict[str, None] = {}
        for r in records:
            s = self.series.get(r.series)
            if s is None:
                s = self.series[r.series] = _Series(deque(maxlen=self.L), deque(maxlen=self.L), deque(maxlen=self.L))
            if s.times and r.time <= s.times[-1]:
                last = self._fmt(s.times[-1])
                self.skip_record(r, f"{self._who(r.series)} at {self._fmt(r.time)} is not after its last row ({last})")
                continue
            if r.values is None:  # a plan for a time ahead
                assert r.future is not None
                s.plans[r.time] = r.future
                if s.pending and self._planned(s):
                    s.arrived = r.arrived
                    ready[r.series] = None
                continue
            if self.future and r.future is None and r.time not in s.plans:
                names = ", ".join(repr(c) for c in self.future)
                self.skip_record(
                    r,
                    f"no value for {names}: give it in the row, or in an earlier row for that time with the "
                    "targets empty",
                )
                continue
            if s.next_time is not None and r.time != s.next_time and not self._fill(s, r):
                continue
            s.times.append(r.time)
            s.values.append(r.values)
            if self.future:
                s.future.append(r.future if r.future is not None else s.plans[r.time])
                s.plans = {t: v for t, v in s.plans.items() if t > r.time}
            s.next_time = window_times(np.array([r.time]), None, 1, self.freq)[0, 0]
            s.arrived = r.arrived
            s.pending = len(s.times) == self.L
            if s.pending and self._planned(s):
                ready[r.series] = None
            elif s.pending and not self.told_waiting:
                self.told_waiting = True
                self.warn(
                    f"line {r.number}: the forecast of {self._who(r.series)} from {self._fmt(r.time)} waits for "
                    f"{', '.join(repr(c) for c in self.future)} over its {self.H} steps ahead: give them in rows "
                    "with the targets empty (said once)"
                )
        return list(ready)

    def _planned(self, s: _Series) -> bool:
        """Whether the future columns are known over the newest step's whole horizon (always, without them)."""
        if not self.future:
            return True
        return all(t in s.plans for t in self._horizon(s))

    def _horizon(self, s: _Series) -> np.ndarray:
        return window_times(np.array([s.times[-1]]), None, self.H, self.freq)[0]

    def _fill(self, s: _Series, r: Record) -> bool:
        """Steps missing before `r`: interpolated when fewer than the history holds (as the loader fills gaps),
        else the series starts again from `r`; a time off the model's grid is skipped."""
        ahead = window_times(np.array([s.times[-1]]), None, self.L + 1, self.freq)[0]
        hit = np.flatnonzero(ahead == r.time)
        if not len(hit):
            if r.time > ahead[-1]:
                self.warn(
                    f"line {r.number}: {self._who(r.series)} jumps from {self._fmt(s.times[-1])} to "
                    f"{self._fmt(r.time)}, more than {self.L} steps: its history starts again there"
                )
                s.times.clear()
                s.values.clear()
                s.future.clear()
                return True
            self.skip_record(
                r, f"{self._who(r.series)} at {self._fmt(r.time)} is off the model's {self.freq.label} grid"
            )
            return False
        k = int(hit[0])  # steps missing before r
        last = s.values[-1]
        assert r.values is not None
        if self.future:
            last_future = s.future[-1]
            now_future = r.future if r.future is not None else s.plans[r.time]
        for i in range(k):
            w = (i + 1) / (k + 1)
            s.times.append(ahead[i])
            s.values.append((1 - w) * last + w * r.values)
            if self.future:  # a step's plan where there is one, as the loader keeps a row's future cells
                s.future.append(s.plans.get(ahead[i], (1 - w) * last_future + w * now_future))
        self.warn(
            f"line {r.number}: {self._who(r.series)}: {k} step(s) missing before {self._fmt(r.time)} were interpolated"
        )
        return True

    def skip_record(self, r: Record, why: str) -> None:
        self.stats.skipped += 1
        self.warn(f"line {r.number}: {why}; skipped")

    def forecast(self, ready: list[str]) -> list[tuple[str, np.ndarray, dict[str, np.ndarray], float]]:
        """One call for every ready series: (series, its forecast's times, value columns, arrival time)."""
        if not ready:
            return []
        picked = [self.series[sid] for sid in ready]
        history = np.stack([np.stack(s.values) for s in picked])
        known = None
        times = np.stack([np.array(s.times, dtype="datetime64[us]") for s in picked])
        future = None
        if self.future:
            future = np.stack(
                [np.concatenate([np.stack(s.future), np.stack([s.plans[t] for t in self._horizon(s)])]) for s in picked]
            )
        if self.model.meta.known:
            known = self.model.known_inputs(times, self.freq, future)
        for s in picked:
            s.pending = False
        outputs = self.model.predict_outputs(history, known)
        columns = value_columns(self.model.meta, outputs)
        H = self.model.horizon
        steps = window_times(times[:, -1], None, H, self.freq)
        if "probability" in outputs:
            H = 1
            steps = steps[:, :1]
        return [
            (sid, steps[i], {c: v[i * H : (i + 1) * H] for c, v in columns.items()}, picked[i].arrived)
            for i, sid in enumerate(ready)
        ]

    def _who(self, sid: str) -> str:
        return f"series '{sid}'" if self.id_col else "the series"

    def _fmt(self, t: np.datetime64) -> str:
        return format_times(np.array([t], dtype="datetime64[us]"), bool(self.utc))[0]


class Writer:
    """Forecast lines on `out`: JSON lines (one per series and forecast) or CSV (one row per step)."""

    def __init__(self, follower: Follower, out: IO[str], fmt: str) -> None:
        self.f = follower
        self.out = out
        self.fmt = fmt
        self.header = False

    def write(self, forecasts: list[tuple[str, np.ndarray, dict[str, np.ndarray], float]]) -> None:
        f = self.f
        if not forecasts:
            return
        lines = []
        for sid, steps, cols, arrived in forecasts:
            stamps = format_times(steps, bool(f.utc))
            issued = f._fmt(f.series[sid].times[-1])
            latency = round((time.perf_counter() - arrived) * 1000, 3)
            f.stats.forecasts += 1
            f.stats.latencies_ms.append(latency)
            if self.fmt == "jsonl":
                rows = [{f.time_col: t, **{c: float(v[i]) for c, v in cols.items()}} for i, t in enumerate(stamps)]
                head = {f.id_col: sid} if f.id_col else {}
                lines.append(json.dumps({**head, "issued": issued, "forecast": rows, "latency_ms": latency}))
            else:
                lines.extend(self._csv(sid, stamps, cols, issued, latency))
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def _csv(self, sid: str, stamps: list[str], cols: dict[str, np.ndarray], issued: str, latency: float) -> list[str]:
        f = self.f
        names = list(cols)
        out = []
        if not self.header:
            self.header = True
            out.append(",".join([*([f.id_col] if f.id_col else []), f.time_col, *names, "issued", "latency_ms"]))
        for i, t in enumerate(stamps):
            cells = [*([_csv_cell(sid)] if f.id_col else []), t, *(repr(float(cols[c][i])) for c in names)]
            out.append(",".join([*cells, issued, f"{latency}"]))
        return out


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def read_lines(source: str, stop_at_end: bool) -> Iterator[list[Line]]:
    """Chunks of whole lines as they arrive: from stdin ('-') until it ends, or from a file that is followed
    (polled; a file that shrinks is read again from its start); `stop_at_end`: a file is read once."""
    if source == "-":
        yield from _chunks(sys.stdin.buffer.fileno(), None, stop_at_end=True)
        return
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{source}: file not found" if not path.exists() else f"{source}: is not a regular file")
    fd = os.open(path, os.O_RDONLY)
    try:
        yield from _chunks(fd, path, stop_at_end)
    finally:
        os.close(fd)


def _chunks(fd: int, path: Path | None, stop_at_end: bool) -> Iterator[list[Line]]:
    tail = b""
    number = 0
    pos = 0
    while True:
        data = os.read(fd, READ_BYTES)
        if not data:
            if path is None or stop_at_end:
                if tail.strip():
                    number += 1
                    yield [Line(time.perf_counter(), number, tail.decode("utf-8", "replace").rstrip("\r"))]
                return
            if os.fstat(fd).st_size < pos:  # truncated or replaced in place: start again
                os.lseek(fd, 0, os.SEEK_SET)
                pos, tail, number = 0, b"", 0
                continue
            time.sleep(POLL_S)
            continue
        pos += len(data)
        now = time.perf_counter()
        parts = (tail + data).split(b"\n")
        tail = parts.pop()
        lines = []
        for p in parts:
            number += 1
            lines.append(Line(now, number, p.decode("utf-8", "replace").rstrip("\r")))
        if lines:
            yield lines


def follow(
    model: Forecaster,
    source: str,
    out: IO[str],
    fmt: str = "jsonl",
    warn: Callable[[str], None] | None = None,
    stop_at_end: bool = False,
    stats: FollowStats | None = None,
) -> FollowStats:
    """Follow `source` (a CSV file, or '-' for stdin: CSV with a header, or JSON lines) and write forecasts to
    `out` until stdin ends (a file: until the caller stops it, with a signal's exception, or at its end with
    `stop_at_end`). `stats`, the caller's, counts as it goes, so a stopped stream can still be summed up."""
    say = warn or (lambda m: print(f"tsrnn: {m}", file=sys.stderr))
    follower = Follower(model, say, stats)
    model.check_runs()  # ONNX Runtime's first call is slow: not on the first line's latency
    writer = Writer(follower, out, fmt)
    parse = _Parser(follower, source)
    for chunk in read_lines(source, stop_at_end):
        follower.stats.lines += len(chunk)
        records = follower.records(parse.rows(chunk))
        writer.write(follower.forecast(follower.add(records)))
    return follower.stats


class _Parser:
    """Lines -> rows: a CSV (header first) or JSON lines (each an object), told apart by the first line."""

    def __init__(self, follower: Follower, source: str) -> None:
        self.f = follower
        self.source = "stdin" if source == "-" else Path(source).name
        self.kind: str | None = "jsonl" if source.endswith((".jsonl", ".ndjson")) else None
        self.header: list[str] | None = None

    def rows(self, lines: list[Line]) -> list[tuple[Line, dict[str, Any]]]:
        out = []
        for line in lines:
            text = line.text.lstrip("\ufeff").strip() if line.number == 1 else line.text.strip()
            if not text:
                continue
            if self.kind is None:
                self.kind = "jsonl" if text.startswith("{") else "csv"
            if self.kind == "jsonl":
                row = self._json(line, text)
            elif self.header is None:
                self.header = [c.strip() for c in next(csv.reader(io.StringIO(text)))]
                self.f.check_header(self.header, self.source)
                continue
            else:
                row = self._csv(line)
            if row is not None:
                out.append((line, row))
        return out

    def _json(self, line: Line, text: str) -> dict[str, Any] | None:
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            self.f.skip(line, f"not valid JSON ({exc.msg} at column {exc.colno})")
            return None
        if not isinstance(row, dict):
            self.f.skip(line, "not a JSON object of column: value")
            return None
        return row

    def _csv(self, line: Line) -> dict[str, Any] | None:
        assert self.header is not None
        try:
            cells = next(csv.reader(io.StringIO(line.text)))
        except (csv.Error, StopIteration):
            self.f.skip(line, "not a CSV row")
            return None
        if len(cells) != len(self.header):
            self.f.skip(line, f"{len(cells)} field(s) where the header has {len(self.header)}")
            return None
        return dict(zip(self.header, cells, strict=True))
