"""The best trial as a command line: the `tsrnn train` call that trains its configuration on all the data, with
the data loaded as the tuning loaded it, so a tuning run can be repeated outside tune."""

from __future__ import annotations

import shlex
from typing import Any

from tsrnn.core.config import VARIANT_SPEC, ModelConfig, TrainConfig
from tsrnn.data.loader import SeriesSet


def data_options(data: SeriesSet) -> list[str]:
    """The `tsrnn train` options that load this data as it was loaded: columns and known inputs."""
    out: list[str] = []
    for t in data.targets:
        out += ["--target", t]
    if data.features:
        out += ["--features", *data.features]
    out += ["--time-col", data.time_col]
    if data.id_col:
        out += ["--id-col", data.id_col]
    spec = data.known_spec
    if spec.future:
        out += ["--future", *spec.future]
    out += ["--calendar", ",".join(spec.calendar) or "none"]
    if spec.holidays is not None:
        out += ["--holidays", spec.holidays.spec]
    if spec.tz:
        out += ["--tz", spec.tz]
    if data.freq.sessions is not None:
        out += ["--sessions", "auto"]
    return out


def train_command(
    data_arg: str,
    data: SeriesSet,
    params: dict[str, Any],
    base: ModelConfig,
    train_cfg: TrainConfig,
    season: int | None = None,
) -> str:
    """`tsrnn train ...` that trains the configuration `params` on all the data (every searched value is an
    option), with the tuning's data columns, horizon and training settings."""
    m = VARIANT_SPEC.match(params["variant"])
    assert m is not None
    argv = ["tsrnn", "train", data_arg, *data_options(data), "--cell", m.group(2)]
    if m.group(1):
        argv.append("--bidirectional")
    argv += [
        "--layers",
        str(params["layers"]),
        "--hidden",
        str(params["hidden"]),
        "--input-len",
        str(params["input_len"]),
        "--horizon",
        str(base.horizon),
        "--dropout",
        f"{params['dropout']:g}",
        "--lr",
        f"{params['lr']:g}",
        "--weight-decay",
        f"{params['weight_decay']:g}",
        "--loss",
        params["loss"],
    ]
    if base.scaling != "window":
        argv += ["--scaling", base.scaling]
    if base.highway:
        argv.append("--highway")
    if params.get("seasonal_skip"):
        argv += ["--seasonal-skip", str(params["seasonal_skip"])]
    else:  # as the trial trained: `tsrnn train` would otherwise try the seasons itself
        argv += ["--seasons", str(params.get("seasons") or "none")]
    if base.quantiles:
        argv += ["--quantiles", ",".join(f"{q:g}" for q in base.quantiles)]
    argv += [
        "--epochs",
        str(train_cfg.epochs),
        "--patience",
        str(train_cfg.patience),
        "--batch-size",
        str(train_cfg.batch_size),
        "--seed",
        str(train_cfg.seed),
    ]
    if train_cfg.windows_per_epoch:
        argv += ["--windows-per-epoch", str(train_cfg.windows_per_epoch)]
    if train_cfg.device != "cpu":
        argv += ["--device", train_cfg.device]
    if season:
        argv += ["--season", str(season)]
    return shlex.join(argv)
