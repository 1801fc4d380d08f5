"""Stopping a long run (compare, tune) on Ctrl+C or SIGTERM: the first signal asks the run to stop after the
optimiser step under way, so that it writes what is complete, marked as partial; a second Ctrl+C stops at once.

    with StopSignals() as stop:
        run_compare(..., should_stop=stop)
    return stop.exit_code  # 0, or 130 (SIGINT) / 143 (SIGTERM) when a signal stopped the run

The handlers are installed only in the main thread (Python delivers signals there) and the previous ones are put
back when the block ends. No heavy imports here: the forecasting commands may use it too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "Ctrl+C", signal.SIGTERM: "SIGTERM"}


class StopNow(KeyboardInterrupt):
    """A second signal while a run is stopping: leave at once (the files already written stay as they are)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"{NAMES.get(signal.Signals(signum), signum)} again: stopped at once")
        self.exit_code = 128 + signum


class StopSignals:
    """A run's stop flag, set by SIGINT or SIGTERM while the block runs; calling it answers `should_stop`."""

    def __init__(self, notice: str | None = None, *, linger: bool = False) -> None:
        self.linger = linger
        """After a signal, keep handling signals when the block ends: a later one exits the process at once (for
        a command whose run ends in the block; otherwise the previous handlers are put back)."""
        self.signum: int | None = None
        """The first signal received, or None."""
        self.notice = notice
        """Written to stderr when the first signal arrives (what the run does now)."""
        self._old: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """0 when no signal arrived, else the shell's code for it: 130 for SIGINT, 143 for SIGTERM."""
        return 0 if self.signum is None else 128 + self.signum

    @property
    def name(self) -> str:
        """'Ctrl+C' or 'SIGTERM' ('' when no signal arrived)."""
        return "" if self.signum is None else NAMES.get(signal.Signals(self.signum), str(self.signum))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise StopNow(signum)
        self.signum = signum
        if self.notice:
            # os.write, not print: a handler may run while Python is inside a write to sys.stderr
            os.write(2, f"\n{NAMES.get(signal.Signals(signum), signum)}: {self.notice}\n".encode())

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                if signal.getsignal(s) is not signal.SIG_IGN:  # ignored (nohup, a background job): left so
                    self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            if self.signum is not None and self.linger:
                # the run is stopping and what it keeps is written: a later signal ends the process at once,
                # with the shell's code for it, instead of a KeyboardInterrupt in whatever runs then
                signal.signal(s, _exit_now)
            else:
                signal.signal(s, signal.SIG_DFL if old is None else old)  # None: a handler set outside Python
        self._old.clear()


def _exit_now(signum: int, frame: FrameType | None) -> None:
    exit_now(128 + signum)


def exit_now(code: int) -> None:
    """Flush standard output and error, then end the process with `code` without the interpreter's teardown
    (nothing of a stopped run is left to write; a signal during the teardown would end it by that signal)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
