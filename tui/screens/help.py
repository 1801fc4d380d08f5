"""Help screen: every key binding and what each screen does, built from tui.keys."""

from __future__ import annotations

from textual.widgets import Markdown

from ..keys import GLOBAL_KEYS, LOCAL_KEYS, display_key

SCREENS = """\
## Screens

- **Data (F1)**: open a CSV by typing its path (Enter) or picking it in the file tree. See the first and
  last rows, the time span, the inferred frequency, the number of series, missing values filled and gaps,
  and a plot of the targets. Choose the time, id, target and input columns on the right: the file reloads.
- **Model (F2)**: choose the recurrent cell (Simple RNN, GRU, LSTM), bidirectional, layers, hidden size,
  dropout, input window and horizon (blank: the default for the data's frequency), and the training
  settings. A wrong value is marked beside its field, e.g. a window too long for the data.
- **Train (F3)**: start (Ctrl+T) and cancel (Ctrl+X) training; the bar counts epochs with the time left, the
  plot shows train and validation loss per epoch. At the end the test metrics compare the model with the
  naive, seasonal-naive and drift forecasts. Export (Ctrl+E) writes one .onnx file (default in exports/)
  and shows how far ONNX Runtime is from PyTorch.
- **Forecast (F4)**: pick an exported model (list or typed path), a CSV with the model's columns and a
  provider; Ctrl+F forecasts the next horizon steps and shows which provider ran and how long it took.
  Ctrl+S saves the table to the typed CSV path. A quantile model (Quantiles field on the Model screen) draws
  its lower and upper quantiles and the median, and its table has one column per quantile
  (e.g. passengers_q10); a direction model shows the probability that the next value rises.
- **Compare (F6)**: tick the variants (rnn, gru, lstm, bigru, bilstm, gru-3, lstm-3, or type more, e.g.
  gru-2), the number of folds (rolling origins) and whether to refit at each origin; Ctrl+R trains every
  variant on the Data screen's file with the Model screen's window, hidden size and training budget,
  with a bar per variant and one overall (Ctrl+X cancels). The leaderboard ranks the variants and the
  naive, seasonal-naive and drift baselines by mean MASE over the folds (* marks the best variant); the plot
  overlays their forecasts of the last fold on the actual values. Enter (or a click) on a variant's row
  exports its model to exports/<file>_<variant>.onnx or opens it in the Forecast screen.

Settings of the last session (file, columns, model fields, forecast paths) are kept in
`$XDG_CONFIG_HOME/tsrnn/tui.json` (default `~/.config/tsrnn/tui.json`).
"""


def key_table() -> str:
    rows = ["| key | action |", "|---|---|"]
    rows += [f"| {display_key(k.keys)} | {k.help} |" for k in GLOBAL_KEYS]
    rows += [f"| {keys} | {text} |" for keys, text in LOCAL_KEYS]
    return "\n".join(rows)


def help_markdown() -> str:
    return (
        "## Keys\n\nThe keys in the first rows work everywhere, also while typing in a text box.\n\n"
        + key_table()
        + "\n\n"
        + SCREENS
    )


class HelpView(Markdown):
    can_focus = True  # so that the keys scroll it

    def __init__(self, id: str | None = None) -> None:
        super().__init__(help_markdown(), id=id)
