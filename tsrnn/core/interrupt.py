"""Stopping a command on Ctrl+C, SIGTERM or its time limit: the two ways tsrnn's commands stop, with what they share
(the signals caught, the shell's exit codes, handlers only in the main thread and the previous ones put back).

- `StopSignals`, for long runs (compare, tune): the first signal asks the run to stop after the optimiser step
  under way, so that it writes what is complete, marked as partial; a second Ctrl+C stops at once (`StopNow`).

      with StopSignals() as stop:
          run_compare(request, should_stop=stop)
      return stop.exit_code  # 0, or 130 (SIGINT) / 143 (SIGTERM) when a signal stopped the run

- `guarded`, for forecasting: the time limit, SIGTERM or SIGINT become `Stopped`, raised in the main thread, so
  that the writers' cleanup runs (the temporary output file is removed, an existing output is left as it was). A
  signal that arrives while the main thread waits in ONNX Runtime is caught by a watcher thread (through the
  signal wake-up descriptor), which calls the registered stop hooks (`Forecaster.stop`: ONNX Runtime ends its
  running calls); the main thread then gets `Stopped` as soon as it runs Python again.

No heavy imports here: every command may use it.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from tsrnn.core.budget import NO_BUDGET, parse_budget
from tsrnn.core.errors import ConfigError

SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a command."""
NAMES = {signal.SIGINT: "Ctrl+C", signal.SIGTERM: "SIGTERM"}
DEFAULT_TIMEOUT = 600.0
"""`tsrnn forecast --timeout` when not given, in seconds."""


def exit_code(signum: int) -> int:
    """The shell's exit code for a process ended by `signum`: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


def in_main_thread() -> bool:
    """Whether signal handlers can be set here (Python delivers signals to the main thread only)."""
    return threading.current_thread() is threading.main_thread()


# --- long runs: a stop flag ---------------------------------------------------------------------------------


class StopNow(KeyboardInterrupt):
    """A second signal while a run is stopping: leave at once (the files already written stay as they are)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"{NAMES.get(signal.Signals(signum), signum)} again: stopped at once")
        self.exit_code = exit_code(signum)


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
        return 0 if self.signum is None else exit_code(self.signum)

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
        if in_main_thread():
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
    exit_now(exit_code(signum))


def exit_now(code: int) -> None:
    """Flush standard output and error, then end the process with `code` without the interpreter's teardown
    (nothing of a stopped run is left to write; a signal during the teardown would end it by that signal)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


# --- forecasting: stopped at once, cleanly -----------------------------------------------------------------


class Stopped(BaseException):
    """The command was stopped: by its time limit (`signum` None) or by a signal. A BaseException, so that no
    `except Exception` on the way mistakes it for a failure of what was running."""

    def __init__(self, signum: int | None) -> None:
        super().__init__("time limit" if signum is None else signal.Signals(signum).name)
        self.signum = signum


def parse_timeout(text: str | float | None) -> float | None:
    """Seconds of a --timeout ('600', '90s', '10m', '1h'); None for no limit ('none', '0')."""
    if text is None:
        return None
    if isinstance(text, str) and (text.strip().lower() in NO_BUDGET or text.strip() in ("0", "0s")):
        return None
    if not isinstance(text, str) and text == 0:
        return None
    try:
        return parse_budget(text)
    except ConfigError:
        raise ConfigError(
            f"--timeout '{text}' is not a duration: write seconds (600) or 90s, 10m, 1h; 0 or none for no limit"
        ) from None


class Guard:
    """What `guarded` yields: register the hooks that stop running work with `on_stop`."""

    def __init__(self) -> None:
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_stop(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._hooks.append(hook)

    def stop(self) -> None:
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            hook()


@contextlib.contextmanager
def guarded(timeout: float | None) -> Iterator[Guard]:
    """Raise Stopped in the main thread after `timeout` seconds (None: never) or on SIGTERM or SIGINT, once the
    stop hooks have ended what was running. Outside the main thread it only yields (signals are the main
    thread's)."""
    guard = Guard()
    if not in_main_thread():
        yield guard
        return
    caught = [*SIGNALS] + ([signal.SIGALRM] if timeout is not None else [])

    def handler(signum: int, frame: object) -> None:
        guard.stop()
        raise Stopped(None if signum == signal.SIGALRM else signum)

    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous = {s: signal.signal(s, handler) for s in caught}
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            try:
                got = reader.recv(64)
            except OSError:
                return
            if not got:
                return
            if any(b in caught for b in got):
                guard.stop()

    watcher = threading.Thread(target=watch, name="tsrnn-guard", daemon=True)
    watcher.start()
    if timeout is not None:
        signal.setitimer(signal.ITIMER_REAL, max(math.ceil(timeout * 1000) / 1000, 0.001))
    try:
        yield guard
    finally:
        if timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        signal.set_wakeup_fd(old_fd)
        for s, h in previous.items():
            signal.signal(s, h)
        writer.close()
        with contextlib.suppress(OSError):
            reader.shutdown(socket.SHUT_RDWR)
        watcher.join(timeout=1)
        reader.close()
