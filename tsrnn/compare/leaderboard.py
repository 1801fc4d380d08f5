"""Compare's leaderboard: one row per variant and baseline, the board with its protocol and verdict, and the
files it is written to (CSV, JSON, Markdown) and the text it is printed as."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tsrnn.core.budget import format_seconds
from tsrnn.core.errors import ConfigError
from tsrnn.core.safeio import atomic_write
from tsrnn.data.seasons import choice_words
from tsrnn.evaluate.protocol import Protocol


@dataclass
class Row:
    """One line of the leaderboard: a variant or a baseline."""

    name: str
    kind: str
    metrics: dict[str, float]
    params: int = 0
    train_seconds: float = 0.0
    latency_ms: float = 0.0
    """Median ONNX Runtime latency of one forecast (batch 1)."""
    backtest_ms: float = 0.0
    """One batched ONNX Runtime call over every fold and series."""
    epochs: int = 0
    model_path: str | None = None
    label: str = ""
    trained: Any = field(default=None, repr=False, compare=False, metadata={"internal": True})
    """A variant's last trained experiment and its fold outputs, for an ensemble (`tsrnn.compare.ensemble`); not
    saved."""


def rank_key(metrics: Mapping[str, float]) -> tuple[float, float]:
    """The ranking rule of compare and tune: lowest MASE first; the MAE breaks ties (a series whose seasonal-naive MAE
    is 0 has no MASE)."""
    return (
        float(np.nan_to_num(metrics.get("mase", math.nan), nan=np.inf)),
        float(np.nan_to_num(metrics.get("mae", math.nan), nan=np.inf)),
    )


@dataclass
class Leaderboard:
    """What compare found: the rows ranked, how they were scored, the winner and the files written."""

    rows: list[Row]
    protocol: Protocol
    best: str
    """The best network (the lowest MASE among the variants)."""
    best_path: str | None = None
    """The exported best model: the best network retrained on all the data, or the winning baseline's file."""
    files: dict[str, str] = field(default_factory=dict)
    winner: str = ""
    """The row with the lowest MASE, a network or a baseline."""
    exported: str = ""
    """What best_path holds: a variant's or a baseline's name ('' when nothing was exported)."""
    verdict: str = ""
    """Who won, in one or two plain sentences (a baseline that beats every network is named)."""

    @property
    def baseline_wins(self) -> bool:
        return any(r.name == self.winner and r.kind == "baseline" for r in self.rows)

    @property
    def interrupted(self) -> str:
        """'interrupted after 2 of 7 variants: ...' when a stop request or Ctrl+C ended the run early, else ''."""
        return self.protocol.interrupted or ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "partial": bool(self.interrupted),
            "interrupted": self.interrupted or None,
            "protocol": self.protocol.as_dict(),
            "best": self.best,
            "best_path": self.best_path,
            "winner": self.winner,
            "winner_kind": "baseline" if self.baseline_wins else "model" if self.winner else "",
            "exported": self.exported,
            "verdict": self.verdict,
            "files": self.files,
            "rows": [
                {f.name: getattr(r, f.name) for f in fields(r) if not f.metadata.get("internal")} for r in self.rows
            ],
        }


def interrupted_words(done: int, total: int, cut: str | None, not_started: list[str], lost: list[str]) -> str:
    """'interrupted after 2 of 7 variants: gru was stopped during its training and is not ranked; not started:
    lstm, bigru; nothing was exported'."""
    parts = [f"{cut} was stopped during its training and is not ranked"] if cut else []
    if not_started:
        parts.append(f"not started: {', '.join(not_started)}")
    head = f"interrupted after {done} of {total} variant{'s' if total != 1 else ''}"
    return head + (": " + "; ".join(parts + lost) if parts or lost else "")


LEADERBOARD_FILES = ("csv", "json", "md")


LEDGER = ".tsrnn-models"
"""Beside a compare folder's models/: the names of the model files compare wrote there (one per line), so that
only its own files are ever removed or replaced."""


def _ours(out_dir: Path) -> set[str]:
    """Names of the files in out_dir/models that compare wrote: those an earlier leaderboard lists and those the
    ledger names (a run stopped before its leaderboard was written)."""
    names: set[str] = set()
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        rows = json.loads((out_dir / "leaderboard.json").read_text()).get("rows") or []
        for r in rows:
            if isinstance(r, dict):
                names.add(f"{r.get('name')}.onnx")
                if r.get("model_path"):
                    names.add(Path(str(r["model_path"])).name)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        names |= {line.strip() for line in (out_dir / LEDGER).read_text().splitlines() if line.strip()}
    return names


def check_folder(out_dir: Path) -> set[str]:
    """Refuse, before any work, a folder whose models/ holds model files that compare did not write there: a run
    replaces and removes the models in that folder, and the user's own files are never among them. Returns the
    names of the files compare wrote there (`_ours`)."""
    models = out_dir / "models"
    ours = _ours(out_dir)
    if not models.is_dir():
        return ours
    foreign = sorted(f.name for f in models.glob("*.onnx") if f.name not in ours)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ConfigError(
            f"{models} holds model files that no tsrnn compare run wrote there ({', '.join(foreign[:3])}{more}); "
            "compare replaces the models of that folder: move them elsewhere, or choose another --out-dir"
        )
    return ours


def clear_folder(out_dir: Path) -> None:
    """Before a run writes its first model: remove the leaderboard of an earlier run, then its models, so that
    the folder never holds an old leaderboard beside new models, nor models that no leaderboard lists. Only
    files that compare wrote are removed (`check_folder` refuses a folder holding others)."""
    ours = check_folder(out_dir)
    for ext in LEADERBOARD_FILES:
        (out_dir / f"leaderboard.{ext}").unlink(missing_ok=True)
    models = out_dir / "models"
    if models.is_dir():
        for f in models.glob("*.onnx"):
            if f.name in ours:
                f.unlink(missing_ok=True)
    (out_dir / LEDGER).unlink(missing_ok=True)


def claim_model(path: Path) -> Path:
    """Record in the folder's ledger that compare writes the model file `path` (out_dir/models/NAME.onnx),
    before it is written; returns `path`."""
    out_dir = path.parent.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    if path.name not in _ours(out_dir):
        with open(out_dir / LEDGER, "a", encoding="utf-8") as fh:
            fh.write(path.name + "\n")
    return path


def write_leaderboard(board: Leaderboard, out_dir: Path) -> dict[str, str]:
    """leaderboard.csv, .json and .md in out_dir, each written atomically, after removing the model files in
    out_dir/models that no row lists: the leaderboard lists exactly the models in the folder."""
    listed = {Path(r.model_path).resolve() for r in board.rows if r.model_path}
    models = out_dir / "models"
    ours = _ours(out_dir)
    if models.is_dir():
        for f in models.glob("*.onnx"):
            if f.resolve() not in listed and f.name in ours:
                f.unlink(missing_ok=True)
    paths = {ext: out_dir / f"leaderboard.{ext}" for ext in LEADERBOARD_FILES}
    board.files = {k: str(p) for k, p in paths.items()}
    atomic_write(paths["csv"], lambda tmp: leaderboard_frame(board).write_csv(tmp))
    atomic_write(paths["json"], lambda tmp: tmp.write_text(json.dumps(board.to_dict(), indent=2)))
    atomic_write(paths["md"], lambda tmp: tmp.write_text(format_markdown(board)))
    return board.files


def leaderboard_frame(board: Leaderboard) -> pl.DataFrame:
    keys = sorted({k for r in board.rows for k in r.metrics}, key=_metric_order)
    return pl.DataFrame(
        [
            {
                "rank": i + 1,
                "variant": r.name,
                "kind": r.kind,
                **{k: r.metrics.get(k) for k in keys},
                "params": r.params,
                "train_seconds": round(r.train_seconds, 3),
                "latency_ms": round(r.latency_ms, 4),
                "backtest_ms": round(r.backtest_ms, 3),
                "epochs": r.epochs,
            }
            for i, r in enumerate(board.rows)
        ]
    )


def _metric_order(key: str) -> tuple[int, int]:
    base = key.removesuffix("_std")
    order = ["mase", "smape", "mae", "rmse", "coverage", "msis"]
    return (order.index(base) if base in order else 99, key.endswith("_std"))


def format_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the leaderboard, as a person reads it (mean ± spread over folds)."""
    extra = [k for k in ("coverage", "msis") if any(k in r.metrics for r in board.rows)]
    header = [
        "#",
        "variant",
        "MASE",
        "sMAPE %",
        "MAE",
        "RMSE",
        *[k if k == "coverage" else "MSIS" for k in extra],
        "params",
        "train s",
        "ORT ms",
    ]
    rows = []
    for i, r in enumerate(board.rows):
        m = r.metrics
        mark = (
            " *"
            if r.name == board.best
            else " !"
            if r.kind == "baseline" and r.name == board.winner
            else " (ref)"
            if r.kind == "reference"
            else ""
        )
        cells = [str(i + 1), r.name + mark, _pm(m, "mase", 3), _pm(m, "smape", 2), _pm(m, "mae", 4), _pm(m, "rmse", 4)]
        cells += [_pm(m, k, 3) if k in m else "" for k in extra]
        model = r.kind not in ("baseline", "reference")
        cells += [
            f"{r.params:,}" if model else "-",
            f"{r.train_seconds:.1f}" if model or r.kind == "reference" else "-",  # a reference's fitting time
            f"{r.latency_ms:.3f}" if model else "-",
        ]
        rows.append(cells)
    return header, rows


def _pm(m: dict[str, float], key: str, digits: int) -> str:
    if key not in m:
        return ""
    value, spread = m[key], m.get(f"{key}_std", 0.0)
    if key in ("mae", "rmse"):
        return f"{value:.4g} ± {spread:.2g}"
    return f"{value:.{digits}f} ± {spread:.{digits}f}"


def format_text(board: Leaderboard) -> str:
    header, rows = format_rows(board)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i in (0, 1) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def format_markdown(board: Leaderboard) -> str:
    header, rows = format_rows(board)
    p = board.protocol
    lines = [
        f"# tsrnn compare: {p.data}",
        "",
        f"{p.series} series, {p.frequency}, season {p.season}; input window {p.input_len}, "
        f"horizon {p.horizon}, {p.folds} rolling origins; training {p.training}; budget "
        f"{p.epochs} epochs (early stopping, patience {p.patience}), hidden {p.hidden_size}, "
        f"batch {p.batch_size}, lr {p.lr}, seed {p.seed}{budget_words(p)}. Mean ± spread over folds; "
        "* best network; ! a baseline that beats every network." + reference_note(board),
        "",
        *([choice_words(p.season_choice) + ".", ""] if p.season_choice else []),
        *([f"**Partial results, {board.interrupted}.**", ""] if board.interrupted else []),
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if board.verdict:
        lines += ["", ("**A baseline wins.** " if board.baseline_wins else "") + board.verdict]
    return "\n".join(lines) + "\n"


def reference_note(board: Leaderboard) -> str:
    """' (ref) a statistical reference (statsforecast; mstl: MSTL (seasons 48, 336)) ...', and the references that
    could not run and why; '' without references."""
    refs = [f"{r.name}: {r.label}" for r in board.rows if r.kind == "reference"]
    record = board.protocol.references or {}
    skipped = [f"{name} not shown, {v['skipped']}" for name, v in record.items() if "skipped" in v]
    out = ""
    if refs:
        out += (
            f" (ref) a statistical reference (statsforecast; {'; '.join(refs)}) on the same folds, shown for scale: "
            "never the winner, never exported; its train s is its fitting time."
        )
    if skipped:
        out += " " + "; ".join(skipped) + "."
    return out


def budget_words(p: Protocol) -> str:
    """'; time budget 5 min (ran 4 min 52 s), 2048 windows sampled per epoch' from a protocol, or ''."""
    out = ""
    if p.budget_s:
        ran = f" (ran {format_seconds(p.elapsed_s)})" if p.elapsed_s is not None else ""
        out += f"; time budget {format_seconds(p.budget_s)}{ran}"
    if p.windows_per_epoch:
        out += f"; at most {p.windows_per_epoch} training windows sampled per epoch"
    return out
