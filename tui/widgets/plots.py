"""Line charts drawn with textual-plotext: a series, a forecast after its history, train/val loss."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from textual_plotext import PlotextPlot

MAX_POINTS = 1500
"""More points than a terminal has columns only slows rendering; longer series are thinned."""


def _thin(n: int) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).astype(int))


def _ticks(labels: Sequence[str], n: int = 5) -> tuple[list[int], list[str]]:
    if not labels:
        return [], []
    pos = sorted({round(float(p)) for p in np.linspace(0, len(labels) - 1, min(n, len(labels)))})
    return pos, [labels[p] for p in pos]


def short_time(value: object) -> str:
    """A timestamp as its date, or date and minute when the time matters."""
    text = str(value).replace("T", " ")
    text = text.split(".")[0]
    return text[:10] if text[10:].strip(" 0:") == "" else text[:16]


class SeriesPlot(PlotextPlot):
    """One or more value series over time; an optional forecast continues the first one."""

    def show_series(
        self,
        title: str,
        times: Sequence[object] | np.ndarray,
        series: dict[str, np.ndarray],
        forecast: dict[str, np.ndarray] | None = None,
        forecast_times: Sequence[object] = (),
    ) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        labels = [short_time(t) for t in times] + [short_time(t) for t in forecast_times]
        keep = _thin(len(times))
        for name, values in series.items():
            plt.plot(keep.tolist(), np.asarray(values, dtype=float)[keep].tolist(), label=name, marker="braille")
        if forecast:
            start = len(times) - 1
            for name, values in forecast.items():
                x = list(range(start, start + len(values) + 1))
                last = float(np.asarray(series[name])[-1]) if name in series else float(values[0])
                y = [last, *np.asarray(values, dtype=float).tolist()]
                plt.plot(x, y, label=f"{name} forecast", marker="braille")
        pos, text = _ticks(labels)
        plt.xticks([float(p) for p in pos], text)
        self.refresh()

    def show_band(
        self,
        title: str,
        times: Sequence[object] | np.ndarray,
        name: str,
        history: np.ndarray,
        forecast_times: Sequence[object],
        lines: dict[str, np.ndarray],
    ) -> None:
        """History of one target, then its quantile lines (lower, median, upper), each joined to the last value."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        labels = [short_time(t) for t in times] + [short_time(t) for t in forecast_times]
        keep = _thin(len(times))
        hist = np.asarray(history, dtype=float)
        plt.plot(keep.tolist(), hist[keep].tolist(), label=name, marker="braille")
        start = len(times) - 1
        for label, values in lines.items():
            x = list(range(start, start + len(values) + 1))
            plt.plot(x, [float(hist[-1]), *np.asarray(values, dtype=float).tolist()], label=label, marker="braille")
        pos, text = _ticks(labels)
        plt.xticks([float(p) for p in pos], text)
        self.refresh()

    def show_backtest(
        self,
        title: str,
        times: Sequence[object] | np.ndarray,
        actual: np.ndarray,
        origin: int,
        forecasts: dict[str, np.ndarray],
        dotted: Sequence[str] = (),
    ) -> None:
        """Actual values over a window and horizon, with every forecast made at `origin` (the index of the
        last value the models saw); the names in `dotted` (baselines) are drawn with dots."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        values = np.asarray(actual, dtype=float)
        plt.plot(list(range(len(values))), values.tolist(), label="actual", marker="braille")
        for name, fc in forecasts.items():
            y = [float(values[origin]), *np.asarray(fc, dtype=float).tolist()]
            plt.plot(list(range(origin, origin + len(y))), y, label=name, marker="dot" if name in dotted else "braille")
        plt.vline(origin)
        pos, text = _ticks([short_time(t) for t in times])
        plt.xticks([float(p) for p in pos], text)
        self.refresh()

    def show_probability(self, title: str, labels: Sequence[str], probabilities: Sequence[float]) -> None:
        """Bars of probabilities between 0 and 1 (a direction model's chance of a rise)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.bar(list(labels), [float(p) for p in probabilities], width=0.4)
        plt.ylim(0, 1)
        self.refresh()

    def show_message(self, title: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        self.refresh()


class LossPlot(PlotextPlot):
    """Training and validation loss per epoch (log scale)."""

    def show_losses(self, train: Sequence[float], val: Sequence[float], best_epoch: int | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("loss per epoch (scaled units, log scale)")
        plt.xlabel("epoch")
        if train:
            epochs = list(range(1, len(train) + 1))
            positive = all(v > 0 for v in [*train, *val])
            if positive:
                plt.yscale("log")
            plt.plot(epochs, list(train), label="train", marker="braille")
            plt.plot(epochs[: len(val)], list(val), label="validation", marker="braille")
            step = max(1, len(epochs) // 8)
            plt.xticks([float(e) for e in epochs[::step]])
            if best_epoch:
                plt.vline(best_epoch)
        self.refresh()
