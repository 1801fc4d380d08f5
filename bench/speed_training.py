"""Topic 3: one epoch of `tsrnn.model.train.fit` against a bare PyTorch loop doing the same training steps."""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn

from tsrnn.core.config import ModelConfig, TrainConfig
from tsrnn.data.windows import Split
from tsrnn.model.fast import rnn as fastrnn
from tsrnn.model.networks import RecurrentForecaster
from tsrnn.model.train import MIN_STEPS, fit

from .speed_common import (
    HIDDEN_SIZE,
    HORIZON,
    INPUT_LEN,
    VAL_WINDOWS,
    CpuMonitor,
    ModelStore,
    Settings,
    Variant,
    cores,
    table,
)

BATCHES = (32, 256)
TARGET = 1.1
"""tsrnn's epoch may take at most this many times the bare loop's."""


@dataclass
class TrainingRow:
    name: str
    batch: int
    tsrnn_s: float
    """Best epoch time through `fit`: training steps, validation pass and bookkeeping (from EpochInfo)."""
    fit_s: float
    """Best wall time of the whole `fit` call (model built, state copies, final reload included)."""
    bare_s: float
    """Best epoch time of the bare loop: training steps only."""
    val_s: float
    """Best time of the validation pass alone, as `fit` runs it (timed in the bare harness)."""
    tsrnn_windows: int
    """Windows `fit` trains on per epoch: whole batches, the last one filled from the next shuffle."""
    train_windows: int
    load: float | None
    paired: list[float]
    """Per round, tsrnn's time per training window over the bare loop's in the same round: fit's validation
    pass and bookkeeping count on tsrnn's side, the different window counts per epoch are taken out."""

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios: a pair runs back to back, so a slower minute of the machine
        slows both sides of it."""
        return statistics.median(self.paired)

    @property
    def epoch_ratio(self) -> float:
        """The fastest epochs' times as they are (fit's epoch trains on slightly more windows, see
        tsrnn_windows)."""
        return self.tsrnn_s / self.bare_s

    @property
    def missed(self) -> bool:
        """Above the target as printed (two decimals)."""
        return round(self.ratio, 2) > TARGET


def tsrnn_windows(n: int, batch: int) -> int:
    """What `tsrnn.model.train._train_epoch` trains on: at least MIN_STEPS steps of whole batches."""
    return max(MIN_STEPS, -(-n // batch)) * batch


def tsrnn_epoch(variant: Variant, split: Split, tc: TrainConfig) -> tuple[float, float, RecurrentForecaster]:
    """(epoch seconds from EpochInfo, wall seconds of the fit call, the model)."""
    t0 = time.perf_counter()
    result = fit(variant.config, tc, split)
    wall = time.perf_counter() - t0
    return len(split.train) / result.history[0].samples_per_s, wall, result.model


def bare_epoch(variant: Variant, split: Split, tc: TrainConfig) -> tuple[float, float]:
    """(seconds of one pass over the shuffled training windows, seconds of the validation pass): the same
    model class, seed, Adam, MSE on scaled values, clipping and thread count as `fit`, nothing else."""
    assert tc.loss == "mse" and tc.weight_decay == 0.0, "the bare loop mirrors fit's default loss and optimiser"
    torch.manual_seed(tc.seed)
    torch.set_num_threads(tc.threads or 1)
    model = RecurrentForecaster(variant.config, split.mean, split.std)
    train, val = torch.from_numpy(split.train), torch.from_numpy(split.val)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(tc.seed)
    model.train()
    t0 = time.perf_counter()
    order = torch.randperm(len(train), generator=gen)
    for i in range(0, len(train), tc.batch_size):
        pred, target = model.scaled_loss_inputs(train[order[i : i + tc.batch_size]])
        loss = loss_fn(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), tc.clip_norm)
        opt.step()
    epoch = time.perf_counter() - t0
    model.eval()
    t0 = time.perf_counter()
    with torch.inference_mode():
        step = tc.batch_size * 8  # fit's validation batch
        for i in range(0, len(val), step):
            pred, target = model.scaled_loss_inputs(val[i : i + step])
            loss_fn(pred, target).item()
    return epoch, time.perf_counter() - t0


def run_training(store: ModelStore, settings: Settings, variants: tuple[Variant, ...]) -> list[TrainingRow]:
    """Per variant and batch size, `fit` and the bare loop back to back, settings.train_rounds rounds, the
    bare loop first in every other round; the per-round ratios and each side's fastest times. The last `fit` at
    the largest batch is kept for the inference topics."""
    split = store.data.split
    rows = []
    for variant in variants:
        for batch in BATCHES:
            tc = TrainConfig(epochs=1, batch_size=batch, threads=settings.threads)
            monitor = CpuMonitor()
            ours: list[tuple[float, float]] = []
            bare: list[tuple[float, float]] = []
            for i in range(settings.train_rounds):
                if i % 2:  # every other round the bare loop goes first
                    bare.append(bare_epoch(variant, split, tc))
                epoch_s, wall_s, model = tsrnn_epoch(variant, split, tc)
                ours.append((epoch_s, wall_s))
                if not i % 2:
                    bare.append(bare_epoch(variant, split, tc))
            store.trained[variant] = model
            windows, n = tsrnn_windows(len(split.train), batch), len(split.train)
            rows.append(
                TrainingRow(
                    variant.name,
                    batch,
                    min(o[0] for o in ours),
                    min(o[1] for o in ours),
                    min(b[0] for b in bare),
                    min(b[1] for b in bare),
                    windows,
                    n,
                    monitor.stop(),
                    [(o[0] / windows) / (b[0] / n) for o, b in zip(ours, bare, strict=True)],
                )
            )
            print(f"  training {variant.name} batch {batch}: {rows[-1].ratio:.2f}x", file=sys.stderr)
    return rows


def render_training(rows: list[TrainingRow], settings: Settings) -> list[str]:
    n = rows[0].train_windows if rows else 0
    tc = TrainConfig()
    extra = "; ".join(f"batch {r.batch}: {r.tsrnn_windows:,}" for r in rows[: len(BATCHES)])
    lines = [
        "## 3. Training: one epoch of `tsrnn.model.train.fit` against a bare PyTorch loop",
        "",
        f"Both sides train the same `RecurrentForecaster` config from the same seed on the same {n:,} windows "
        f"with torch threads = {settings.threads}: Adam (lr {tc.lr:g}), {tc.loss.upper()} on scaled values "
        f"through `model.scaled_loss_inputs`, backward, gradient-norm clipping at {tc.clip_norm:g}, step. "
        "**tsrnn** = one epoch of `fit(cfg, TrainConfig(epochs=1, batch_size=B, threads=T), split)`, its time "
        "taken from `EpochInfo.samples_per_s` (training windows / samples per second): the training steps plus, "
        f"as fit does every epoch, the validation pass over {VAL_WINDOWS} windows (batch 8 x B, inference mode), "
        "the LR scheduler step and the copy of the best weights; fit also trains on whole batches only, the last "
        f"one filled from the next shuffle ({extra} windows). **bare** = one shuffled pass in batches of B "
        "(the last one partial), training steps only, no validation. The two sides run back to back, "
        f"{settings.train_rounds} rounds per row, the bare loop first in every other round. **tsrnn / bare** is "
        "the median over the rounds of tsrnn's time per training window over the bare loop's in the same round "
        "(tsrnn's includes its validation pass and bookkeeping), with the range over the rounds beside it; "
        '"fastest epochs" divides the fastest epoch of each side, fit\'s extra windows included. The epoch '
        "times are each side's fastest; the validation column times fit's validation pass alone in the bare "
        "harness. "
        '"fit() call" is the whole call\'s wall time (model built, state copies, final '
        f"reload), the fastest of the rounds. Target: tsrnn / bare within {TARGET}x.",
        "",
    ]
    header = [
        "variant",
        "batch",
        "tsrnn / bare",
        "range over rounds",
        "fastest epochs",
        "tsrnn (s/epoch)",
        "bare (s/epoch)",
        "validation pass (s)",
        "fit() call (s)",
        "tsrnn (windows/s)",
        "bare (windows/s)",
        "other load (cores)",
    ]
    body = [
        [
            r.name,
            str(r.batch),
            f"{r.ratio:.2f}x",
            f"{min(r.paired):.2f}–{max(r.paired):.2f}x",
            f"{r.epoch_ratio:.2f}x",
            f"{r.tsrnn_s:.2f}",
            f"{r.bare_s:.2f}",
            f"{r.val_s:.3f}",
            f"{r.fit_s:.2f}",
            f"{r.tsrnn_windows / r.tsrnn_s:,.0f}",
            f"{r.train_windows / r.bare_s:,.0f}",
            cores(r.load),
        ]
        for r in rows
    ]
    missed = [f"{r.name} batch {r.batch} ({r.ratio:.2f}x)" for r in rows if r.missed]
    verdict = (
        f"Target missed (tsrnn above {TARGET}x the bare loop): " + "; ".join(missed) + "."
        if missed
        else f"Target reached: every tsrnn epoch is within {TARGET}x of the bare loop."
    )
    return [*lines, *table(header, "l" + "r" * 11, body), "", verdict]


# Table 3b: GRU and simple RNN against the LSTM of the same size, with and without tsrnn.model.fast.rnn.

CELL_TARGET = 1.3
"""A GRU or RNN epoch may take at most this many times the epoch of the LSTM of the same size."""
CELL_WINDOWS = 5_200
"""Training windows of table 3b's epochs (the first ones of the benchmark's): 20 full steps at batch 256."""
CELL_ROUNDS = 3
"""Rounds of table 3b in a full run (a quick run takes settings.train_rounds)."""


@dataclass(frozen=True)
class CellCase:
    """One network of table 3b: hidden 64, window 48, horizon 12, trained at `batch`."""

    cell: str
    layers: int = 1
    bidirectional: bool = False
    batch: int = 32

    @property
    def name(self) -> str:
        return f"{'bi' if self.bidirectional else ''}{self.cell}{f'-{self.layers}' if self.layers > 1 else ''}"

    @property
    def reference(self) -> CellCase:
        """The LSTM of the same size."""
        return CellCase("lstm", self.layers, self.bidirectional, self.batch)

    @property
    def config(self) -> ModelConfig:
        return ModelConfig(
            cell=self.cell,
            hidden_size=HIDDEN_SIZE,
            num_layers=self.layers,
            bidirectional=self.bidirectional,
            input_len=INPUT_LEN,
            horizon=HORIZON,
        )


CELL_CASES = (
    *(CellCase(c, batch=b) for b in (32, 256) for c in ("rnn", "gru", "lstm")),
    CellCase("gru", bidirectional=True),
    CellCase("lstm", bidirectional=True),
    CellCase("gru", 3),
    CellCase("lstm", 3),
)


@dataclass
class CellRow:
    case: CellCase
    before: list[float]
    """Epoch seconds per round with the standard modules (the fast path off)."""
    after: list[float] | None
    """Epoch seconds per round with the fast path on; None for an LSTM (it has none)."""
    lstm: list[float]
    """Epoch seconds per round of the LSTM of the same size (the same list as `before` for an LSTM)."""
    windows: int
    load: float | None

    @property
    def ratio_before(self) -> float:
        """The fastest standard epoch over the LSTM's fastest epoch."""
        return min(self.before) / min(self.lstm)

    @property
    def ratio(self) -> float:
        """The fastest epoch with the fast path over the LSTM's fastest epoch."""
        return min(self.after or self.before) / min(self.lstm)

    @property
    def paired(self) -> list[float]:
        """Per round, the fast epoch over the LSTM epoch of the same round."""
        return [f / r for f, r in zip(self.after or self.before, self.lstm, strict=True)]


def cell_epoch(case: CellCase, split: Split, threads: int, fast: bool) -> float:
    """Seconds of one `fit` epoch (training steps and validation pass, from EpochInfo)."""
    tc = TrainConfig(epochs=1, batch_size=case.batch, threads=threads)
    with fastrnn.enabled(fast):
        result = fit(case.config, tc, split)
    return len(split.train) / result.history[0].samples_per_s


def run_cells(store: ModelStore, settings: Settings) -> list[CellRow]:
    """Each network's epoch through `fit` with the fast path off (before) and on (after), and the LSTM of the
    same size, back to back in every round (the order of before and after alternating)."""
    split = dataclasses.replace(store.data.split, train=store.data.split.train[:CELL_WINDOWS])
    before: dict[CellCase, list[float]] = {c: [] for c in CELL_CASES}
    after: dict[CellCase, list[float]] = {c: [] for c in CELL_CASES if c.cell != "lstm"}
    loads: dict[CellCase, list[float]] = {c: [] for c in CELL_CASES}
    for i in range(settings.train_rounds if settings.quick else CELL_ROUNDS):
        for case in CELL_CASES:
            monitor = CpuMonitor()
            modes = (False, True) if case.cell != "lstm" else (False,)
            for fast in modes[::-1] if i % 2 else modes:
                (after if fast else before)[case].append(cell_epoch(case, split, settings.threads, fast))
            load = monitor.stop()
            if load is not None:
                loads[case].append(load)
    rows = []
    for case in CELL_CASES:
        rows.append(
            CellRow(
                case,
                before[case],
                after.get(case),
                before[case.reference],
                len(split.train),
                statistics.mean(loads[case]) if loads[case] else None,
            )
        )
        print(
            f"  cells {case.name} batch {case.batch}: {rows[-1].ratio_before:.2f}x -> {rows[-1].ratio:.2f}x the LSTM",
            file=sys.stderr,
        )
    return rows


def render_cells(rows: list[CellRow], settings: Settings) -> list[str]:
    n = rows[0].windows if rows else 0
    rounds = len(rows[0].before) if rows else 0
    lines = [
        "## 3b. Training speed of GRU and simple RNN against the LSTM of the same size",
        "",
        f"One epoch of `fit` (as in table 3, on the first {n:,} training windows, validation pass included, "
        f"threads = {settings.threads}) for hidden {HIDDEN_SIZE}, window {INPUT_LEN}, horizon {HORIZON}. "
        "**before** = the standard `nn.GRU`/`nn.RNN` (autograd through a dozen small operations per time step, "
        "`tsrnn.model.fast.rnn` turned off); **after** = the CPU training fast path of `tsrnn.model.fast.rnn` (the "
        "same "
        "parameters and equations, a hand-written backward through time). The LSTM has PyTorch's fused oneDNN "
        "kernel and no fast path. Each round runs before, after (alternating which goes first) and the LSTM of "
        f"the same size back to back, {rounds} rounds. Windows/s and the **/ LSTM** ratios come from each side's "
        "fastest epoch (the machine is shared: a slower epoch is another process's doing); the last ratio "
        "column gives the range over the rounds of the fast epoch over the LSTM epoch of the same round. "
        f"Target: GRU and RNN epochs within {CELL_TARGET}x of the LSTM's.",
        "",
    ]
    header = [
        "variant",
        "batch",
        "before (windows/s)",
        "after (windows/s)",
        "speed-up",
        "before / LSTM",
        "after / LSTM",
        "after / LSTM by round",
        "other load (cores)",
    ]
    body = []
    for r in rows:
        lstm = r.after is None
        body.append(
            [
                r.case.name,
                str(r.case.batch),
                f"{r.windows / min(r.before):,.0f}",
                "–" if lstm else f"{r.windows / min(r.after or r.before):,.0f}",
                "–" if lstm else f"{min(r.before) / min(r.after or r.before):.2f}x",
                "1.00x" if lstm else f"{r.ratio_before:.2f}x",
                "1.00x" if lstm else f"{r.ratio:.2f}x",
                "–" if lstm else f"{min(r.paired):.2f}–{max(r.paired):.2f}x",
                cores(r.load),
            ]
        )
    missed = [
        f"{r.case.name} batch {r.case.batch} ({r.ratio:.2f}x)"
        for r in rows
        if r.after is not None and round(r.ratio, 2) > CELL_TARGET
    ]
    verdict = (
        f"Target missed (above {CELL_TARGET}x the LSTM of the same size): " + "; ".join(missed) + "."
        if missed
        else f"Target reached: every GRU and RNN epoch is within {CELL_TARGET}x of the LSTM's."
    )
    return [*lines, *table(header, "llrrrrrrr", body), "", verdict]
