"""Fit a RecurrentForecaster: Adam, early stopping with best weights, LR on plateau, clipping."""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

import tsrnn.model.fast.rnn as fastrnn
import tsrnn.model.workspace as workspace
from tsrnn.core.budget import Deadline
from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.core.errors import ConfigError, TrainingError
from tsrnn.core.interrupt import StopNow
from tsrnn.data.windows import Split
from tsrnn.model.networks import PinballLoss, RecurrentForecaster, split_inputs


@dataclass
class EpochInfo:
    """What a progress display needs after each epoch."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best_val: float
    lr: float
    elapsed: float
    samples_per_s: float
    limit: float | None = None
    """Seconds this training may run (TrainConfig.time_limit), or None."""

    @property
    def eta(self) -> float:
        """Seconds left if every remaining epoch runs (early stopping may end sooner), at most what is left of
        the time limit."""
        left = self.elapsed / self.epoch * (self.epochs - self.epoch)
        return left if self.limit is None else max(0.0, min(left, self.limit - self.elapsed))


@dataclass
class TrainResult:
    model: RecurrentForecaster
    history: list[EpochInfo] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = "finished"
    """finished, early_stopped, budget (the time limit was reached) or cancelled."""
    seconds: float = 0.0
    device: str = "cpu"
    device_note: str | None = None
    """Why it trained on the CPU although CUDA was asked for."""
    threads: int = 1
    """torch's CPU threads while it trained."""
    fast_path: str | None = None
    """How a GRU or simple RNN trained on the CPU (`tsrnn.model.fast.rnn.describe`)."""

    @classmethod
    def begin(cls, model: RecurrentForecaster, cfg: TrainConfig, device: torch.device) -> TrainResult:
        """The result of a training about to start: where and how it runs."""
        return cls(
            model=model,
            device=str(device),
            device_note=device_fallback(cfg.device),
            threads=torch.get_num_threads(),
            fast_path=fastrnn.describe(model.rnn, device.type),
        )

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    @property
    def samples_per_s(self) -> float:
        """Training windows per second, the median over the epochs (each epoch's validation pass included)."""
        return float(np.median([h.samples_per_s for h in self.history])) if self.history else 0.0


ProgressFn = Callable[[EpochInfo], None]
StopFn = Callable[[], bool]

MIN_STEPS = 20
_LOSSES: dict[str, Callable[[], nn.Module]] = {"mse": nn.MSELoss, "mae": nn.L1Loss, "huber": nn.HuberLoss}


def make_loss(model_cfg: ModelConfig, train_cfg: TrainConfig) -> nn.Module:
    """Binary cross-entropy for the direction task, pinball for quantiles, else the chosen loss."""
    if model_cfg.task == "direction":
        return nn.BCEWithLogitsLoss()
    if model_cfg.quantiles:
        return PinballLoss(model_cfg.quantiles)
    return _LOSSES[train_cfg.loss]()


def device_fallback(name: str) -> str | None:
    """Why training asked for cuda runs on the CPU, or None when it runs where asked."""
    if name == "cuda" and not torch.cuda.is_available():
        build = "this torch is a CPU build" if torch.version.cuda is None else "torch sees no CUDA GPU here"
        return f"CUDA was asked for, but {build}; training on the CPU instead"
    return None


def resolve_device(name: str) -> torch.device:
    """cpu, cuda or auto -> the device that trains: cuda where torch has a GPU, else the CPU."""
    if name in ("auto", "cuda"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def set_threads(threads: int | None) -> None:
    torch.set_num_threads(threads or max(1, os.cpu_count() or 1))


def epoch_steps(n_windows: int, cfg: TrainConfig) -> int:
    """Optimiser steps in one epoch over n_windows training windows (at most cfg.windows_per_epoch of them)."""
    used = n_windows if cfg.windows_per_epoch is None else min(n_windows, cfg.windows_per_epoch)
    return max(MIN_STEPS, -(-used // cfg.batch_size))


def fit(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    split: Split,
    on_epoch: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> TrainResult:
    """Train until the epoch budget, early stopping, the time limit or a stop request (both checked at every
    step), or Ctrl+C; keep the best weights."""
    torch.manual_seed(train_cfg.seed)
    set_threads(train_cfg.threads)
    device = resolve_device(train_cfg.device)
    model = RecurrentForecaster(model_cfg, split.mean, split.std, split.known_mean, split.known_std).to(device)
    train = torch.from_numpy(split.train).to(device)
    val = torch.from_numpy(split.val).to(device)
    if len(train) == 0:
        raise ConfigError("no training windows: the series is too short for this input window and horizon")
    opt = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, train_cfg.patience // 2))
    loss_fn = make_loss(model_cfg, train_cfg)
    gen = torch.Generator().manual_seed(train_cfg.seed)
    result = TrainResult.begin(model, train_cfg, device)
    best_state, best_val, since_best = copy.deepcopy(model.state_dict()), math.inf, 0
    start = time.perf_counter()
    deadline = Deadline(train_cfg.time_limit)
    epoch_windows = len(train) if train_cfg.windows_per_epoch is None else min(len(train), train_cfg.windows_per_epoch)
    try:
        for epoch in range(1, train_cfg.epochs + 1):
            t0 = time.perf_counter()
            train_loss, done = _train_epoch(model, train, opt, loss_fn, train_cfg, gen, deadline, should_stop)
            val_loss = _evaluate(model, val, loss_fn, train_cfg.batch_size * 8)
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                raise TrainingError(
                    f"the loss became {'NaN' if math.isnan(train_loss) or math.isnan(val_loss) else 'infinite'} "
                    f"at epoch {epoch}; lower --lr (now {train_cfg.lr}) or check the data for extreme values"
                )
            plateau.step(val_loss)
            if val_loss < best_val:
                best_val, since_best, result.best_epoch = val_loss, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
            info = EpochInfo(
                epoch,
                train_cfg.epochs,
                train_loss,
                val_loss,
                best_val,
                opt.param_groups[0]["lr"],
                time.perf_counter() - start,
                epoch_windows * done / max(time.perf_counter() - t0, 1e-9),
                train_cfg.time_limit,
            )
            result.history.append(info)
            if on_epoch:
                on_epoch(info)
            if since_best >= train_cfg.patience:
                result.stopped = "early_stopped"
                break
            if deadline.expired():
                result.stopped = "budget"
                break
            if should_stop and should_stop():
                result.stopped = "cancelled"
                break
    except KeyboardInterrupt as exc:
        if isinstance(exc, StopNow):  # a second signal during compare or tune: leave at once
            raise
        result.stopped = "cancelled"
    finally:
        workspace.release()  # the GRU/RNN fast path's buffers (tsrnn.model.workspace)
    model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - start
    if not result.history:
        raise TrainingError("training was cancelled before the first epoch ended; nothing to keep")
    return result


def _train_epoch(
    model: RecurrentForecaster,
    data: torch.Tensor,
    opt: torch.optim.Optimizer,
    loss_fn: nn.Module,
    cfg: TrainConfig,
    gen: torch.Generator,
    deadline: Deadline | None = None,
    should_stop: StopFn | None = None,
) -> tuple[float, float]:
    """One epoch; returns the mean training loss and the share of the epoch's steps run (less than 1 when the
    time limit or a stop request ended it)."""
    model.train()
    # A small data set still gets MIN_STEPS optimiser steps per epoch (the shuffled windows are cycled),
    # so that early stopping and the LR schedule do not act after a handful of updates. A large one gets
    # cfg.windows_per_epoch windows, a new random sample each epoch.
    steps = epoch_steps(len(data), cfg)
    passes = -(-steps * cfg.batch_size // len(data))
    order = torch.cat([torch.randperm(len(data), generator=gen) for _ in range(passes)]).to(data.device)
    total, count, done = 0.0, 0, 0
    for step in range(steps):
        if step and ((deadline is not None and deadline.expired()) or (should_stop is not None and should_stop())):
            break
        batch = data[order[step * cfg.batch_size : (step + 1) * cfg.batch_size]]
        pred, target = model.scaled_loss_inputs(batch)
        loss = loss_fn(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
        opt.step()
        total += loss.item() * len(batch)
        count += len(batch)
        done += 1
    return total / count, done / steps


@torch.inference_mode()
def _evaluate(model: RecurrentForecaster, data: torch.Tensor, loss_fn: nn.Module, batch_size: int) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(data), batch_size):
        pred, target = model.scaled_loss_inputs(data[i : i + batch_size])
        total += loss_fn(pred, target).item() * len(pred)
    return total / max(len(data), 1)


@torch.inference_mode()
def predict_outputs(model: RecurrentForecaster, windows: np.ndarray, batch_size: int = 4096) -> dict[str, np.ndarray]:
    """Raw windows (N, >= L, C [+ K]) -> every model output by its ONNX name, with the torch model (a model with
    known inputs reads them over L + H steps: `models.split_inputs`)."""
    model.eval()
    device = next(model.parameters()).device
    names = model.config.output_names
    history, known = split_inputs(model.config, windows)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i in range(0, len(history), batch_size):
        args = [
            torch.from_numpy(np.ascontiguousarray(a[i : i + batch_size])).to(device)
            for a in (history, known)
            if a is not None
        ]
        out = model(*args)
        for name, value in zip(names, out if isinstance(out, tuple) else (out,), strict=True):
            parts[name].append(value.cpu().numpy())
    return {n: np.concatenate(v) for n, v in parts.items()}


def predict(model: RecurrentForecaster, windows: np.ndarray) -> np.ndarray:
    """Raw windows (N, >= L, C [+ K]) -> the first output: the point forecast (N, H, T) or the probability (N, 1)."""
    return next(iter(predict_outputs(model, windows).values()))
