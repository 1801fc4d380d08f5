"""Budgeted training runs: a short measured warm-up, the estimate shown before the real work, and each
training's share of what is left of the budget.

A run (one `tsrnn train`, or the trainings of a `tsrnn compare`) is a list of trainings. Before the first one
starts, `measure` times a few optimiser steps and one validation batch of each model on its real windows, which
gives the seconds one epoch takes. When a training starts, `RunPlan.config_for` gives it its share of what is
left: the time left, less the expected overhead (export, backtest) of every training still to run, split so that
a training that needs less than an equal share (its epoch cap reached sooner) leaves the rest to the others. The
share becomes the training's `TrainConfig.time_limit` (fit stops there, within the epoch, keeping the best
weights); the epochs expected to fit in it are shown, the configured epoch cap stays. After each training the
plan compares the measured epoch time with the warm-up's and corrects the estimates of the trainings still to
run."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from tsrnn.core.budget import Deadline, format_seconds
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.data.loader import SeriesSet
from tsrnn.data.windows import Split, default_val_len, split_series
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.model.train import TrainResult, epoch_steps, make_loss, resolve_device, set_threads

WARMUP_STEPS = 2
"""Timed optimiser steps per model at least, after UNTIMED_STEPS that pay for first-call costs; more until
WARMUP_S have passed (at most MAX_WARMUP_STEPS): on a busy machine one step may take 2 ms or 200 ms, and the
mean over a fraction of a second is what an epoch will see."""
UNTIMED_STEPS = 1
WARMUP_S = 0.2
MAX_WARMUP_STEPS = 40
OVERHEAD_S = 1.0
"""Seconds a training is expected to cost besides its epochs (export, parity check, backtest) until measured."""
END_RESERVE_S = 0.5
"""Seconds kept for what follows the last training (leaderboard files, a baseline's export)."""
MIN_SHARE_S = 0.2
"""The least time a training is given: one optimiser step and one validation pass, however late."""


@dataclass
class Warmup:
    """What a few measured steps say about one model's epochs."""

    name: str
    step_s: float
    """Seconds of one optimiser step (forward, backward, update) on a batch of real windows."""
    val_s: float
    """Seconds of one validation pass over every validation window."""
    steps: int
    """Optimiser steps in one epoch."""

    @property
    def epoch_s(self) -> float:
        return self.steps * self.step_s + self.val_s


def measure(
    name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, split: Split, steps: int = WARMUP_STEPS
) -> Warmup:
    """Time `steps` optimiser steps and one validation batch of a fresh model on the split's windows (the model
    is thrown away; fit seeds its own)."""
    set_threads(train_cfg.threads)
    if not len(split.train):
        return Warmup(name, 0.0, 0.0, 1)  # fit says what is wrong
    device = resolve_device(train_cfg.device)
    model = RecurrentForecaster(model_cfg, split.mean, split.std, split.known_mean, split.known_std).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
    loss_fn = make_loss(model_cfg, train_cfg)
    batch = train_cfg.batch_size
    train = torch.from_numpy(split.train[: batch * 8]).to(device)
    times: list[float] = []
    model.train()
    i = 0
    while len(times) < steps or (sum(times) < WARMUP_S and len(times) < MAX_WARMUP_STEPS):
        start = (i * batch) % max(1, len(train) - batch + 1)
        x = train[start : start + batch]
        t0 = time.perf_counter()
        pred, target = model.scaled_loss_inputs(x)
        loss = loss_fn(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        if i >= UNTIMED_STEPS:
            times.append((time.perf_counter() - t0) * batch / max(1, len(x)))
        i += 1
    model.eval()
    val = torch.from_numpy(split.val[: batch * 4]).to(device)
    with torch.inference_mode():
        if len(val):
            model.scaled_loss_inputs(val[:2])  # the first call of a cell in inference mode loads its kernels
        t0 = time.perf_counter()
        if len(val):
            model.scaled_loss_inputs(val)
    val_s = (time.perf_counter() - t0) * len(split.val) / max(1, len(val))
    return Warmup(name, statistics.mean(times), val_s, epoch_steps(len(split.train), train_cfg))


def waterfill(total: float, needs: list[float]) -> list[float]:
    """Split `total` seconds among trainings that need `needs`: each gets what it needs or an equal share of what
    the smaller needs leave, whichever is less."""
    out = [0.0] * len(needs)
    left = max(0.0, total)
    for k, i in enumerate(sorted(range(len(needs)), key=needs.__getitem__)):
        out[i] = min(needs[i], left / (len(needs) - k))
        left -= out[i]
    return out


@dataclass
class Training:
    """One training of the run: a model, and how many times it trains (one per origin when refitting)."""

    name: str
    warmup: Warmup
    runs: int = 1


@dataclass
class Share:
    """What one training was given."""

    seconds: float | None
    """Its time limit (None without a budget)."""
    epochs: int
    """The epochs expected to fit in it (at most the configured cap; the cap itself without a budget)."""

    def describe(self) -> str:
        if self.seconds is None:
            return f"up to {self.epochs} epochs"
        return f"about {self.epochs} epochs in {format_seconds(self.seconds)}"


@dataclass
class RunPlan:
    """The trainings of a run, their measured epoch times and the budget they share."""

    deadline: Deadline
    trainings: list[Training]
    train_cfg: TrainConfig
    final: bool = False
    """One more training at the end (compare retrains the best variant on all the data)."""
    overhead_s: float = OVERHEAD_S
    ratios: list[float] = field(default_factory=list)
    """Measured epoch seconds over the warm-up's estimate, one per finished training."""
    overheads: list[float] = field(default_factory=list)
    done: int = 0
    """Trainings (runs) finished so far."""

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else 1.0

    def _need(self, t: Training) -> float:
        """Seconds one run of t takes if every epoch up to the cap runs."""
        return self.train_cfg.epochs * t.warmup.epoch_s * self.ratio

    def _pending(self) -> list[tuple[Training, float]]:
        """Every run still to train, with its need; the final retraining counts as the slowest model's."""
        out: list[tuple[Training, float]] = []
        seen = 0
        for t in self.trainings:
            for _ in range(t.runs):
                if seen >= self.done:
                    out.append((t, self._need(t)))
                seen += 1
        if self.final and self.done <= seen:
            slowest = max(self.trainings, key=lambda t: t.warmup.epoch_s)
            out.append((slowest, self._need(slowest)))
        return out

    @property
    def runs(self) -> int:
        return sum(t.runs for t in self.trainings) + int(self.final)

    def estimate(self) -> float:
        """Seconds the rest of the run is expected to take: every epoch up to the cap, or the budget left."""
        pending = self._pending()
        need = sum(n for _, n in pending) + self.overhead_s * len(pending) + END_RESERVE_S
        return min(need, self.deadline.remaining())

    def unbounded(self) -> float:
        """Seconds the rest would take without a budget, every epoch up to the cap running."""
        pending = self._pending()
        return sum(n for _, n in pending) + self.overhead_s * len(pending)

    def describe(self, what: str) -> str:
        """The estimate in words: 'about 4 min 10 s for 7 variants x 3 folds (...), budget 10 min'."""
        each = " each" if self.runs > 1 else ""
        cap = f"up to {self.train_cfg.epochs} epochs{each}"
        full = self.unbounded()
        early = "early stopping may end sooner"
        if not self.deadline.limited:
            return f"about {format_seconds(full)} at most for {what} ({cap}; {early}); no budget"
        budget = format_seconds(self.deadline.seconds or 0.0)
        if self.spent():
            return (
                f"the budget of {budget} is spent already ({format_seconds(self.deadline.elapsed())} of loading "
                "and warm-up): "
                + ("the trainings are skipped" if self.runs > 1 else "one optimiser step and one validation pass only")
            )
        if full + END_RESERVE_S <= self.deadline.remaining():
            return f"about {format_seconds(full)} at most for {what} ({cap}; {early}), budget {budget}"
        shared = ", so each training gets its share of the budget" if self.runs > 1 else ", so it stops on time"
        return (
            f"about {format_seconds(self.estimate())} for {what}, budget {budget}: {cap} would take about "
            f"{format_seconds(full)}{shared}"
        )

    def spent(self) -> bool:
        """Whether the budget has no time left for another training (its overhead and one step)."""
        return self.deadline.limited and self.deadline.remaining() < self.overhead_s + MIN_SHARE_S

    def config_for(self, name: str) -> tuple[TrainConfig, Share]:
        """Settings of the training that starts now (model `name`; the runs go in order): its share of what is
        left as its time limit, and the epochs that fit in it."""
        if not self.deadline.limited:
            return self.train_cfg, Share(None, self.train_cfg.epochs)
        t = next(x for x in self.trainings if x.name == name)
        needs = [n for _, n in self._pending()] or [0.0]
        needs[0] = self._need(t)
        available = self.deadline.remaining() - self.overhead_s * len(needs) - END_RESERVE_S
        shares = waterfill(available, needs)
        seconds = max(MIN_SHARE_S, shares[0], available / len(needs))
        epoch_s = t.warmup.epoch_s * self.ratio
        epochs = max(1, min(self.train_cfg.epochs, round(seconds / epoch_s) if epoch_s > 0 else self.train_cfg.epochs))
        # The time limit ends the training, not the planned epochs: a warm-up on a busy machine may be off by
        # a factor of several either way, and a training that runs faster than planned uses its whole share.
        return replace(self.train_cfg, time_limit=seconds), Share(seconds, epochs)

    def skip(self, name: str) -> None:
        """Count a model's runs as done without training them (the budget was spent)."""
        self.done += next((t.runs for t in self.trainings if t.name == name), 1)

    def finished(self, name: str, result: TrainResult | None, wall_s: float) -> None:
        """Learn from a finished training: its epoch time against the warm-up's, and its overhead."""
        self.done += 1
        t = next((x for x in self.trainings if x.name == name), None)
        if result is None or t is None:
            return
        epochs = [b.elapsed - a.elapsed for a, b in zip(result.history, result.history[1:], strict=False)]
        if result.history:
            epochs.insert(0, result.history[0].elapsed)
        if result.stopped == "budget" and len(epochs) > 1:
            epochs = epochs[:-1]  # the last epoch was cut short
        if epochs and t.warmup.epoch_s > 0:
            self.ratios.append(float(np.median(epochs)) / t.warmup.epoch_s)
        self.overheads.append(max(0.0, wall_s - result.seconds))
        self.overhead_s = statistics.mean(self.overheads)


def plan_training(
    deadline: Deadline, data: SeriesSet, model_cfg: ModelConfig, train_cfg: TrainConfig, name: str = "model"
) -> RunPlan:
    """The plan of one `tsrnn train`: the warm-up on the windows train_experiment will split off."""
    test_len = default_val_len(int(data.lengths.min()), 1) if model_cfg.task == "direction" else None
    split = split_series(
        data, model_cfg.input_len, model_cfg.horizon, test_len=test_len, history_len=model_cfg.history_len
    )
    return plan_run(deadline, [(name, model_cfg)], train_cfg, split)


def plan_run(
    deadline: Deadline,
    models: list[tuple[str, ModelConfig]],
    train_cfg: TrainConfig,
    split: Split,
    runs: int = 1,
    final: bool = False,
) -> RunPlan:
    """Measure every model's warm-up on `split` and plan the run. The first model is measured twice: the first
    steps in a process pay for loading torch's kernels (seconds on a busy machine), which no epoch pays again."""
    if models:
        measure(*models[0], train_cfg, split, steps=1)
    trainings = [Training(name, measure(name, cfg, train_cfg, split), runs) for name, cfg in models]
    return RunPlan(deadline, trainings, train_cfg, final=final)
