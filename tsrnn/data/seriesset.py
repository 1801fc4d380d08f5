"""The loaded series: one or many series on the same regular grid, and the loader's report on what it did."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from tsrnn.core.errors import ConfigError
from tsrnn.timeline.known import KnownSpec
from tsrnn.timeline.timefreq import Frequency


@dataclass
class LoadReport:
    """What the loader found and did, in words a user can read."""

    rows: int = 0
    sorted_rows: bool = False
    filled_cells: dict[str, int] = field(default_factory=dict)
    filled_rows: int = 0
    trimmed_rows: int = 0
    longest_gap: int = 0
    longest_gap_where: str = ""
    decimal_comma: bool = False
    warnings: list[str] = field(default_factory=list)
    sessions: str = ""
    """The session calendar the data follows, in words ('' when it has none)."""
    outside_sessions: int = 0
    """Rows left out because they fall in a closed slot of the session calendar."""
    outside_example: str = ""
    tail_dropped: dict[str, tuple[int, np.datetime64]] = field(default_factory=dict)
    """Series whose last rows had an empty value cell and were dropped: rows dropped and the first dropped time."""

    def notes(self) -> list[str]:
        out = []
        if self.sessions:
            out.append(f"sessions: {self.sessions}")
        if self.outside_sessions:
            out.append(f"{self.outside_sessions} rows outside the sessions (e.g. {self.outside_example}) were left out")
        if self.decimal_comma:
            out.append("read ',' as the decimal separator")
        if self.sorted_rows:
            out.append("rows were not in time order; sorted them")
        if self.filled_rows:
            out.append(
                f"{self.filled_rows} missing time steps inserted and interpolated "
                f"(longest gap {self.longest_gap} steps)"
            )
        for col, n in self.filled_cells.items():
            if n:
                out.append(f"{n} empty cells in '{col}' filled by linear interpolation")
        if self.trimmed_rows:
            out.append(f"{self.trimmed_rows} rows at the start or end with no value were dropped")
        return out + self.warnings


@dataclass
class SeriesSet:
    """One or many series on the same regular grid; channels are targets first, then features."""

    path: Path
    time_col: str
    id_col: str | None
    targets: list[str]
    features: list[str]
    freq: Frequency
    utc: bool
    ids: list[str]
    times: list[np.ndarray]
    values: list[np.ndarray]
    report: LoadReport
    raw_preview: pl.DataFrame | None = None
    filled: list[np.ndarray] | None = None
    """Per series, the steps where at least one value was interpolated (None: none was)."""
    known_spec: KnownSpec = field(default_factory=KnownSpec)
    """The known-in-advance inputs (calendar features, holiday flags) that `known` holds."""
    known: list[np.ndarray] | None = None
    """Per series, (T, known_spec.n) float32 known inputs at each step (None: none)."""
    future_names: list[str] = field(default_factory=list)
    """Columns known in advance (--future), loaded beside the values."""
    future: list[np.ndarray] | None = None
    """Per series, (T, len(future_names)) values of those columns."""

    def with_known(self, spec: KnownSpec) -> SeriesSet:
        """The same series with the known inputs of `spec` at every step: the calendar's computed, then the
        future columns as loaded."""
        if list(spec.future) != self.future_names:
            theirs = ", ".join(self.future_names) or "none"
            raise ConfigError(
                f"{self.path.name}: the known inputs name future columns "
                f"{', '.join(spec.future) or 'none'}, the data has {theirs}"
            )
        if spec.tz:  # --tz converts UTC instants; naive times are its local times already
            spec = replace(spec, utc=self.utc)
        # daily steps of UTC instants continue the zone's local days across daylight-saving changes
        freq = replace(self.freq, zone=spec.zone) if spec.zone and self.freq.shift_us else self.freq
        if not spec.n:
            return replace(self, known_spec=spec, known=None, freq=freq)
        flat = spec.compute(np.concatenate(self.times))
        known = np.split(flat, np.cumsum(self.lengths)[:-1])
        if self.future is not None:
            known = [np.concatenate([k, f.astype(np.float32)], axis=1) for k, f in zip(known, self.future, strict=True)]
        return replace(self, known_spec=spec, known=known, freq=freq)

    def subset(self, keep: list[int]) -> SeriesSet:
        """Only the series numbered in `keep`, in that order."""
        if keep == list(range(self.n_series)):
            return self

        def pick(xs: list[np.ndarray] | None) -> list[np.ndarray] | None:
            return None if xs is None else [xs[i] for i in keep]

        return replace(
            self,
            ids=[self.ids[i] for i in keep],
            times=[self.times[i] for i in keep],
            values=[self.values[i] for i in keep],
            filled=pick(self.filled),
            known=pick(self.known),
            future=pick(self.future),
        )

    def model_values(self, series: int) -> np.ndarray:
        """(T, channels + known) values of one series with its known inputs beside them: what windows cut."""
        v = self.values[series]
        return v if self.known is None else np.concatenate([v, self.known[series]], axis=1)

    @property
    def channels(self) -> list[str]:
        return self.targets + self.features

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values])

    def span(self) -> tuple[np.datetime64, np.datetime64]:
        return min(t[0] for t in self.times), max(t[-1] for t in self.times)

    def drop_last(self, steps: int) -> SeriesSet:
        """The same series without their last `steps` time steps (data before a forecast origin)."""
        if steps == 0:
            return self

        def cut(xs: list[np.ndarray] | None) -> list[np.ndarray] | None:
            return None if xs is None else [x[:-steps] for x in xs]

        return replace(
            self,
            times=[t[:-steps] for t in self.times],
            values=[v[:-steps] for v in self.values],
            filled=cut(self.filled),
            known=cut(self.known),
            future=cut(self.future),
        )

    def frame(self, series: int = 0) -> pl.DataFrame:
        """One series as a polars table (time and every channel)."""
        data = {self.time_col: self.times[series]}
        data.update({c: self.values[series][:, i] for i, c in enumerate(self.channels)})
        return pl.DataFrame(data)
