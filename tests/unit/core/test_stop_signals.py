"""tsrnn.core.interrupt: the stop flag set by SIGINT/SIGTERM, the second signal that stops at once, the handlers put
back; and the engine's stop hooks that it drives (a stop checked at every optimiser step)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tsrnn.core.interrupt import StopNow, StopSignals


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)  # Python runs the handler at the next bytecode of the main thread


def test_first_signal_sets_the_flag_and_the_second_stops_at_once() -> None:
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as stop:
        assert not stop() and stop.exit_code == 0
        _send(signal.SIGINT)
        assert stop() and stop.exit_code == 130 and stop.name == "Ctrl+C"
        with pytest.raises(StopNow) as info:
            _send(signal.SIGINT)
        assert info.value.exit_code == 130 and isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_exits_143_and_its_handler_is_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        _send(signal.SIGTERM)
        assert stop() and stop.exit_code == 143 and stop.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_signal_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # nohup, a background job
    try:
        with StopSignals() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            _send(signal.SIGINT)
            assert not stop()
    finally:
        signal.signal(signal.SIGINT, before)


def test_outside_the_main_thread_it_installs_nothing() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def body() -> None:
        with StopSignals():
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == [before]


def test_fit_checks_a_stop_request_at_every_step() -> None:
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series("demo")
    cfg = model_config(data, cell="gru", hidden_size=8)
    calls: list[int] = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    exp = train_experiment(data, cfg, TrainConfig(epochs=50, threads=1), should_stop=stop)
    assert exp.result.stopped == "cancelled" and exp.result.epochs_run == 1  # inside the first epoch (20+ steps)
    assert len(calls) == 4  # steps 2 and 3 asked, the third answer ended the epoch; the epoch's end asked again


def test_a_second_signal_inside_fit_is_not_swallowed() -> None:
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series("demo")
    cfg = model_config(data, cell="gru", hidden_size=8)

    def on_epoch(info: object) -> None:
        raise StopNow(signal.SIGINT)

    with pytest.raises(StopNow):
        train_experiment(data, cfg, TrainConfig(epochs=5, threads=1), on_epoch=on_epoch)


def test_compare_stopped_at_a_later_origin_keeps_no_model_of_the_cut_variant(tmp_path: Path) -> None:
    """The TUI's Cancel (should_stop) marks the files as Ctrl+C does; with --refit the variant cut at its second
    origin leaves no model file of its first."""
    import json

    from tsrnn.compare.request import CompareRequest
    from tsrnn.compare.run import parse_variants, run_compare
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config

    data = load_series("demo")
    base = model_config(data, hidden_size=8)
    lstm_epochs: list[object] = []
    stop = threading.Event()

    def progress(p: object) -> None:
        if getattr(p, "variant", "") == "lstm" and getattr(p, "epoch", None) is not None:
            lstm_epochs.append(p)
            if len(lstm_epochs) == 3:  # origin 1's first epoch: origin 0's model file is written
                assert (tmp_path / "models" / "lstm.onnx").is_file()
                stop.set()

    board = run_compare(
        CompareRequest(
            data,
            tuple(parse_variants("gru,lstm")),
            base,
            TrainConfig(epochs=2, patience=100, threads=1),
            folds=2,
            refit=True,
            out_dir=tmp_path,
        ),
        on_progress=progress,
        should_stop=stop.is_set,
    )
    words = "interrupted after 1 of 2 variants: lstm was stopped during its training and is not ranked"
    assert board.interrupted.startswith(words)
    assert [r.name for r in board.rows if r.kind == "model"] == ["gru"] and board.best_path is None
    saved = json.loads((tmp_path / "leaderboard.json").read_text())
    assert saved["interrupted"] == board.interrupted and saved["partial"] is True
    listed = {r["model_path"].rsplit("/", 1)[-1] for r in saved["rows"] if r["model_path"]}
    assert {p.name for p in (tmp_path / "models").iterdir()} == listed and "lstm.onnx" not in listed
