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

    def show_series(self, title: str, times: Sequence[object] | np.ndarray, series: dict[str, np.ndarray],
                    forecast: dict[str, np.ndarray] | None = None,
                    forecast_times: Sequence[object] = ()) -> None:
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
