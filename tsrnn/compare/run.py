"""Which RNN suits this data? Train every variant on the same budget, backtest them, rank by MASE.

This module runs a comparison from start to end; its parts: `tsrnn.compare.variants` (the variants, and training
and backtesting each), `tsrnn.compare.leaderboard` (the rows, the board and its files), `tsrnn.experiment.plan`
(sharing a budget), `tsrnn.compare.honest` (the winner, a baseline where one beats every network) and
`tsrnn.compare.ensemble` (an ensemble row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsrnn.compare.leaderboard import Leaderboard as Leaderboard
from tsrnn.compare.leaderboard import Row as Row
from tsrnn.compare.leaderboard import budget_words as budget_words
from tsrnn.compare.leaderboard import check_folder, clear_folder, interrupted_words, rank_key, write_leaderboard
from tsrnn.compare.leaderboard import format_markdown as format_markdown
from tsrnn.compare.leaderboard import format_rows as format_rows
from tsrnn.compare.leaderboard import format_text as format_text
from tsrnn.compare.references import check_available, reference_rows
from tsrnn.compare.request import CompareRequest
from tsrnn.compare.variants import ReportFn, RetrainStoppedError, retrain_best, train_variants
from tsrnn.compare.variants import Variant as Variant
from tsrnn.compare.variants import parse_variants as parse_variants
from tsrnn.core.budget import Deadline
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError
from tsrnn.core.paths import compare_dir, free_path
from tsrnn.data.loader import SeriesSet
from tsrnn.data.seasons import data_seasons
from tsrnn.data.windows import split_series
from tsrnn.evaluate.backtest import Folds, baseline_forecasts, fold_scores, make_folds, summarise
from tsrnn.evaluate.metrics import baseline_kind
from tsrnn.evaluate.protocol import Protocol
from tsrnn.experiment.pipeline import validate

if TYPE_CHECKING:
    from tsrnn.experiment.season_choice import SeasonChoice

BEST_CHOICES = ("auto", "network")
"""What compare exports as the best: auto, the row with the lowest MASE (a baseline where one beats every
network: `tsrnn.compare.honest`); network, the best network whatever the baselines score."""


@dataclass
class CompareProgress:
    """Sent before each variant starts (epoch None) and after each of its epochs."""

    index: int
    total: int
    variant: str
    epoch: Any = None
    elapsed: float = 0.0
    """Seconds since the comparison started."""
    remaining: float | None = None
    """Seconds left of its budget (None without one)."""
    note: str | None = None
    """What a training was given (epochs, time), as it starts."""
    estimate: str | None = None
    """The run's estimate, sent once before the first variant trains."""
    final: bool = False
    """The best variant's retraining on all the data (after every variant)."""


ProgressFn = Callable[[CompareProgress], None]


def run_compare(
    request: CompareRequest,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Leaderboard:
    """Backtest every variant of `request` and the baselines on the same folds; export the best (`best`: auto, the
    row with the lowest MASE, a baseline where one beats every network; network, the best variant).

    With a `deadline` (limited or not) the run first measures a short warm-up of every variant and reports its
    estimate; a limited one is shared among the trainings (`tsrnn.experiment.plan`), each stopping at its share.

    With `ensemble` K >= 2, the mean (or median) of the best K variants takes its row too (`tsrnn.compare.ensemble`).

    `seasons` (None: from the frequency, kept where the data before the first origin shows them,
    `tsrnn.data.seasons.data_seasons`) give one seasonal-naive row each ('seasonal_naive_48', 'seasonal_naive_336'; the
    plain 'seasonal_naive' when there is one season); MASE stays scaled by `season`, the main season.

    `try_seasons` (the data's seasons, when --seasons was left out; None: `base` as it is): a GRU is trained
    briefly with and without them on the data before the first origin, and every variant uses them when they
    lower its validation loss (`tsrnn.experiment.season_choice`; the choice is in the protocol).

    `references` ('mstl', 'ets'; statsforecast) add statistical models scored on the same folds before the first
    training (their time counts in the budget): rows of kind 'reference', ranked with the others for the eye but
    never the winner and never exported (`tsrnn.compare.references`).

    A stop request (`should_stop`, checked at every optimiser step) or Ctrl+C inside a training stops the whole
    run: the variants complete so far are ranked, the one whose training was cut is neither ranked nor kept, the
    others are not started, nothing is retrained or exported and no ensemble is built; the leaderboard is
    written as ever, marked `interrupted` ('interrupted after 2 of 7 variants: ...').

    Before the first training, the leaderboard and the models of an earlier run in out_dir are removed, and the
    leaderboard is written last: the folder lists exactly the models it holds, whenever the run stops."""
    data, variants, base, train_cfg = request.data, list(request.variants), request.base, request.train_cfg
    folds, refit, deadline, export_best = request.folds, request.refit, request.deadline, request.export_best
    ensemble, references = request.ensemble, request.references
    _check(variants, base, request.best, ensemble, request.ensemble_method)
    check_available(references)  # a missing statsforecast is refused before any work
    season = request.season or data.freq.season
    out_dir = request.out_dir or free_path(compare_dir(data.path.stem))  # an earlier run's folder is kept
    check_folder(out_dir)  # the user's own models in out_dir/models are never replaced
    choice = None
    if request.try_seasons is not None:
        base, choice = _settle_seasons(data, base, train_cfg, folds, request.try_seasons, deadline, should_stop)
        request = replace(request, base=base)
    fold_data = make_folds(data, base.history_len, base.horizon, folds)
    validate(data.drop_last(folds * base.horizon), base)
    seasons = data_seasons(data.drop_last(folds * base.horizon), request.seasons)
    forecasts = baseline_forecasts(fold_data, season, seasons)
    rows = [_baseline_row(name, fc, fold_data, season) for name, fc in forecasts.items()]
    report = _reporter(on_progress, len(variants), deadline)
    reference_record = _references(references, fold_data, seasons, season, rows, report)
    configs = [v.config(base) for v in variants]
    plan = _plan(deadline, data, variants, configs, train_cfg, folds, refit, export_best) if deadline else None
    estimate = plan.describe(_what(variants, folds, refit, export_best)) if plan is not None else None
    if estimate and variants:
        report(0, variants[0].name, estimate=estimate)
    clear_folder(out_dir)
    trained, skipped, cut = train_variants(
        variants, configs, train_cfg, data, fold_data, season, refit, out_dir, report, should_stop, plan
    )
    rows += trained
    models = [r for r in rows if r.kind == "model"]
    rows.sort(key=lambda r: (*rank_key(r.metrics), r.kind))
    best_row = min(models, key=lambda r: rank_key(r.metrics)) if models else None
    protocol = replace(
        _protocol(request, season, estimate, skipped, fold_data),
        seasons=tuple(seasons),
        baseline_seasons=tuple(baseline_kind(n, season)[1] for n in forecasts if n.startswith("seasonal_naive")),
        references=reference_record if references else None,
        season_choice=choice.to_dict() if choice is not None else None,
    )
    board = Leaderboard(rows, protocol, best_row.name if best_row else "")
    stopped = cut is not None or _stopping(should_stop)
    ran = {r.name for r in trained} | set(skipped) | {cut}
    not_started = [v.name for v in variants if v.name not in ran]

    def mark(*lost: str) -> None:
        words = interrupted_words(len(trained), len(variants), cut, not_started, list(lost))
        board.protocol = replace(board.protocol, interrupted=words)

    if stopped:
        mark(*(["nothing was exported"] if export_best else []), *_no_ensemble(ensemble))
    # Here, not at the top: loads onnx and torch, which importing this module does not.
    from tsrnn.compare.honest import settle_winner

    def export_network() -> Path | None:
        if best_row is None:
            return None
        return retrain_best(
            best_row, variants, base, train_cfg, data, season, board, plan, report, should_stop, out_dir
        )

    settle = (board, data, base, season, fold_data, out_dir, request.best)
    try:
        settle_winner(*settle, export_best and not stopped, export_network)
    except RetrainStoppedError as exc:  # a stop during the retraining: the board as if nothing was to be exported
        stopped = True
        mark(f"{exc} was not retrained on all the data and nothing was exported", *_no_ensemble(ensemble))
        settle_winner(*settle, False, export_network)
    if ensemble and not stopped and not _stopping(should_stop):
        from tsrnn.compare.ensemble import add_ensemble_row

        add_ensemble_row(board, ensemble, request.ensemble_method, fold_data, season, out_dir)
    elif not stopped and _stopping(should_stop):  # the stop came after the last training
        mark(*_no_ensemble(ensemble))
    for r in rows:
        r.trained = None  # the trained experiments served the ensemble; the rows keep their model files
    if deadline is not None:
        board.protocol = replace(board.protocol, elapsed_s=round(deadline.elapsed(), 1))
    board.files = write_leaderboard(board, out_dir)
    return board


def _references(
    names: tuple[str, ...],
    folds: Folds,
    seasons: tuple[int, ...],
    season: int,
    rows: list[Row],
    report: ReportFn,
) -> dict[str, Any]:
    """Fit the references on the folds and add their rows; return what the protocol records of them."""
    if not names:
        return {}

    report(0, "references", note=f"fitting {', '.join(names)} on {folds.folds} folds x {folds.n_series} series")
    found, record = reference_rows(names, folds, seasons, season)
    rows += found
    return record


def _stopping(should_stop: Callable[[], bool] | None) -> bool:
    return bool(should_stop and should_stop())


def _no_ensemble(k: int) -> list[str]:
    return [f"no ensemble-{k} was built"] if k else []


def _check(variants: list[Variant], base: ModelConfig, best: str, ensemble: int, method: str) -> None:
    """Refuse what compare cannot run before any training."""
    if ensemble:
        # Here, not at the top: loads torch, which importing this module does not.
        from tsrnn.compare.ensemble import check_ensemble

        check_ensemble(ensemble, method, len(variants))
    if base.task != "forecast":
        raise ConfigError("compare ranks forecasting models; the direction task is not compared")
    if best not in BEST_CHOICES:
        raise ConfigError(f"unknown --best '{best}': choose one of {', '.join(BEST_CHOICES)}")


def _reporter(on_progress: ProgressFn | None, total: int, deadline: Deadline | None) -> ReportFn:
    """report(index, variant, epoch, note, estimate, final): a CompareProgress to on_progress, if any."""

    def report(
        i: int, name: str, epoch: Any = None, note: str | None = None, estimate: str | None = None, final: bool = False
    ) -> None:
        if on_progress:
            on_progress(
                CompareProgress(
                    i,
                    total,
                    name,
                    epoch,
                    deadline.elapsed() if deadline else 0.0,
                    deadline.remaining() if deadline and deadline.limited else None,
                    note,
                    estimate,
                    final,
                )
            )

    return report


def _what(variants: list[Variant], folds: int, refit: bool, export_best: bool) -> str:
    n = f"{len(variants)} variant{'s' if len(variants) != 1 else ''}"
    runs = f"{n} x {folds} folds (refit at each)" if refit else f"{n} (one training each, {folds} folds)"
    return runs + (" and retraining the best" if export_best else "")


def _plan(
    deadline: Deadline,
    data: SeriesSet,
    variants: list[Variant],
    configs: list[ModelConfig],
    train_cfg: TrainConfig,
    folds: int,
    refit: bool,
    export_best: bool,
) -> Any:
    """Measure every variant's warm-up on the data before the first origin and plan the budget."""
    # Here, not at the top: loads torch, which importing this module does not.
    from tsrnn.experiment.plan import plan_run

    base = configs[0] if configs else None
    if base is None:
        return None
    split = split_series(
        data.drop_last(folds * base.horizon), base.input_len, base.horizon, test_len=0, history_len=base.history_len
    )
    return plan_run(
        deadline,
        [(v.name, c) for v, c in zip(variants, configs, strict=True)],
        train_cfg,
        split,
        runs=folds if refit else 1,
        final=export_best,
    )


def _baseline_row(name: str, forecast: np.ndarray, folds: Folds, season: int) -> Row:
    return Row(name, "baseline", summarise(fold_scores(folds, forecast, season)), label=name.replace("_", " "))


def _protocol(
    request: CompareRequest, season: int, estimate: str | None, skipped: list[str], fold_data: Folds
) -> Protocol:
    """How the comparison ran, as the leaderboard and the exported model record it."""
    base, train_cfg, folds, deadline = request.base, request.train_cfg, request.folds, request.deadline
    return Protocol.of(
        "compare",
        request.data,
        base,
        train_cfg,
        season,
        folds,
        input_len=base.input_len,
        refit=request.refit,
        hidden_size=base.hidden_size,
        lr=train_cfg.lr,
        budget_s=deadline.seconds if deadline else None,
        windows_per_epoch=train_cfg.windows_per_epoch,
        estimate=estimate,
        skipped=tuple(skipped),
        training=(
            "at each origin, on the data before it"
            if request.refit
            else f"once, on the data before the first origin (the last {folds} x {base.horizon} steps held out)"
        ),
        unscored_fold_windows=0 if fold_data.valid is None else int((~fold_data.valid).sum()),
        ensemble=request.ensemble,
        ensemble_method=request.ensemble_method,
    )


def _settle_seasons(
    data: SeriesSet,
    base: ModelConfig,
    train_cfg: TrainConfig,
    folds: int,
    candidates: tuple[int, ...],
    deadline: Deadline | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[ModelConfig, SeasonChoice]:
    """`base` with the seasons a brief GRU with and without them says help on the data before the first origin."""
    from tsrnn.experiment.season_choice import choose_seasons, probe_seconds

    probe = replace(base, cell="gru", num_layers=1, bidirectional=False, seasons=(), seasonal_skip=0)
    seconds = probe_seconds(deadline.remaining() if deadline is not None and deadline.limited else None)
    ahead = data.drop_last(folds * base.horizon)
    choice = choose_seasons(ahead, probe, train_cfg, candidates, seconds, holdout=False, should_stop=should_stop)
    return replace(base, seasons=choice.seasons), choice
