"""Options shared by the commands that read a CSV and train (data, calendar, model, training, time budget,
ensemble), their value parsers, and the configs and data the parsed options describe."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from tsrnn.core.config import DEVICES, LOSSES, SCALINGS, DataConfig, ModelConfig, TrainConfig

if TYPE_CHECKING:
    from tsrnn.data.seriesset import SeriesSet
    from tsrnn.experiment.season_choice import SeasonChoice

EPILOG_DEFAULTS = """\
defaults when not given:
  --input-len   2 seasons or 2 horizons, whichever is longer (monthly: 24, weekly: 104, 30 min: 96);
                one cycle instead where the series has a longer cycle the calendar does not explain
                (monthly sunspots: 125)
  --horizon     by frequency: 30 min 48, hourly 24, daily 14, business days 10, weekly 13,
                monthly 12, quarterly 8, yearly 5
  --season      by frequency: 30 min 48, hourly 24, daily 7, business days 5, weekly 52,
                monthly 12, quarterly 4, yearly 1
  DATA may be 'demo' for the bundled monthly airline passengers file.
"""


def add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="COL",
        help="column to forecast (repeatable; default: the only numeric column)",
    )
    g.add_argument("--features", nargs="+", default=[], metavar="COL", help="extra numeric input columns, or 'all'")
    g.add_argument("--time-col", metavar="COL", help="time column (default: found by name or by parsing)")
    g.add_argument("--id-col", metavar="COL", help="series id column for long format (default: id, unique_id, series)")
    g.add_argument(
        "--sessions",
        choices=("auto", "none"),
        default="auto",
        help="auto: intraday data observed only while something is open (opening hours, trading "
        "sessions) is kept on its open slots, and forecast from the next opening; none: every step "
        "of the day, closed hours interpolated (default: auto)",
    )
    k = p.add_argument_group("calendar (inputs known in advance, computed from the timestamps)")
    k.add_argument(
        "--calendar",
        default="auto",
        metavar="auto|none|LIST",
        help="cyclic calendar features for the window and the horizon: auto (by frequency: sub-daily "
        "hour,dow; daily dow,doy; weekly woy; monthly month; quarterly quarter; less those whose "
        "whole cycle the input window already shows), none, or a list of hour, dow, "
        "dom, doy, woy, month, quarter (default: auto)",
    )
    k.add_argument(
        "--holidays",
        metavar="CC[:SUB]",
        help="public-holiday flags (holiday, day before, day after) for a country and optional subdivision "
        "(ISO codes: AU:VIC, US, DE:BY); the dates are stored in the model",
    )
    k.add_argument(
        "--future",
        nargs="+",
        default=[],
        metavar="COL",
        help="numeric columns known in advance (a promotion flag, a planned price, a weather forecast): "
        "read for the window and every step of the horizon; at forecast time their horizon values "
        "come from the rows after the last observed target (target empty) or from --future-csv",
    )
    k.add_argument(
        "--tz",
        metavar="ZONE",
        help="the data's IANA time zone for the calendar and holidays (e.g. Australia/Melbourne): UTC timestamps "
        "('Z' or an offset) are converted to its local time; timestamps without either are its local times "
        "already and are used as written",
    )


def add_model_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=int, help="units per layer and direction (default: 64)")
    m.add_argument("--dropout", type=float, default=0.0, help="dropout between layers (default: 0)")
    m.add_argument(
        "--highway",
        action="store_true",
        help="add a linear map from each target's window to its horizon beside the network (it can "
        "copy the last season; the network learns what differs)",
    )
    m.add_argument(
        "--seasonal-skip",
        nargs="?",
        const="season",
        type=_season_or_word,
        metavar="M",
        help="add the window's last season (M steps, default the data's season) to the network's output: "
        "the network starts from seasonal naive and learns what differs (strong on half-hourly demand)",
    )
    m.add_argument(
        "--seasons",
        type=_seasons_arg,
        default=None,
        metavar="auto|none|LIST",
        help="seasons in steps, e.g. 48,336: the model mixes a seasonal profile from the values one season "
        "lag before every step (the same slot on each of the last 7 days and a week before, for 48,336), read "
        "from the history however long the season is; the network reads the window less its profile and "
        "corrects the horizon's. auto: from the frequency (sub-daily: a day and a week; daily: a week, and a "
        "year with two years of data; weekly 52; monthly 12; quarterly 4), kept where the data shows them, "
        "used when one is longer than the input window; none: off (default: auto where two brief trainings "
        "say they lower the validation loss; compare's seasonal-naive rows use every season the data shows)",
    )
    m.add_argument("--input-len", type=int, help="input window length in steps (default: see below)")
    m.add_argument("--horizon", type=int, help="steps forecast at once (default: see below)")
    m.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="window",
        help="window: each input window normalised by its own mean/std (default, suits trends "
        "and many series of different size); global: training-part statistics",
    )
    m.add_argument(
        "--quantiles",
        type=_quantiles,
        default=(),
        metavar="Q,Q,...",
        help="also forecast these quantiles, e.g. 0.1,0.5,0.9 (pinball loss, never crossing)",
    )
    return m


def _season_or_word(text: str) -> int | str:
    if text == "season":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a season in steps (e.g. 48)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the season must be at least 1 step, got {value}")
    return value


def seasonal_skip(args: argparse.Namespace, data: SeriesSet) -> int:
    """--seasonal-skip as a number of steps: 0 when off, the data's season (or --season) when given alone."""
    if args.seasonal_skip is None:
        return 0
    return (args.season or data.freq.season) if args.seasonal_skip == "season" else int(args.seasonal_skip)


def _seasons_arg(text: str) -> tuple[int, ...] | str:
    """--seasons: 'auto' kept as the word (the option left out means off), else `parse_seasons`."""
    # Here, not at the top: loads numpy, which `tsrnn --help` does not need.
    from tsrnn.data.seasons import parse_seasons

    parsed = parse_seasons(text)
    return "auto" if parsed is None else parsed


def seasons_option(args: argparse.Namespace) -> tuple[int, ...] | None:
    """--seasons for compare's seasonal-naive rows: None (every season the data shows) unless a list or none
    was given."""
    option = getattr(args, "seasons", None)
    return None if option is None or option == "auto" else tuple(option)


def model_seasons(args: argparse.Namespace, data: SeriesSet, spare: int = 0) -> tuple[int, ...]:
    """--seasons as given, as a tuple for ModelConfig.seasons: a list or none as given; auto: the frequency's
    seasons that the data shows (`auto_seasons`); left out: () until `settle_seasons` asks the validation block."""
    option = getattr(args, "seasons", None)
    if option is None:
        return ()
    if option != "auto":
        return tuple(option)
    from tsrnn.experiment.season_choice import beyond

    found = auto_seasons(args, data, spare)
    return found if beyond(found, args.input_len or _default_input_len(args, data)) else ()


def auto_seasons(args: argparse.Namespace, data: SeriesSet, spare: int = 0) -> tuple[int, ...]:
    """The data's seasons a model can use (`season_choice.auto_candidates`); () with --seasonal-skip (the skip
    is the one season) or for the direction task."""
    # Here, not at the top: loads polars and the pipeline, which `tsrnn --help` and the argument checks do not need.
    from tsrnn.experiment.season_choice import auto_candidates

    if getattr(args, "seasonal_skip", None) is not None or getattr(args, "task", "forecast") != "forecast":
        return ()
    input_len = args.input_len or _default_input_len(args, data)
    return auto_candidates(data, input_len, args.horizon or data.freq.default_horizon(), spare)


def _default_input_len(args: argparse.Namespace, data: SeriesSet) -> int:
    from tsrnn.experiment.pipeline import default_input_len

    return default_input_len(data, args.horizon)


def settle_seasons(
    args: argparse.Namespace,
    data: SeriesSet,
    cfg: ModelConfig,
    tc: TrainConfig,
    budget_left: float | None,
    spare: int = 0,
    probe: ModelConfig | None = None,
) -> tuple[ModelConfig, SeasonChoice]:
    """The seasons of `cfg` when --seasons was left out: the data's seasons (`auto_seasons`) where the validation
    block says they help (`tsrnn.experiment.season_choice`), trying `probe` (default `cfg`) with and without them;
    as asked otherwise. `spare`: rows at the end kept for a backtest, never read."""
    from tsrnn.data.seasons import describe_seasons
    from tsrnn.experiment.season_choice import SeasonChoice, beyond, choose_seasons, probe_seconds

    if getattr(args, "seasons", None) is not None or cfg.seasonal_skip or cfg.task != "forecast":
        return cfg, SeasonChoice(cfg.seasons, cfg.seasons, "asked")
    candidates = auto_seasons(args, data, spare)
    seconds = probe_seconds(budget_left)
    base = probe or cfg
    if beyond(candidates, base.input_len) and not getattr(args, "json", False):
        print(
            f"trying the seasons {describe_seasons(candidates, data.freq)}: two brief trainings of at most "
            f"{seconds:.0f} s, with and without (--seasons LIST or none decides instead)",
            file=sys.stderr,
        )
    choice = choose_seasons(data.drop_last(spare) if spare else data, base, tc, candidates, seconds, holdout=not spare)
    return replace(cfg, seasons=choice.seasons), choice


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        return tuple(sorted(float(x) for x in text.split(",") if x.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None


def add_training_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=100, help="maximum epochs (default: 100)")
    t.add_argument("--batch-size", type=int, default=32, help="windows per step (default: 32)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 0.001)")
    t.add_argument(
        "--patience", type=int, default=15, help="early-stopping patience in epochs (default: 15; compare: 10)"
    )
    t.add_argument("--loss", choices=LOSSES, default="mse", help="loss on scaled values (default: mse)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay (default: 0)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--device", choices=DEVICES, default="cpu", help="training device (default: cpu)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    t.add_argument("--season", type=int, help="seasonal period for MASE and seasonal naive (default: see below)")


def add_ensemble_options(p: argparse.ArgumentParser, what: str) -> None:
    e = p.add_argument_group("ensemble")
    e.add_argument(
        "--ensemble",
        type=int,
        default=0,
        metavar="K",
        help=f"also rank the mean of the best K {what}' forecasts, scored on the same folds and exported "
        "as one .onnx file (default: 0, none)",
    )
    e.add_argument(
        "--ensemble-method",
        choices=("mean", "median"),
        default="mean",
        help="how the ensemble combines its members' forecasts (default: mean)",
    )


def add_budget_options(p: argparse.ArgumentParser, budget: str | None, windows: int | None) -> None:
    t = p.add_argument_group("time budget")
    t.add_argument(
        "--budget",
        default=budget,
        metavar="DURATION",
        help="time for the whole run, e.g. 90s, 10m, 1h: a short warm-up estimates it first, epochs are "
        "planned to fit and training stops on time with the best weights so far; 'none' for no limit "
        f"(default: {budget or 'none'})",
    )
    t.add_argument(
        "--windows-per-epoch",
        type=_windows,
        default=windows,
        metavar="N",
        help="sample at most N training windows per epoch, a new sample each epoch; 'all' for every "
        f"window (default: {windows or 'all'})",
    )


def _windows(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of windows or 'all'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}': give at least 1 window, or 'all'")
    return value


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        seed=args.seed,
        device=args.device,
        loss=args.loss,
        threads=args.threads,
        weight_decay=args.weight_decay,
        windows_per_epoch=getattr(args, "windows_per_epoch", None),
    )


def load_data(args: argparse.Namespace) -> Any:
    """The CSV's series with the known inputs that --calendar, --holidays and --tz ask for."""
    # Here, not at the top: loads polars and numpy, which importing this module (and `tsrnn --help`) does not.
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import default_input_len
    from tsrnn.timeline.known import choose_known

    data = load_series(args.data, data_config(args))
    input_len = args.input_len or default_input_len(data, args.horizon)
    return data.with_known(
        choose_known(data.freq, data.times, args.calendar, args.holidays, args.tz, data.future_names, input_len)
    )


def data_config(args: argparse.Namespace) -> DataConfig:
    features: tuple[str, ...] | Literal["all"] = "all" if args.features == ["all"] else tuple(args.features)
    return DataConfig(
        time_col=args.time_col,
        targets=tuple(args.target),
        features=features,
        id_col=args.id_col,
        sessions=args.sessions,
        future=tuple(args.future),
    )
