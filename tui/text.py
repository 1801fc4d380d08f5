"""Words the UI shows: model descriptions for a learner, and engine errors phrased for the TUI."""

from __future__ import annotations

import re

from textual.markup import escape
from textual.widgets import Static

CELL_HELP = {
    "rnn": (
        "**Simple RNN (tanh)**: one hidden state, updated each step as tanh(W·x + U·h). Few weights and fast, "
        "but the gradient shrinks or explodes over many steps, so it remembers only a short past. "
        "A good baseline for short windows."
    ),
    "gru": (
        "**GRU**: two gates. The *update gate* decides how much of the old state to keep and how much new "
        "information to write; the *reset gate* decides how much of the past to use when proposing that "
        "information. Nearly as good as an LSTM at long dependencies, with fewer weights, and often trains faster."
    ),
    "lstm": (
        "**LSTM**: a separate *cell state* carried along by addition, guarded by forget, input and output gates. "
        "Because the cell is updated additively (not squashed each step), gradients survive over long spans, "
        "so it can hold dependencies such as a seasonal pattern many steps back."
    ),
}

OPTION_HELP = (
    "**Bidirectional** reads each input window forwards and backwards and joins both views. The forecast "
    "still only sees the past window; it helps when a pattern is easier to recognise from its end than its "
    "start, at twice the cost.\n\n"
    "**Layers** stack recurrent layers: each reads the sequence of the layer below, so higher layers can "
    "model slower, more abstract patterns. Two is usually enough; more needs more data. "
    "**Dropout** acts between stacked layers only (ignored with one layer).\n\n"
    "**Input window** is how many past steps the model reads; **horizon** how many future steps it "
    "forecasts at once. The last horizon steps are held out as the test block, the block before as "
    "validation for early stopping (**patience** epochs without improvement).\n\n"
    "**Seasons** longer than the window (a day and a week of half-hours: 48, 336) give the model a seasonal "
    "profile: the same step on each of the last days and a week before, mixed by learned weights; the network "
    "corrects it. `auto` tries them first in two brief trainings and keeps them where the validation loss is "
    "lower; `none` leaves them out; a list such as `48,336` uses those.\n\n"
    "**Calendar** features are known in advance, for the window and every step of the horizon: `auto` picks "
    "by frequency (hour and day of week for sub-daily data, day of week and of year for daily, week of year, "
    "month, quarter); `none` turns them off. **Holidays** adds public-holiday flags (holiday, day before, day "
    "after) for a country such as `AU:VIC` or `US`; the dates are stored in the model, so forecasting needs "
    "nothing else. **Time zone** reads UTC timestamps as local time for both. **Future columns** are your own "
    "columns known ahead (a promotion, a planned price, a weather forecast): at forecast time their values "
    "for the horizon come from the rows after the history, or from a future-values CSV (Forecast screen)."
)

# The engine's messages name command-line flags; in the TUI those are fields.
_FLAGS = [
    (re.compile(r"choose what to forecast with --target COL"), "choose what to forecast in the Targets list"),
    (re.compile(r"pass --time-col"), "choose the Time column"),
    (re.compile(r"choose another --out path"), "type another path and try again"),
    (re.compile(r"lower --lr"), "lower the learning rate"),
    (re.compile(r"--device (cpu|cuda|auto)"), r"device \1"),
    (re.compile(r"--(\w[\w-]*)"), r"\1"),
]


def for_tui(message: str) -> str:
    """An engine error message with command-line flags replaced by the TUI's field names."""
    for pattern, repl in _FLAGS:
        message = pattern.sub(repl, message)
    return message


def seconds(value: float) -> str:
    """1.2 s, 42 s, 3 min 5 s."""
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    return f"{int(value // 60)} min {int(value % 60)} s"


def show_error(target: Static, title: str, message: str) -> str:
    """Put an engine error beside the action that failed and raise a notification; return the TUI text."""
    text = for_tui(message)
    target.update(f"[b $error]{escape(title)}:[/] {escape(text)}")
    target.app.notify(text, title=title, severity="error", timeout=10)
    return text
