"""The HTTP routes of `tsrnn serve` (Starlette): forecast, list, reload, health and metrics. Every error is a JSON
body with the one-line message the command line would print; no traceback ever reaches a client."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tsrnn.core.errors import TsrnnError
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.access import ASGIApp, RequireToken
from tsrnn.serve.bodies import JSON, Limits, RequestError, Runner, answer_type, forecast_body, render
from tsrnn.serve.metrics import Metrics
from tsrnn.serve.models import Models

log = logging.getLogger("tsrnn.serve")

Endpoint = Callable[[Request], Awaitable[Response]]
WORKERS = 40
"""Threads that read and answer forecast requests (as many as Starlette's own pool)."""


def error_response(status: int, message: str, title: str = "Error") -> JSONResponse:
    return JSONResponse({"error": message, "title": title}, status_code=status)


def status_of(exc: TsrnnError) -> int:
    """A request's own errors carry their status; the data's and the settings' are 422 (well-formed, not usable)."""
    return exc.status if isinstance(exc, RequestError) else 422


def observed(route: str, metrics: Metrics, endpoint: Endpoint) -> Endpoint:
    """The endpoint with its errors answered as JSON and every answer counted and timed."""

    async def handle(request: Request) -> Response:
        t0 = time.perf_counter()
        try:
            response = await endpoint(request)
        except TsrnnError as exc:
            response = error_response(status_of(exc), exc.message, exc.title)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # a bug (or a library's panic): its traceback in the log, one line to the client
            log.exception("internal error on %s %s", request.method, request.url.path)
            response = error_response(
                500, f"internal error ({type(exc).__name__}); the server logged the details", "Internal error"
            )
        metrics.observe_request(route, response.status_code, time.perf_counter() - t0)
        return response

    return handle


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes `limit` bytes, whatever its Content-Length says."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size: int, limit: int) -> RequestError:
    return RequestError(
        f"the request body has {'more than ' if size > limit else ''}{size} bytes; this server takes at most "
        f"{limit} (--max-body): split the request",
        413,
    )


def make_app(
    models: Models, limits: Limits | None = None, token: str | None = None, metrics: Metrics | None = None
) -> ASGIApp:
    """The ASGI application serving `models`; with `token`, every route but /healthz needs it. `metrics` counts
    the batches and reloads when `models` was made with its `observe_batch` and `observe_reload`."""
    limits = limits or Limits()
    metrics = metrics or Metrics()
    workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="tsrnn-request")

    async def forecast(request: Request) -> Response:
        name = request.path_params["name"]
        kind = answer_type(request.headers.get("accept"))
        with models.use(name) as (served, ticket):  # from the first byte: the batcher may wait for this request
            body = await read_body(request, limits.max_body)
            ctype = request.headers.get("content-type", JSON)
            work = functools.partial(answer, served.model, body, ctype, ticket, kind)
            content, headers = await asyncio.get_running_loop().run_in_executor(workers, work)
        return Response(content, media_type=kind, headers=headers)

    def answer(model: Forecaster, body: bytes, ctype: str, runner: Runner, kind: str) -> tuple[bytes, dict[str, str]]:
        """On a worker thread: the request read and forecast, and the answer written."""
        return render(model, forecast_body(model, body, ctype, limits, runner), kind)

    async def list_models(request: Request) -> Response:
        return JSONResponse({"models": [s.describe() for s in models.all()]})

    async def reload(request: Request) -> Response:
        name = request.path_params["name"]
        served = await run_in_threadpool(models.reload, name)
        return JSONResponse({"reloaded": name, "model": served.describe()})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": models.names})

    async def metrics_text(request: Request) -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        what = {404: "no such route", 405: f"{request.method} is not allowed here"}.get(exc.status_code, exc.detail)
        return error_response(
            exc.status_code, f"{what}: {request.method} {request.url.path}; see docs/serve.md for the routes"
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        models.close()  # after the last request in flight is answered
        workers.shutdown(wait=False)

    routes = [
        Route("/v1/models/{name}/forecast", observed("forecast", metrics, forecast), methods=["POST"]),
        Route("/v1/models/{name}/reload", observed("reload", metrics, reload), methods=["POST"]),
        Route("/v1/models", observed("models", metrics, list_models), methods=["GET"]),
        Route("/healthz", observed("healthz", metrics, health), methods=["GET"]),
        Route("/metrics", observed("metrics", metrics, metrics_text), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.models = models
    app.state.metrics = metrics
    return RequireToken(app, token) if token else app
