"""Tuning's search space: which cells, sizes, windows and training settings a trial may take, and how a sampled
configuration becomes the model and training configurations it trains with.

Cell and direction (restricted by `variants`), layers 1-3, hidden size 16/32/64/128, input window (multiples of
the horizon and of the season that the data can serve), learning rate (log, 1e-4..1e-2), dropout 0..0.3 (only
with more than one layer), weight decay (off, or log 1e-6..1e-3), the loss (mse, mae, huber) and, for seasonal
data, the seasonal skip (on or off, where the window holds a season) and the seasonal profile of the data's
seasons (`tsrnn.core.config.season_lags`; on or off, where the data holds the window and the longest season).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tsrnn.core.config import LOSSES, VARIANT_SPEC, ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, DataError
from tsrnn.data.loader import SeriesSet
from tsrnn.evaluate.backtest import make_folds
from tsrnn.experiment.pipeline import check_fit, default_input_len

if TYPE_CHECKING:
    import optuna

TUNE_VARIANTS = "rnn,gru,lstm,birnn,bigru,bilstm"
"""Cells and directions searched when --variants is not given."""
HIDDEN_SIZES = (16, 32, 64, 128)
MAX_LAYERS = 3
LR_RANGE = (1e-4, 1e-2)
DROPOUT_MAX = 0.3
WEIGHT_DECAY_RANGE = (1e-6, 1e-3)


def tune_variants(text: str | None) -> list[str]:
    """'gru,bilstm' -> the cells and directions searched ('bigru' ...); a layer suffix is dropped (tune searches
    the layers itself)."""
    out: list[str] = []
    for token in (t.strip().lower() for t in (text or TUNE_VARIANTS).split(",") if t.strip()):
        m = VARIANT_SPEC.match(token)
        if not m:
            raise ConfigError(f"unknown variant '{token}': write [bi]rnn|gru|lstm, e.g. gru, bilstm")
        name = f"{m.group(1) or ''}{m.group(2)}"
        if name not in out:
            out.append(name)
    if not out:
        raise ConfigError("--variants is empty: give at least one, e.g. gru,lstm")
    return out


def window_choices(data: SeriesSet, horizon: int, season: int, folds: int) -> list[int]:
    """Input windows searched: 1-4 horizons, 1-3 seasons and the default window, those the data can serve with
    this many folds."""
    held_out = data.drop_last(folds * horizon)
    wanted = {horizon * k for k in range(1, 5)} | {default_input_len(data, horizon)}
    if season > 1:
        wanted |= {season * k for k in range(1, 4)}
    out = []
    for L in sorted(x for x in wanted if x >= 2):
        try:
            make_folds(data, L, horizon, folds)
        except DataError:
            continue
        if check_fit(held_out, L, horizon) is None:
            out.append(L)
    if not out:
        raise DataError(
            f"{data.path.name}: no input window of one or more horizons ({horizon} steps) fits "
            f"{folds} folds of this data; use fewer --folds or a shorter --horizon"
        )
    return out


def season_windows(
    data: SeriesSet, windows: list[int], horizon: int, seasons: tuple[int, ...], folds: int
) -> list[int]:
    """The windows of `windows` with which a model of `seasons` fits the data and its folds (it reads the window
    and the longest season before it); [] without seasons."""
    if not seasons:
        return []
    held_out = data.drop_last(folds * horizon)
    out = []
    for L in windows:
        try:
            make_folds(data, L + seasons[-1], horizon, folds)
        except DataError:
            continue
        if check_fit(held_out, L + seasons[-1], horizon) is None:
            out.append(L)
    return out


def suggest(
    trial: optuna.Trial,
    variants: list[str],
    windows: list[int],
    season: int = 1,
    seasons: tuple[int, ...] = (),
    with_seasons: list[int] | None = None,
) -> dict[str, Any]:
    """One configuration from the search space; the values are rounded as they are written on a command line.
    `seasons` are tried (on or off) with the windows `with_seasons`."""
    variant = trial.suggest_categorical("variant", variants)
    layers = trial.suggest_int("layers", 1, MAX_LAYERS)
    hidden = trial.suggest_categorical("hidden", list(HIDDEN_SIZES))
    input_len = trial.suggest_categorical("input_len", windows)
    lr = float(f"{trial.suggest_float('lr', *LR_RANGE, log=True):.3g}")
    dropout = trial.suggest_float("dropout", 0.0, DROPOUT_MAX, step=0.05) if layers > 1 else 0.0
    decay = 0.0
    if trial.suggest_categorical("weight_decay_on", [False, True]):
        decay = float(f"{trial.suggest_float('weight_decay', *WEIGHT_DECAY_RANGE, log=True):.2g}")
    loss = trial.suggest_categorical("loss", list(LOSSES))
    profile = ""  # as on a command line: "" or "24,168"
    if seasons and input_len in (with_seasons or []) and trial.suggest_categorical("seasons_on", [False, True]):
        profile = ",".join(map(str, seasons))
    skip = 0
    if (
        not profile
        and season > 1
        and season <= input_len
        and trial.suggest_categorical("seasonal_skip_on", [False, True])
    ):
        skip = season
    return {
        "variant": variant,
        "layers": layers,
        "hidden": hidden,
        "input_len": input_len,
        "lr": lr,
        "dropout": round(dropout, 2),
        "weight_decay": decay,
        "loss": loss,
        "seasonal_skip": skip,
        "seasons": profile,
    }


def configs(params: dict[str, Any], base: ModelConfig, train_cfg: TrainConfig) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configurations of one sampled configuration, the rest taken from `base`."""
    m = VARIANT_SPEC.match(params["variant"])
    assert m is not None
    model_cfg = replace(
        base,
        cell=m.group(2),
        bidirectional=bool(m.group(1)),
        num_layers=params["layers"],
        hidden_size=params["hidden"],
        input_len=params["input_len"],
        dropout=params["dropout"],
        seasonal_skip=params.get("seasonal_skip", 0),
        seasons=tuple(int(m) for m in str(params.get("seasons") or "").split(",") if m),
    )
    return model_cfg, replace(train_cfg, lr=params["lr"], weight_decay=params["weight_decay"], loss=params["loss"])


def search_space(
    names: list[str], windows: list[int], season: int = 1, seasons: tuple[int, ...] = ()
) -> dict[str, Any]:
    """The space searched, as the protocol records it."""
    return {
        "variants": names,
        "layers": [1, MAX_LAYERS],
        "hidden": list(HIDDEN_SIZES),
        "input_len": windows,
        "lr": list(LR_RANGE),
        "dropout": [0.0, DROPOUT_MAX],
        "weight_decay": [0.0, *WEIGHT_DECAY_RANGE],
        "loss": list(LOSSES),
        "seasonal_skip": [0, season] if season > 1 else [0],
        "seasons": ["", ",".join(map(str, seasons))] if seasons else [""],
    }
