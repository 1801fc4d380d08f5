"""One recurrent forecaster for every variant: rnn/gru/lstm, bidirectional, stacked, scaling inside."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from tsrnn.core.config import ModelConfig, lag_season
from tsrnn.model.fast.rnn import recurrent

RNN_CELLS: dict[str, Callable[..., nn.Module]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Scaler(nn.Module):
    """Maps raw values to the network's units and back; exported as Sub/Div and Mul/Add nodes."""

    mean: torch.Tensor
    std: torch.Tensor
    floor: torch.Tensor

    def __init__(self, mode: str, mean: np.ndarray, std: np.ndarray, n_targets: int) -> None:
        super().__init__()
        self.mode = mode
        self.n_targets = n_targets
        std = np.where(std > 0, std, 1.0)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        # A flat window must not divide by ~0: floor each window's std at 1% of the training std.
        self.register_buffer("floor", torch.as_tensor(0.01 * std, dtype=torch.float32))

    def stats(self, history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Location and scale, each (B, 1, C) for window scaling or (C,) for global."""
        if self.mode == "window":
            loc = history.mean(dim=1, keepdim=True)
            dev = history - loc
            var = (dev * dev).mean(dim=1, keepdim=True)  # not ** 2: ONNX Runtime's Pow is slow
            scale = torch.maximum(torch.sqrt(var), self.floor)
            return loc, scale
        return self.mean, self.std

    def target_stats(self, loc: torch.Tensor, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return loc[..., : self.n_targets], scale[..., : self.n_targets]


class RecurrentForecaster(nn.Module):
    """history (B, HL, n_inputs) raw [and known (B, HL + H, n_known)] -> forecast (B, H, n_targets) raw.

    HL (`history_len`) is the input window L, or the longest season when that is longer: the seasons' paths
    read the whole history, the network and the window scaling only its last L steps. Each season's path is
    the seasonal naive of every horizon step, scaled by the window's statistics; the network's output is
    added to their mix.

    Known-in-advance inputs (calendar features, holiday flags) join the scaled history at every step of the
    window, and a decoder shared by the horizon steps reads each future step's known inputs beside the final
    state: y_h = head(state)_h + out(relu(mix([state, known_{L+h}]))). Without known inputs the model is the
    recurrent stack and the direct head alone."""

    known_mean: torch.Tensor
    known_std: torch.Tensor
    season_idx: torch.Tensor

    def __init__(
        self,
        config: ModelConfig,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
        known_mean: np.ndarray | None = None,
        known_std: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        c = config
        # Known inputs are scaled by their training statistics (a load forecast in MW and a holiday flag alike).
        k_std = np.ones(c.n_known) if known_std is None else np.where(known_std > 1e-6, known_std, 1.0)
        self.register_buffer(
            "known_mean",
            torch.as_tensor(np.zeros(c.n_known) if known_mean is None else known_mean, dtype=torch.float32),
        )
        self.register_buffer("known_std", torch.as_tensor(k_std, dtype=torch.float32))
        self.scaler = Scaler(
            c.scaling,
            np.zeros(c.n_inputs) if mean is None else mean,
            np.ones(c.n_inputs) if std is None else std,
            c.n_targets,
        )
        self.rnn = RNN_CELLS[c.cell](
            input_size=c.n_inputs + c.n_known,
            hidden_size=c.hidden_size,
            num_layers=c.num_layers,
            batch_first=True,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            bidirectional=c.bidirectional,
        )
        directions = 2 if c.bidirectional else 1
        self.n_quantiles = max(1, len(c.quantiles))
        out = 1 if c.task == "direction" else c.horizon * c.n_targets * self.n_quantiles
        self.head = nn.Linear(directions * c.hidden_size, out)
        if c.highway:
            # Shared by the targets: each target's scaled window -> its horizon; zero at the start of training.
            self.highway = nn.Linear(c.input_len, c.horizon)
            nn.init.zeros_(self.highway.weight)
            nn.init.zeros_(self.highway.bias)
        if c.season_lags:
            # The seasonal profile: at each step of the window and of the horizon, the learned mix of the values
            # one lag earlier (per step, equal weights at the start); the network reads the window less it.
            idx = profile_index(c.history_len, c.input_len, c.horizon, c.season_lags, c.seasons)
            self.register_buffer("season_idx", torch.tensor(idx, dtype=torch.long), persistent=False)
            n_lags = len(c.season_lags)
            self.lag_weights = nn.Parameter(torch.full((n_lags, c.input_len + c.horizon), 1.0 / n_lags))
        elif c.seasons:
            # The older fixed skip, one season m: step h of the horizon repeats history step HL - m + (h mod m).
            HL = c.history_len
            idx = [HL - m + h % m for m in c.seasons for h in range(c.horizon)]
            self.register_buffer("season_idx", torch.tensor(idx, dtype=torch.long), persistent=False)
        if c.n_known:
            per_step = out // c.horizon
            self.mix = nn.Linear(directions * c.hidden_size + c.n_known, c.hidden_size)
            self.out = nn.Linear(c.hidden_size, per_step)

    def forward_scaled(self, x: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled history (B, HL, C) [and known inputs (B, HL + H, K)] -> scaled forecast (B, H, T), quantiles
        (B, H, T, Q) or a logit (B, 1). HL is `history_len`; the network reads the last `input_len` steps."""
        c = self.config
        skip = (
            self.highway(x[:, -c.input_len :, : c.n_targets].transpose(1, 2)).transpose(1, 2) if c.highway else None
        )  # (B, H, T)
        extra = c.history_len - c.input_len  # the steps only the seasons read (config ints: no shape ops)
        L = c.input_len
        if c.season_lags:  # the seasonal profile of the window and the horizon, in scaled units
            profile = self.seasonal_profile(x[:, :, : c.n_targets])  # (B, L + H, T)
            skip = profile[:, L:] if skip is None else skip + profile[:, L:]
            x = x[:, extra:]
            x = torch.cat([x[:, :, : c.n_targets] - profile[:, :L], x[:, :, c.n_targets :]], dim=-1)
        else:
            if c.seasons:  # the older fixed skip: the season's seasonal naive
                season = x[:, :, : c.n_targets].index_select(1, self.season_idx)  # (B, H, T)
                skip = season if skip is None else skip + season
            if extra:
                x = x[:, extra:]
        if known is not None:
            known = ((known[:, extra:] if extra else known) - self.known_mean) / self.known_std  # -> (B, L + H, K)
            x = torch.cat([x, known[:, :L]], dim=-1)
        _, state = recurrent(
            self.rnn, x, output=False
        )  # the module, or its CPU training fast path (tsrnn.model.fast.rnn)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
        directions = 2 if c.bidirectional else 1
        # Last layer's final state of each direction: the backward one has read the window end to start.
        last = h_n[-directions:].transpose(0, 1).reshape(x.shape[0], -1)  # -> (B, dirs * H)
        y = self.head(last)
        if known is not None:
            future = known[:, L:]  # (B, H, K)
            steps = torch.cat([last.unsqueeze(1).expand(-1, future.shape[1], -1), future], dim=-1)
            y = y + self.out(torch.relu(self.mix(steps))).reshape(x.shape[0], -1)
        if c.task == "direction":
            return y  # -> (B, 1) logit
        if not c.quantiles:
            y = y.reshape(x.shape[0], c.horizon, c.n_targets)
            return y if skip is None else y + skip
        y = y.reshape(x.shape[0], c.horizon, c.n_targets, self.n_quantiles)
        if skip is not None:  # shifts the lowest quantile, and so every quantile above it
            y = torch.cat([y[..., :1] + skip.unsqueeze(-1), y[..., 1:]], dim=-1)
        # Lowest quantile plus positive increments: the quantiles can never cross.
        steps = nn.functional.softplus(y[..., 1:])
        return torch.cat([y[..., :1], y[..., :1] + torch.cumsum(steps, dim=-1)], dim=-1)  # -> (B, H, T, Q)

    def seasonal_profile(self, targets: torch.Tensor) -> torch.Tensor:
        """Scaled target history (B, HL, T) -> the seasonal profile of the window and the horizon (B, L + H, T):
        at each step, the values one lag earlier mixed by that step's learned weights."""
        c = self.config
        n_lags, steps = len(c.season_lags), c.input_len + c.horizon
        lagged = targets.index_select(1, self.season_idx).reshape(-1, n_lags, steps, c.n_targets)
        return (lagged * self.lag_weights.unsqueeze(-1)).sum(dim=1)  # -> (B, L + H, T)

    def season_weights(self) -> np.ndarray:
        """(lags, horizon) weight of each season lag at each horizon step (empty without a seasonal profile)."""
        c = self.config
        if not c.season_lags:
            return np.zeros((0, c.horizon), dtype=np.float32)
        return self.lag_weights.detach()[:, c.input_len :].cpu().numpy()

    def forward(
        self, history: torch.Tensor, known: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        extra = c.history_len - c.input_len
        loc, scale = self.scaler.stats(history[:, extra:] if extra else history)  # from the window only
        y = self.forward_scaled((history - loc) / scale, known)
        if c.task == "direction":
            return torch.sigmoid(y)
        t_loc, t_scale = self.scaler.target_stats(loc, scale)
        if not c.quantiles:
            return y * t_scale + t_loc
        q = y * t_scale.unsqueeze(-1) + t_loc.unsqueeze(-1)
        return q[..., c.point_quantile], q

    def scaled_loss_inputs(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Window (B, HL + H, C + K) -> (prediction, target), both in scaled units, for the loss (HL:
        `history_len`)."""
        c = self.config
        L = c.history_len
        history, future = window[:, :L, : c.n_inputs], window[:, L:, : c.n_targets]
        known = window[:, :, c.n_inputs :] if c.n_known else None
        loc, scale = self.scaler.stats(history[:, L - c.input_len :])
        pred = self.forward_scaled((history - loc) / scale, known)
        if c.task == "direction":
            return pred, (future[:, 0, :1] > history[:, -1, :1]).float()
        t_loc, t_scale = self.scaler.target_stats(loc, scale)
        return pred, (future - t_loc) / t_scale


def profile_index(
    history_len: int, input_len: int, horizon: int, lags: tuple[int, ...], seasons: tuple[int, ...]
) -> list[int]:
    """For each lag, then each step of the window and of the horizon (history_len - input_len ..
    history_len + horizon - 1), the history step one lag earlier; a step that lies beyond the history is read
    whole cycles of its season earlier (`lag_season`: the last cycle repeats)."""
    idx = []
    for lag in lags:
        m = lag_season(lag, seasons)
        for t in range(history_len - input_len, history_len + horizon):
            source = t - lag
            if source >= history_len:
                source -= m * -(-(source - history_len + 1) // m)
            idx.append(source)
    return idx


class PinballLoss(nn.Module):
    """Mean quantile loss of (B, H, T, Q) predictions against (B, H, T) targets."""

    levels: torch.Tensor

    def __init__(self, quantiles: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("levels", torch.tensor(quantiles, dtype=torch.float32))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = target.unsqueeze(-1) - pred
        return torch.maximum(self.levels * err, (self.levels - 1) * err).mean()


def split_inputs(config: ModelConfig, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Windows (N, >= HL, C [+ K]) -> the model's inputs: history (N, HL, C), and known (N, HL + H, K) for a
    model with known inputs (then the windows must span HL + H steps); HL is `history_len`."""
    L, C = config.history_len, config.n_inputs
    if not config.n_known:
        return windows[:, :L, :C], None
    return windows[:, :L, :C], windows[:, : L + config.horizon, C:]
