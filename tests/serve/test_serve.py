"""`tsrnn serve` for real on a loopback port: its forecasts are `tsrnn forecast`'s, concurrent requests share one
ONNX Runtime call, every bad request is a 4xx with the command line's message, reloads swap a good file in and
refuse a damaged one, the token guards every route but /healthz, and SIGTERM finishes what is in flight."""

from __future__ import annotations

import io
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from tsrnn.cli.commands import main
from tsrnn.data.loader import demo_path
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster

DEMO = demo_path()


def demo_rows() -> list[dict[str, str]]:
    return pl.read_csv(DEMO, infer_schema=False).to_dicts()


def expected(model: Path, data: Path, **kwargs: object) -> list[dict[str, object]]:
    """What `tsrnn forecast` computes for the file: forecast_file, the function the command calls."""
    with Forecaster.load(model) as m:
        return forecast_file(m, data, **kwargs).table.to_dicts()  # type: ignore[arg-type]


def assert_rows_equal(got: list[dict[str, object]], want: list[dict[str, object]], rtol: float = 1e-5) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, rel=rtol, abs=1e-4), (k, g, w)
            else:
                assert g[k] == v, (k, g, w)


def forecast(c: httpx.Client, model: str, **kwargs: object) -> httpx.Response:
    return c.post(f"/v1/models/{model}/forecast", **kwargs)  # type: ignore[arg-type]


def test_forecasts_equal_tsrnn_forecast(
    server: Any, serve_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One series as JSON rows, as JSON series, as a CSV body and as a Parquet body; answers as JSON, CSV and
    Parquet: each is what `tsrnn forecast` prints or writes."""
    assert main(["forecast", str(serve_models["demo"]), str(DEMO), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    rows = demo_rows()
    with server.client() as c:
        by_rows = forecast(c, "demo", json={"rows": rows}).json()
        assert by_rows["forecast"] == cli["forecast"] and by_rows["n_series"] == 1 and by_rows["warnings"] == []
        series = {"timestamps": [r["time"] for r in rows], "values": [float(r["passengers"]) for r in rows]}
        assert forecast(c, "demo", json={"series": [series]}).json()["forecast"] == cli["forecast"]
        csv_body = DEMO.read_bytes()
        as_csv = forecast(c, "demo", content=csv_body, headers={"content-type": "text/csv", "accept": "text/csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert main(["forecast", str(serve_models["demo"]), str(DEMO), "--out", str(tmp_path / "f.csv")]) == 0
        assert as_csv.text == (tmp_path / "f.csv").read_text()
        buf = io.BytesIO()
        pl.read_csv(DEMO, try_parse_dates=True).write_parquet(buf)
        parquet = "application/vnd.apache.parquet"
        as_pq = forecast(c, "demo", content=buf.getvalue(), headers={"content-type": parquet, "accept": parquet})
        assert as_pq.status_code == 200, as_pq.text
        assert main(["forecast", str(serve_models["demo"]), str(DEMO), "--out", str(tmp_path / "f.parquet")]) == 0
        assert pl.read_parquet(io.BytesIO(as_pq.content)).equals(pl.read_parquet(tmp_path / "f.parquet"))


def test_calendar_future_columns_quantiles_and_many_series(
    server: Any, serve_models: dict[str, Path], tmp_path: Path, kit: Any
) -> None:
    """40 series with a calendar, a future column over the horizon and three quantiles: as JSON rows (the
    future rows after each series' last target), as a CSV body, and with the future values apart ('future')."""
    data = kit.write_rich(tmp_path / "rich.csv", future=True)
    want = expected(serve_models["rich"], data)
    assert len(want) == kit.rich_series * kit.rich_h and {"load_q10", "load_q50", "load_q90"} <= set(want[0])
    rows = pl.read_csv(data, infer_schema=False).to_dicts()
    with server.client() as c:
        got = forecast(c, "rich", json={"rows": rows}).json()
        assert got["n_series"] == kit.rich_series
        assert_rows_equal(got["forecast"], want)
        body = data.read_bytes()
        assert_rows_equal(
            forecast(c, "rich", content=body, headers={"content-type": "text/csv"}).json()["forecast"], want
        )
        past = [r for r in rows if r["load"] is not None]
        ahead = [{k: r[k] for k in ("id", "time", "promo")} for r in rows if r["load"] is None]
        pl.DataFrame(ahead).write_csv(tmp_path / "future.csv")
        pl.DataFrame(past).write_csv(tmp_path / "past.csv")
        want_apart = expected(serve_models["rich"], tmp_path / "past.csv", future_csv=tmp_path / "future.csv")
        got = forecast(c, "rich", json={"rows": past, "future": ahead}).json()
        assert_rows_equal(got["forecast"], want_apart)


def test_an_ensemble_file(server: Any, serve_models: dict[str, Path]) -> None:
    with server.client() as c:
        got = forecast(c, "ens", json={"rows": demo_rows()}).json()
    assert_rows_equal(got["forecast"], expected(serve_models["ens"], DEMO))


def batch_counts(c: httpx.Client, model: str) -> tuple[float, float]:
    """(ONNX Runtime calls that ran one request, all calls) for `model`, from /metrics."""
    text = c.get("/metrics").text
    one = re.search(rf'tsrnn_batch_requests_bucket{{le="1.0",model="{model}"}} (\S+)', text)
    every = re.search(rf'tsrnn_batch_requests_count{{model="{model}"}} (\S+)', text)
    assert one and every, text
    return float(one.group(1)), float(every.group(1))


@pytest.mark.parametrize("as_text", [True, False], ids=["full-loader", "express-lane"])
def test_concurrent_requests_share_one_call(server: Any, serve_models: dict[str, Path], as_text: bool) -> None:
    """24 clients at once, each its own series: the metrics show calls that merged several requests, and each
    answer is its own series' forecast. Values as text go through the full loader, values as numbers through the
    express lane; either way the requests' tables are merged before they are read."""
    rows = demo_rows()
    cell = str if as_text else float
    scaled = [[{**r, "passengers": cell(float(r["passengers"]) * (1 + i / 10))} for r in rows] for i in range(24)]
    with server.client() as c:
        alone = [forecast(c, "ens", json={"rows": s}).json()["forecast"] for s in scaled[:3]]
        one_before, all_before = batch_counts(c, "ens")

        def ask(s: list[dict[str, Any]]) -> list[dict[str, object]]:
            with server.client() as own:
                r = forecast(own, "ens", json={"rows": s})
                assert r.status_code == 200, r.text
                return r.json()["forecast"]  # type: ignore[no-any-return]

        with ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(ask, scaled))
        one_after, all_after = batch_counts(c, "ens")
    calls = all_after - all_before
    assert calls < 24, "every request ran alone"
    assert one_after - one_before < calls, "no call merged two requests"
    for got, want in zip(answers[:3], alone, strict=True):
        assert_rows_equal(got, want, rtol=1e-4)


ERROR_CASES = [
    ("malformed JSON", "demo", {"content": b'{"rows": [1,', "headers": {"content-type": "application/json"}}, 400,
     "not valid JSON"),
    ("a row that is not an object", "demo", {"json": {"rows": [1, 2]}}, 400, "'rows' row 1 is a JSON number"),
    ("wrong columns", "demo", {"json": {"rows": [{"time": "1949-01-01", "load": 1}]}}, 422,
     "request: columns 'passengers' are missing; the model demo.onnx needs time, passengers"),
    ("too-short history", "demo", {"json": {"rows": demo_rows()[:10]}}, 422,
     "request: the series has 10 rows; the model needs the last 24"),
    ("too-short history, values as numbers", "demo",
     {"json": {"series": [{"timestamps": [r["time"] for r in demo_rows()[:10]], "values": list(range(10))}]}}, 422,
     "request: the series has 10 rows; the model needs the last 24"),
    ("wrong frequency", "demo",
     {"json": {"rows": [{"time": f"2024-01-{d:02d}", "passengers": d} for d in range(1, 31)]}}, 422,
     "request: the data is daily (1d) but the model demo.onnx was trained on monthly data (1mo)"),
    ("a non-numeric value", "demo",
     {"json": {"rows": [*demo_rows()[:30], {"time": "1951-07-01", "passengers": "lots"}]}}, 422,
     "request: column 'passengers' has non-numeric values on row 31 ('lots')"),
    ("unknown model", "nope", {"json": {"rows": demo_rows()}}, 404,
     "unknown model 'nope'; this server has: demo, rich"),
    ("oversized body", "demo", {"content": b" " * 400_001, "headers": {"content-type": "application/json"}}, 413,
     "at most 400000 (--max-body)"),
    ("too many series", "demo",
     {"json": {"series": [{"id": str(i), "timestamps": ["1949-01-01"], "values": [1]} for i in range(51)]}}, 413,
     "the request holds 51 series; this server forecasts at most 50 per request (--max-series)"),
    ("a body of another type", "demo", {"content": b"x", "headers": {"content-type": "image/png"}}, 415,
     "cannot read a image/png body"),
    ("an answer of another type", "demo", {"json": {"rows": demo_rows()}, "headers": {"accept": "image/png"}}, 406,
     "cannot answer as image/png"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "model", "request_", "status", "message"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_every_bad_request_is_a_4xx_and_the_next_is_served(
    server: Any, case: str, model: str, request_: dict[str, object], status: int, message: str
) -> None:
    with server.client() as c:
        r = forecast(c, model, **request_)
        assert r.status_code == status, r.text
        body = r.json()
        assert message in body["error"] and "\n" not in body["error"] and "Traceback" not in r.text
        assert forecast(c, "demo", json={"rows": demo_rows()}).status_code == 200


def test_the_message_is_the_command_lines(
    server: Any, serve_models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV body is read as the file request.csv: its error is word for word what `tsrnn forecast` prints."""
    bad = tmp_path / "request.csv"
    bad.write_text(
        "time,passengers\n1949-01-01,112\n1949-02-01,x\n" + "".join(f"1950-{m:02d}-01,1\n" for m in range(1, 13))
    )
    assert main(["forecast", str(serve_models["demo"]), str(bad)]) == 2
    printed = capsys.readouterr().err.strip().removeprefix("tsrnn: error: ")
    with server.client() as c:
        r = forecast(c, "demo", content=bad.read_bytes(), headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.json()["error"] == printed


def test_models_health_and_metrics(server: Any) -> None:
    with server.client() as c:
        listed = c.get("/v1/models").json()["models"]
        assert [m["name"] for m in listed] == ["demo", "rich", "ens", "swap"]
        rich = listed[1]
        assert rich["metadata"]["quantiles"] == [0.1, 0.5, 0.9] and rich["columns"] == ["time", "load", "promo", "id"]
        assert c.get("/healthz").json()["status"] == "ok"
        text = c.get("/metrics").text
        assert c.get("/nowhere").status_code == 404
    for name in (
        "tsrnn_requests_total",
        "tsrnn_errors_total",
        "tsrnn_request_seconds_bucket",
        "tsrnn_batch_windows_bucket",
    ):
        assert name in text


def test_reload_swaps_a_good_file_and_refuses_a_damaged_one(server: Any, serve_models: dict[str, Path]) -> None:
    swap = next(Path(a) for a in server.proc.args if str(a).endswith("swap.onnx"))  # type: ignore[union-attr]
    body = {"json": {"rows": demo_rows()}}
    with server.client() as c:
        before = forecast(c, "swap", **body).json()["forecast"]
        swap.write_bytes(swap.read_bytes()[:5000])  # cut short: damaged
        r = c.post("/v1/models/swap/reload")
        assert r.status_code == 422 and "reload refused, the loaded model keeps serving: swap.onnx" in r.json()["error"]
        assert forecast(c, "swap", **body).json()["forecast"] == before
        server.proc.send_signal(signal.SIGHUP)  # the same refusal, logged
        deadline = time.monotonic() + 10
        while server.log_text().count("reload of swap refused") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.log_text().count("reload of swap refused") == 2  # the route's, then SIGHUP's
        shutil.copy(serve_models["ens"], swap)
        r = c.post("/v1/models/swap/reload")
        assert r.status_code == 200 and r.json()["model"]["metadata"]["model"] == "ensemble"
        assert_rows_equal(forecast(c, "swap", **body).json()["forecast"], expected(serve_models["ens"], DEMO))
        assert c.post("/v1/models/nope/reload").status_code == 404
        text = c.get("/metrics").text
        assert 'tsrnn_reloads_total{model="swap",result="refused"} 2.0' in text  # the route's and SIGHUP's
        assert 'tsrnn_reloads_total{model="swap",result="ok"} 1.0' in text


def test_the_token_guards_every_route_but_health(serve_models: dict[str, Path], tmp_path: Path, kit: Any) -> None:
    s = kit.start_server([serve_models["demo"]], tmp_path / "token.log", env={"TSRNN_TOKEN": "s3cret"})
    try:
        with s.client() as c:
            assert c.get("/healthz").status_code == 200
            for method, path in (("GET", "/v1/models"), ("GET", "/metrics"), ("POST", "/v1/models/demo/forecast")):
                r = c.request(method, path)
                assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]
        with s.client("wrong") as c:
            assert c.get("/v1/models").status_code == 403
        with s.client("s3cret") as c:
            assert c.get("/v1/models").status_code == 200
            assert forecast(c, "demo", json={"rows": demo_rows()}).status_code == 200
    finally:
        assert s.stop() == 0


def test_sigterm_finishes_the_request_in_flight_and_exits_0(
    serve_models: dict[str, Path], tmp_path: Path, kit: Any
) -> None:
    """Bound to every address without a token: a warning. A request half sent when SIGTERM comes is answered;
    then the server exits with 0."""
    s = kit.start_server([serve_models["demo"]], tmp_path / "term.log", "--host", "0.0.0.0")
    assert "without a token" in s.log_text()
    body = json.dumps({"rows": demo_rows()}).encode()
    port = int(s.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"POST /v1/models/demo/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        sock.sendall(head + body[:100])
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[100:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert s.proc.wait(timeout=30) == 0, s.log_text()


def test_the_serve_and_follow_paths_import_no_torch(serve_models: dict[str, Path]) -> None:
    """The server's modules, the streaming forecast and one request through the app: neither torch nor onnx."""
    code = (
        "import sys, asyncio, httpx, tsrnn.serve.server, tsrnn.runtime.follow, tsrnn.cli.forecast\n"
        "from tsrnn.serve.app import make_app\nfrom tsrnn.serve.models import Models\n"
        f"models = Models([{str(serve_models['demo'])!r}])\n"
        "async def ask():\n"
        "    t = httpx.ASGITransport(app=make_app(models))\n"
        "    async with httpx.AsyncClient(transport=t, base_url='http://x') as c:\n"
        "        return (await c.get('/v1/models')).status_code\n"
        "assert asyncio.run(ask()) == 200\nmodels.close()\n"
        "bad = [m for m in ('torch', 'onnx', 'textual') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_forecasts_match_at_any_batch(serve_models: dict[str, Path]) -> None:
    """The batcher's merged call and split answers equal one call per request."""
    from tsrnn.serve.batching import Batcher

    with Forecaster.load(serve_models["rich"]) as m:
        rng = np.random.default_rng(1)
        jobs = [
            (rng.normal(10, 2, (n, 24, 1)).astype(np.float32), rng.normal(0, 1, (n, 30, 3)).astype(np.float32))
            for n in (1, 3, 2)
        ]
        batcher = Batcher(m.predict_outputs, 64, 0.05)
        with ThreadPoolExecutor(3) as pool:

            def one(job: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
                with batcher.ticket() as t:
                    return t.predict(*job)

            merged = list(pool.map(one, jobs))
        batcher.close()
        for (h, k), got in zip(jobs, merged, strict=True):
            for name, want in m.predict_outputs(h, k).items():
                np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-5)


def test_a_taken_port_is_one_line_and_exit_2(serve_models: dict[str, Path]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "tsrnn", "serve", str(serve_models["demo"]), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 2
    assert f"tsrnn: error: cannot listen on 127.0.0.1:{port}: Address already in use" in run.stderr
    assert "Traceback" not in run.stderr
