"""Every key binding in one table: the app binds from it, and the Help screen and docs list it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    keys: str
    """Textual key name(s), comma-separated."""
    action: str
    label: str
    """Short footer text."""
    help: str
    """What it does, for the Help screen."""
    priority: bool = True
    """Checked before the focused widget, so it works inside text inputs."""
    show: bool = True
    """Listed in the footer (the tab labels already name F1-F6)."""


GLOBAL_KEYS = (
    Key("f1", "show_tab('data')", "Data", "Data screen: open a CSV, choose columns", show=False),
    Key("f2", "show_tab('model')", "Model", "Model screen: cell, sizes, window, training settings", show=False),
    Key("f3", "show_tab('train')", "Train", "Train screen: progress, loss plot, metrics, export", show=False),
    Key("f4", "show_tab('forecast')", "Forecast", "Forecast screen: run an exported model on a CSV", show=False),
    Key("f5", "show_tab('help')", "Help", "Help screen (this page)", show=False),
    Key(
        "f6",
        "show_tab('compare')",
        "Compare",
        "Compare screen: backtest RNN variants, leaderboard, export one",
        show=False,
    ),
    Key("ctrl+o", "open", "Open", "Jump to the CSV path box on the Data screen (Enter opens it)"),
    Key("ctrl+t", "train", "Train", "Start training with the Model screen's settings"),
    Key("ctrl+r", "compare", "Compare", "Run the comparison with the Compare screen's variants and folds"),
    Key(
        "ctrl+x",
        "cancel",
        "Cancel",
        "Cancel training or a comparison after the current epoch (best weights are "
        "kept; variants not started are skipped)",
    ),
    Key("ctrl+e", "export", "Export", "Export the trained model to ONNX and check it against PyTorch"),
    Key("ctrl+f", "forecast", "Forecast", "Forecast with the chosen .onnx model and CSV"),
    Key("ctrl+s", "save", "Save", "Save the forecast table to the CSV path typed on the Forecast screen"),
    Key("ctrl+q", "quit", "Quit", "Quit (a running training or comparison is cancelled first)"),
)

LOCAL_KEYS = (
    ("tab / shift+tab", "Move between fields, buttons, lists and tables"),
    (
        "enter",
        "Press the focused button; in a path box, open or use the path; in the file tree, open the file; "
        "on a leaderboard row, export it or open it in the Forecast screen",
    ),
    ("space", "Toggle a checkbox or a column in the Targets / Inputs lists; expand a folder in the file tree"),
    ("up / down", "Move in lists, trees, tables and open drop-downs"),
    ("ctrl+p", "Command palette (theme, screenshot, keys)"),
    ("ctrl+x / ctrl+e", "Cut / go to end inside a text box, while there is no training to cancel or model to export"),
)


def display_key(keys: str) -> str:
    """'ctrl+t' -> 'Ctrl+T', 'f1' -> 'F1'."""
    return ", ".join(
        "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in k.split("+")) for k in keys.split(",")
    )
