"""The whole workflow in a few calls: settings -> split -> fit -> test metrics -> export."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import tsrnn.modelfile.artifact as artifact
from tsrnn import __version__
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.core.paths import EXPORT_DIR
from tsrnn.data.loader import SeriesSet
from tsrnn.data.windows import Split, default_val_len, rows_needed, split_series
from tsrnn.evaluate.metrics import baselines, direction_scores, interval_scores, mase_scale, score_table

if TYPE_CHECKING:
    from tsrnn.export.exporter import ExportResult
    from tsrnn.model.train import ProgressFn, StopFn, TrainResult


@dataclass
class Experiment:
    """A trained model with its data, split and test scores."""

    data: SeriesSet
    split: Split
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    season: int
    result: TrainResult
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    forecast: np.ndarray | None = None
    """The model's forecast of the test block, (series, horizon, targets)."""
    backtest: dict[str, Any] | None = None
    """The backtest that chose this model, for the exported file's metadata."""

    @property
    def name(self) -> str:
        return f"{self.data.path.stem}_{variant_name(self.model_cfg)}"

    def default_path(self) -> Path:
        return EXPORT_DIR / f"{self.name}.onnx"

    def metadata(self) -> artifact.ModelMeta:
        c, d = self.model_cfg, self.data
        last = {sid: str(t[-1]) for sid, t in zip(d.ids[: artifact.MAX_LISTED_SERIES], d.times, strict=False)}
        return artifact.ModelMeta(
            tsrnn_version=__version__,
            created=artifact.now_iso(),
            cell=c.cell,
            bidirectional=c.bidirectional,
            num_layers=c.num_layers,
            hidden_size=c.hidden_size,
            dropout=c.dropout,
            highway=c.highway,
            seasonal_skip=c.seasonal_skip,
            seasons=tuple(c.seasons),
            season_lags=c.season_lags,
            history_len=c.history_len,
            input_len=c.input_len,
            horizon=c.horizon,
            scaling=c.scaling,
            task=c.task,
            quantiles=tuple(c.quantiles),
            outputs=tuple(c.output_names),
            time_col=d.time_col,
            id_col=d.id_col,
            targets=tuple(d.targets),
            inputs=tuple(d.channels),
            freq=artifact.recorded_freq(d.freq),
            utc=d.utc,
            season=self.season,
            n_series=d.n_series,
            last_timestamps=last,
            train_file=d.path.name,
            seed=self.train_cfg.seed,
            epochs_run=self.result.epochs_run,
            best_epoch=self.result.best_epoch,
            stopped=self.result.stopped,
            loss=self.train_cfg.loss,
            test_metrics=self.scores,
            split={"val_len": self.split.val_len, "test_len": c.horizon},
            torch_platform=platform.machine(),
            backtest=self.backtest,
            calendar=d.known_spec.calendar,
            holidays=d.known_spec.holidays.to_dict() if d.known_spec.holidays else None,
            tz=d.known_spec.tz,
            future=d.known_spec.future,
            known=tuple(d.known_spec.columns),
        )

    def export(self, path: str | os.PathLike[str] | None = None) -> ExportResult:
        # Here, not at the top: loads ONNX Runtime, onnx and torch, which importing this module does not.
        from tsrnn.export.exporter import export_onnx

        windows = np.concatenate([self.split.test[:256], self.split.val[:256]])
        return export_onnx(self.result.model, path or self.default_path(), self.metadata(), windows)


def variant_name(c: ModelConfig) -> str:
    """e.g. lstm2x64, bigru1x32, lstm2x64q3 (three quantiles), lstm1x64dir (direction task)."""
    suffix = "dir" if c.task == "direction" else f"q{len(c.quantiles)}" if c.quantiles else ""
    return f"{'bi' if c.bidirectional else ''}{c.cell}{c.num_layers}x{c.hidden_size}{suffix}"


CYCLE_MIN_ACF = 0.3
"""A cycle counts when the autocorrelation at its period is at least this."""


def detected_cycle(data: SeriesSet) -> int | None:
    """The period, in steps, of a strong cycle that the calendar does not explain (the ~11-year sunspot cycle
    in monthly data): no multiple of the season nor of a year. From the first target of the first series; None
    when there is none. The highest autocorrelation after its first drop below zero, up to a quarter of the
    series."""
    v = data.values[0][:, 0].astype(np.float64)
    n = len(v)
    if n < 40:
        return None
    x = v - v.mean()
    spec = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[: n // 4]
    if acf[0] <= 0:
        return None
    acf = acf / acf[0]
    below = np.flatnonzero(acf < 0)
    if not below.size:
        return None  # a trend or one slow swing: no cycle to see
    lag = int(below[0] + np.argmax(acf[below[0] :]))
    if (
        acf[lag] < CYCLE_MIN_ACF
        or _calendar_bound(lag, data.freq.season)
        or _calendar_bound(lag, data.freq.steps_per_year)
    ):
        return None
    return lag


def _calendar_bound(lag: int, period: float) -> bool:
    """Whether lag is within 3 % (at least one step) of a whole number of periods."""
    if period <= 1:
        return False
    k = max(1, round(lag / period))
    return abs(lag - k * period) <= max(1.0, 0.03 * k * period)


def default_input_len(data: SeriesSet, horizon: int | None = None) -> int:
    """Two seasons or two horizons (the frequency's default), or one detected cycle when the series has a longer
    one that is not calendar-bound and the data is long enough for it."""
    base = data.freq.default_input_len()
    cycle = detected_cycle(data)
    if cycle is None or cycle <= base:
        return base
    return cycle if check_fit(data, cycle, horizon or data.freq.default_horizon()) is None else base


def model_config(
    data: SeriesSet, input_len: int | None = None, horizon: int | None = None, **kwargs: Any
) -> ModelConfig:
    """A ModelConfig sized for the data, with defaults for window (default_input_len) and horizon (by
    frequency)."""
    return ModelConfig(
        input_len=input_len or default_input_len(data, horizon),
        horizon=horizon or data.freq.default_horizon(),
        n_inputs=len(data.channels),
        n_targets=len(data.targets),
        n_known=data.known_spec.n,
        **kwargs,
    )


def check_fit(data: SeriesSet, input_len: int, horizon: int, task: str = "forecast") -> str | None:
    """None when the data is long enough, else a message with the rows needed."""
    shortest = int(data.lengths.min())
    test_len = default_val_len(shortest, 1) if task == "direction" else None
    need = rows_needed(input_len, horizon, default_val_len(shortest, horizon), test_len)
    if shortest >= need:
        return None
    who = "the shortest series has" if data.n_series > 1 else "the series has"
    return (
        f"{who} {shortest} rows; input window {input_len} and horizon {horizon} need {need} "
        f"(window + horizon to train, validation and test blocks)"
    )


def _history_parts(c: ModelConfig) -> str:
    if c.season_lags:
        return f"its window of {c.input_len} and its longest season, {c.seasons[-1]}, before it"
    return "its longest season"


def validate(data: SeriesSet, model_cfg: ModelConfig) -> None:
    """Raise before training when the data cannot serve these settings."""
    problem = check_fit(data, model_cfg.history_len, model_cfg.horizon, model_cfg.task)
    if problem and model_cfg.history_len > model_cfg.input_len:
        problem = problem.replace(f"input window {model_cfg.history_len}", f"history {model_cfg.history_len}")
        raise DataError(
            f"{data.path.name}: history shorter than the longest season: {problem} (the model reads "
            f"{model_cfg.history_len} steps: {_history_parts(model_cfg)}); use shorter --seasons (or --seasons "
            "none) or a "
            "shorter --horizon"
        )
    if problem:
        raise DataError(f"{data.path.name}: {problem}; shorten --input-len or --horizon")


def train_experiment(
    data: SeriesSet,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    season: int | None = None,
    on_epoch: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    holdout: bool = True,
) -> Experiment:
    """Split, fit, and score the model and the baselines on the test block (no test block and no scores
    when holdout is False: a backtest evaluates the model on later data instead)."""
    # Here, not at the top: loads torch, which importing this module does not.
    from tsrnn.model.train import fit, predict_outputs

    if (
        model_cfg.n_inputs != len(data.channels)
        or model_cfg.n_targets != len(data.targets)
        or model_cfg.n_known != data.known_spec.n
    ):
        raise ConfigError("model inputs and targets do not match the data; build the config with model_config()")
    direction = model_cfg.task == "direction"
    test_len = default_val_len(int(data.lengths.min()), 1) if direction else None
    split = split_series(
        data,
        model_cfg.input_len,
        model_cfg.horizon,
        test_len=test_len if holdout else 0,
        history_len=model_cfg.history_len,
    )
    result = fit(model_cfg, train_cfg, split, on_epoch=on_epoch, should_stop=should_stop)
    exp = Experiment(data, split, model_cfg, train_cfg, season or data.freq.season, result)
    if not holdout:
        return exp
    outputs = predict_outputs(result.model, split.test)
    if direction:
        exp.scores = score_direction(split, outputs["probability"][:, 0], data.targets[0])
        return exp
    exp.forecast = outputs["forecast"]
    exp.scores = score_experiment(split, exp.forecast, exp.season, data.targets)
    if model_cfg.quantiles:
        add_interval_scores(
            exp.scores["model"], split, outputs["quantiles"], model_cfg.quantiles, exp.season, data.targets
        )
    return exp


def gap_note(split: Split, data: SeriesSet) -> str | None:
    """What was left out of training for long interpolated gaps, in words (None: nothing)."""
    if not split.left_out:
        return None
    return (
        f"{split.left_out} of {split.windows_total} training and validation windows overlap an interpolated gap "
        f"longer than {split.bridge} steps and were left out (longest: {data.report.longest_gap_where})"
    )


def score_experiment(split: Split, forecast: np.ndarray, season: int, targets: list[str]) -> dict[str, Any]:
    actual = split.test[:, split.input_len :, : len(targets)]
    methods = {"model": forecast, **baselines(split.insample, split.horizon, season)}
    return score_table(actual, methods, split.insample, season, targets)


def add_interval_scores(
    model_scores: dict[str, dict[str, float]],
    split: Split,
    quantiles: np.ndarray,
    levels: tuple[float, ...],
    season: int,
    targets: list[str],
) -> None:
    """Coverage and MSIS of the outermost quantiles, added to each target's metrics."""
    actual = split.test[:, split.input_len :, : len(targets)]
    scale = mase_scale(split.insample, season)
    per = interval_scores(actual, quantiles[..., 0], quantiles[..., -1], levels[-1] - levels[0], scale)
    for i, t in enumerate(targets):
        model_scores[t].update({k: float(v[i]) for k, v in per.items()})


def score_direction(split: Split, prob: np.ndarray, target: str) -> dict[str, Any]:
    """Accuracy on every test window, and the training majority class's."""
    L = split.input_len
    up = split.test[:, L, 0] > split.test[:, L - 1, 0]
    train_up = float(np.mean(split.train[:, L, 0] > split.train[:, L - 1, 0]))
    return {k: {target: v} for k, v in direction_scores(prob, up, train_up).items()}
