"""Stop a command cleanly on its time limit, SIGTERM or SIGINT (Ctrl+C), even inside a long ONNX Runtime call.

`guarded` turns each of them into `Stopped`, raised in the main thread, so that the writers' cleanup runs (the
temporary output file is removed, an existing output is left as it was). A signal that arrives while the main
thread waits in ONNX Runtime is caught by a watcher thread (through the signal wake-up descriptor), which calls
the registered stop hooks (`Forecaster.stop`: ONNX Runtime ends its running calls); the main thread then gets
`Stopped` as soon as it runs Python again.
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import threading
from collections.abc import Callable, Iterator

from tsrnn.core.budget import NO_BUDGET, parse_budget
from tsrnn.core.errors import ConfigError

DEFAULT_TIMEOUT = 600.0
"""`tsrnn forecast --timeout` when not given, in seconds."""


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
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    caught = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGALRM] if timeout is not None else [])

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
