"""Run the server: load the models, bind, serve until SIGTERM or Ctrl+C (finishing what is in flight, exit 0), and
reload every model on SIGHUP."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType

import uvicorn

from tsrnn.core.errors import ConfigError
from tsrnn.serve.access import is_loopback
from tsrnn.serve.app import make_app
from tsrnn.serve.bodies import Limits
from tsrnn.serve.metrics import Metrics
from tsrnn.serve.models import Models

log = logging.getLogger("tsrnn.serve")

GRACE_S = 30
"""Seconds a stopping server waits for the requests in flight."""


@dataclass
class ServeOptions:
    """How `tsrnn serve` runs."""

    models: list[str]
    host: str = "127.0.0.1"
    port: int = 8000
    device: str = "cpu"
    max_batch: int = 256
    """Windows per merged ONNX Runtime call (1: one call per request)."""
    max_wait_ms: float = 2.0
    """How long a call waits for requests still being read before it runs."""
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    access_log: bool = False


def serve(opts: ServeOptions) -> int:
    """Serve until stopped; 0 when stopped by SIGTERM or Ctrl+C."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s", stream=sys.stderr)
    if not opts.token and not is_loopback(opts.host):
        print(
            f"warning: serving on {opts.host} without a token: anyone who can reach this port can use the models; "
            "set TSRNN_TOKEN (or --token) to require one",
            file=sys.stderr,
        )
    metrics = Metrics()
    models = Models(
        opts.models, opts.device, opts.max_batch, opts.max_wait_ms / 1000, metrics.observe_batch, metrics.observe_reload
    )
    for s in models.all():
        note = f" ({s.model.fallback})" if s.model.fallback else ""
        log.info("model %s: %s, %s on %s%s", s.name, s.model.path, s.model.meta.describe(), s.model.provider, note)
    try:
        sock = listen(opts.host, opts.port)
    except ConfigError:
        models.close()
        raise
    host, port = sock.getsockname()[:2]
    log.info("serving %s on http://%s:%d (Ctrl+C or SIGTERM stops, SIGHUP reloads)", ", ".join(models.names),
             f"[{host}]" if ":" in host else host, port)  # fmt: skip
    app = make_app(models, opts.limits, opts.token, metrics)
    config = uvicorn.Config(
        app,
        host=opts.host,
        port=opts.port,
        lifespan="on",
        access_log=opts.access_log,
        timeout_graceful_shutdown=GRACE_S,
        log_level="info",
    )
    server = uvicorn.Server(config)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    # uvicorn stops on SIGTERM and SIGINT and, once stopped, sends itself the signal again to the handler it
    # found: a quiet one, so that a stop asked for ends with 0, not with death by the signal.
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    signal.signal(signal.SIGHUP, lambda signum, frame: _reload_in_background(models))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        models.close()
    return 0 if server.started else 1


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before uvicorn starts, so that a taken port or an unknown host is one clear
    error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, IndexError) as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}; check --host"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port or stop what uses it"
        ) from None
    return sock


def _stopped(signum: int, frame: FrameType | None) -> None:
    """Nothing more to do: uvicorn has already finished what was in flight."""


def _reload_in_background(models: Models) -> None:
    """SIGHUP: every model reloaded from its file, off the event loop (each refusal logged; the old one serves)."""

    def reload() -> None:
        log.info("SIGHUP: reloading %s", ", ".join(models.names))
        models.reload_all()

    threading.Thread(target=reload, name="tsrnn-sighup", daemon=True).start()
