"""The serving benchmark (make bench-serve): `tsrnn serve` on loopback with an LSTM 2x64 (window 48, horizon 12),
one series per request.

- requests/s and p50/p99 latency at 1, 16 and 64 concurrent clients, one ONNX Runtime call per request
  (--max-batch 1) against dynamic batching (the defaults), driven by `hey` (else an async httpx client): plain
  JSON requests (the loader's express lane), the same values as text (the full loader, tables merged), and a
  larger model (LSTM 2x256, window 168) whose call outweighs the request's reading;
- a 60-second soak at 64 clients (an async httpx client that checks every answer against the forecast of the
  series it sent): 5 % malformed requests mixed in, a reload of the model half-way, RSS at start and end;
- where a request's time goes in the process: the shared loader and table (forecast_frame) against the ONNX
  Runtime call, and what merging windows can save at most (batch 1 against batch 64, per window);
- `Forecaster.predict` at batch 1 against a bare ONNX Runtime session on the same file.

Writes bench/serve.md. The machine may be shared with other work: the load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import polars as pl

from tsrnn.data.loader import demo_path
from tsrnn.runtime.forecastio import forecast_file
from tsrnn.runtime.inference import Forecaster
from tsrnn.serve.bodies import Direct, Limits, forecast_body, json_tables, parse_json
from tsrnn.serve.merging import forecast_tables

OUT = Path(__file__).parent / "serve.md"
ROWS = 60
"""Rows of history per request (the model reads the last 48)."""
BIG_ROWS = 180
"""Rows per request for the larger model (it reads the last 168)."""
CLIENTS = (1, 16, 64)
LONE_RUNS = 3
"""Runs of a lone client: a p99 of one run on shared cores moves with whatever else wakes up."""
VARIANTS = 16
"""Distinct series the soak's clients send, each with its own expected forecast."""


@dataclass
class LoadRow:
    mode: str
    clients: int
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    other: int
    batch_mean: float | None = None
    """Requests per ONNX Runtime call (from /metrics)."""
    group: str = "plain"
    """plain (numbers: the express lane), text (values as text: the full loader) or big (the larger model)."""
    p99_runs: list[float] = field(default_factory=list)
    """p99 of each run (a lone client is run LONE_RUNS times; the row is the run of the median p99)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, model: Path, log: Path, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tsrnn", "serve", str(model), "--port", str(self.port), *options],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"tsrnn serve did not start: {log.read_text()}")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def batch_mean(self) -> tuple[float, float]:
        text = httpx.get(f"{self.url}/metrics").text
        s = re.search(r'tsrnn_batch_requests_sum\{model="\w+"\} (\S+)', text)
        c = re.search(r'tsrnn_batch_requests_count\{model="\w+"\} (\S+)', text)
        return (float(s.group(1)), float(c.group(1))) if s and c else (0.0, 0.0)

    def latency_quantile(self, q: float, route: str = "forecast") -> float:
        """The upper bound (ms) of the server's latency bucket that holds quantile `q` of its requests so far."""
        text = httpx.get(f"{self.url}/metrics").text
        pattern = rf'tsrnn_request_seconds_bucket{{le="([^"]+)",route="{route}"}} (\S+)'
        buckets = [(float(le), float(n)) for le, n in re.findall(pattern, text)]
        total = buckets[-1][1] if buckets else 0.0
        return next((le * 1000 for le, n in buckets if n >= q * total), float("inf"))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code


def train(folder: Path) -> Path:
    out = folder / "lstm64.onnx"
    subprocess.run(
        [sys.executable, "-m", "tsrnn", "train", "demo", "--cell", "lstm", "--hidden", "64", "--layers", "2",
         "--input-len", "48", "--horizon", "12", "--epochs", "1", "--out", str(out), "--json"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return out


def train_big(folder: Path) -> Path:
    """An LSTM 2x256 with a window of 168 hours, on 3000 hours of a daily cycle with noise (one epoch)."""
    t = np.datetime64("2024-01-01T00:00") + np.arange(3000) * np.timedelta64(1, "h")
    v = 100 + 20 * np.sin(np.arange(3000) * 2 * np.pi / 24) + np.random.default_rng(0).normal(0, 2, 3000)
    data = folder / "hourly.csv"
    data.write_text("time,load\n" + "".join(f"{a}:00,{b:.2f}\n" for a, b in zip(t, v, strict=True)))
    out = folder / "big.onnx"
    subprocess.run(
        [sys.executable, "-m", "tsrnn", "train", str(data), "--cell", "lstm", "--hidden", "256", "--layers", "2",
         "--input-len", "168", "--horizon", "24", "--epochs", "1", "--seasons", "none", "--out", str(out), "--json"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    rows = pl.read_csv(data).tail(BIG_ROWS).to_dicts()
    (folder / "big.json").write_text(json.dumps({"rows": rows}))
    return out


def series_rows(scale: float = 1.0) -> list[dict[str, object]]:
    rows = pl.read_csv(demo_path()).tail(ROWS).to_dicts()
    return [{"time": r["time"], "passengers": round(r["passengers"] * scale, 3)} for r in rows]


def load_row(server: Server, model: str, request: Path, clients: int, seconds: int) -> LoadRow:
    """One run of `seconds` at `clients` clients posting `request`: hey, else the async httpx client."""
    row = hey(f"{server.url}/v1/models/{model}/forecast", request, clients, seconds)
    if row is not None:
        return row
    r = asyncio.run(async_load(server.url, [request.read_bytes()], clients, seconds, model=model))
    return LoadRow(
        "", clients, float(r["rps"]), float(r["p50"]), float(r["p99"]), int(r["good_ok"]), int(r["good_failed"])
    )  # type: ignore[arg-type]


def hey(url: str, body: Path, clients: int, seconds: int) -> LoadRow | None:
    if shutil.which("hey") is None:
        return None
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(clients), "-m", "POST", "-T", "application/json", "-D", str(body), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p50 = float(re.search(r"50%+ in (\S+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    p99 = float(re.search(r"99%+ in (\S+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    ok = sum(int(n) for n in re.findall(r"\[200\]\s+(\d+) responses", out))
    other = sum(int(n) for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out) if code != "200")
    if "Error distribution:" in out:  # transport errors: "  [count]\tPost ...: connection reset"
        other += sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", out.split("Error distribution:")[1], re.M))
    return LoadRow("", clients, rps, p50, p99, ok, other)


async def async_load(
    url: str, bodies: list[bytes], clients: int, seconds: float, check: list[float] | None = None,
    bad: list[bytes] | None = None, bad_share: float = 0.0, during: tuple[float, str] | None = None,
    rss: Callable[[], float] | None = None, model: str = "lstm64",
) -> dict[str, object]:  # fmt: skip
    """`clients` tasks posting for `seconds`; with `check`, each answer's first value must be the one expected for
    the series sent; a share of `bad` bodies must each get a 4xx; `during` (at s, path): one POST while it runs;
    `rss`: the server's RSS, sampled every tenth of the run."""
    samples: list[float] = []
    stats = {"good": 0, "good_ok": 0, "good_wrong": 0, "good_failed": 0, "bad": 0, "bad_4xx": 0, "bad_other": 0}
    lat: list[float] = []
    rng = np.random.default_rng(0)
    end = time.perf_counter() + seconds
    reload_status: list[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as c:

        async def client(k: int) -> None:
            i = k
            while time.perf_counter() < end:
                i += clients
                is_bad = bad is not None and rng.random() < bad_share
                body = bad[i % len(bad)] if is_bad and bad else bodies[i % len(bodies)]
                t0 = time.perf_counter()
                try:
                    r = await c.post(
                        f"/v1/models/{model}/forecast", content=body, headers={"content-type": "application/json"}
                    )
                except httpx.HTTPError:
                    stats["bad_other" if is_bad else "good_failed"] += 1
                    continue
                if is_bad:
                    stats["bad"] += 1
                    stats["bad_4xx" if 400 <= r.status_code < 500 else "bad_other"] += 1
                    continue
                lat.append(time.perf_counter() - t0)
                stats["good"] += 1
                if r.status_code != 200:
                    stats["good_failed"] += 1
                elif check is not None and abs(
                    r.json()["forecast"][0]["passengers"] - check[i % len(bodies)]
                ) > 1e-3 * abs(check[i % len(bodies)]):
                    stats["good_wrong"] += 1
                else:
                    stats["good_ok"] += 1

        async def side() -> None:
            if during is None:
                return
            await asyncio.sleep(during[0])
            r = await c.post(during[1])
            reload_status.append(r.status_code)

        t0 = time.perf_counter()

        async def sample() -> None:
            while rss is not None and time.perf_counter() < end:
                samples.append(rss())
                await asyncio.sleep(seconds / 10)

        await asyncio.gather(side(), sample(), *(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    a = np.asarray(lat) * 1000
    return {**stats, "wall": wall, "rps": stats["good"] / wall, "p50": float(np.percentile(a, 50)) if len(a) else 0.0,
            "p99": float(np.percentile(a, 99)) if len(a) else 0.0, "reload": reload_status, "rss": samples}  # fmt: skip


def alternating(fns: dict[str, object], n: int = 2000, blocks: int = 15) -> dict[str, float]:
    """Median µs per call of each function, timed in alternating blocks of n calls."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for b in range(blocks + 3):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(n):
                fn()  # type: ignore[operator]
            if b >= 3:
                times[k].append((time.perf_counter() - t0) / n * 1e6)
    return {k: statistics.median(v) for k, v in times.items()}


def in_process(model: Path, body: bytes, text_body: bytes) -> dict[str, float]:
    f = Forecaster.load(model)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    bare = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(300, 60, (1, f.history_len, 1)).astype(np.float32)
    x64 = np.random.default_rng(1).normal(300, 60, (64, f.history_len, 1)).astype(np.float32)
    name = bare.get_inputs()[0].name
    assert np.allclose(f.predict(x), bare.run(None, {name: x})[0])
    t = alternating({"forecaster": lambda: f.predict(x), "bare": lambda: bare.run(None, {name: x})})
    b64 = alternating({"b64": lambda: f.predict_outputs(x64)}, n=100)["b64"]
    req = alternating(
        {
            "express": lambda: forecast_body(f, body, "application/json", Limits(), Direct(f)),
            "full": lambda: forecast_body(f, text_body, "application/json", Limits(), Direct(f)),
        },
        n=100,
    )
    frame, _, _ = json_tables(f, parse_json(text_body), Limits())
    merged = alternating({"merged": lambda: forecast_tables(f, [frame] * 32)}, n=10)["merged"]
    return {
        "forecaster_us": t["forecaster"],
        "bare_us": t["bare"],
        "b64_per_window_us": b64 / 64,
        "request_us": req["express"],
        "request_full_us": req["full"],
        "merged_us": merged / 32,
    }


def follow_latency(model: Path, rows: int = 300, every: float = 0.01) -> dict[str, float]:
    """`tsrnn forecast --follow -` fed one monthly row every `every` seconds after 48 rows of history: the
    arrival-to-forecast latency each forecast line reports."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsrnn", "forecast", str(model), "--follow", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    months = np.datetime64("1949-01") + np.arange(48 + rows)
    values = 300 + 100 * np.sin(np.arange(48 + rows) * 2 * np.pi / 12)
    lines = [f"{m}-01,{v:.1f}\n" for m, v in zip(months, values, strict=True)]
    proc.stdin.write("time,passengers\n" + "".join(lines[:48]))
    proc.stdin.flush()
    lat = [json.loads(proc.stdout.readline())["latency_ms"]]
    for line in lines[48:]:
        time.sleep(every)
        proc.stdin.write(line)
        proc.stdin.flush()
        lat.append(json.loads(proc.stdout.readline())["latency_ms"])
    proc.stdin.close()
    proc.wait(timeout=60)
    a = np.asarray(lat[1:])
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per load row (default: 10)")
    parser.add_argument("--soak", type=int, default=60, help="soak seconds (default: 60)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tsrnn-bench-serve-"))
    loads = [f"start {load_average()}"]
    model = train(folder)
    big = train_big(folder)
    body = json.dumps({"rows": series_rows()}).encode()
    (folder / "body.json").write_bytes(body)
    text_body = json.dumps({"rows": [{**r, "passengers": str(r["passengers"])} for r in series_rows()]}).encode()
    (folder / "text.json").write_bytes(text_body)
    print("in-process timings ...", file=sys.stderr)
    inproc = in_process(model, body, text_body)
    print("--follow latency ...", file=sys.stderr)
    follow = follow_latency(model)

    rows: list[LoadRow] = []
    runs = [
        (group, served, request, mode, options, clients)
        for group, served, request, clients in (
            ("plain", model, "body.json", CLIENTS),
            ("text", model, "text.json", (1, 64)),
            ("big", big, "big.json", (1, 64)),
        )
        for mode, options in (("one call per request (--max-batch 1)", ["--max-batch", "1"]), ("dynamic batching", []))
    ]
    for group, served, request, mode, options, counts in runs:
        server = Server(served, folder / "serve.log", *options)
        for clients in counts:
            print(f"{group}, {mode}: {clients} client(s) ...", file=sys.stderr)
            s0, c0 = server.batch_mean()
            runs = [
                load_row(server, served.stem, folder / request, clients, args.seconds)
                for _ in range(LONE_RUNS if clients == 1 else 1)
            ]
            row = sorted(runs, key=lambda r: r.p99_ms)[len(runs) // 2]  # the run of the median p99
            row.p99_runs = [r.p99_ms for r in runs]
            s1, c1 = server.batch_mean()
            row.mode = mode
            row.group = group
            row.batch_mean = (s1 - s0) / (c1 - c0) if c1 > c0 else None
            rows.append(row)
        assert server.stop() == 0
    loads.append(f"after the load rows {load_average()}")

    print(f"soak: 64 clients for {args.soak} s ...", file=sys.stderr)
    scales = [1 + i / 20 for i in range(VARIANTS)]
    bodies = [json.dumps({"rows": series_rows(s)}).encode() for s in scales]
    check = []
    with Forecaster.load(model) as f:
        for s in scales:
            csv = folder / "one.csv"
            pl.DataFrame(series_rows(s)).write_csv(csv)
            check.append(forecast_file(f, csv).table["passengers"][0])
    bad = [
        b'{"rows": [1,',
        json.dumps({"rows": series_rows()[:10]}).encode(),
        json.dumps({"rows": [{"time": "1960-01-01", "load": 1}]}).encode(),
        b"[]",
    ]
    server = Server(model, folder / "soak.log")
    asyncio.run(async_load(server.url, bodies, 64, 5, check))  # warm-up
    rss0 = server.rss_mib()
    soak = asyncio.run(
        async_load(
            server.url,
            bodies,
            64,
            args.soak,
            check,
            bad,
            0.05,
            (args.soak / 2, "/v1/models/lstm64/reload"),
            server.rss_mib,
        )
    )
    rss1 = server.rss_mib()
    soak["server_p50"] = server.latency_quantile(0.5)
    soak["server_p99"] = server.latency_quantile(0.99)
    code = server.stop()
    loads.append(f"after the soak {load_average()}")
    write(args.out, rows, inproc, follow, soak, rss0, rss1, code, loads, shutil.which("hey") is not None, args.seconds)
    print(args.out.read_text())


def write(
    out: Path, rows: list[LoadRow], inproc: dict[str, float], follow: dict[str, float], soak: dict[str, object],
    rss0: float, rss1: float, code: int, loads: list[str], with_hey: bool, seconds: int,
) -> None:  # fmt: skip
    by = {(r.group, r.mode.startswith("dynamic"), r.clients): r for r in rows}
    lines = [
        "# Serving benchmark (`make bench-serve`)",
        "",
        f"`tsrnn serve` on loopback, LSTM 2x64 (window 48, horizon 12), one series of {ROWS} rows per JSON request; "
        f"{'`hey`' if with_hey else 'an async httpx client'} as the load generator, on the same machine. "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, onnxruntime "
        f"{ort.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Load averages " + "; ".join(loads) + ". The server and the load generator share the cores.",
        "",
    ]
    titles = {
        "plain": "## Throughput and latency: plain JSON requests (the loader's express lane)",
        "text": '## The same requests with the values as text (`"112"`: the full loader, tables merged)',
        "big": f"## A larger model: LSTM 2x256, window 168 hours, one series of {BIG_ROWS} rows per request",
    }
    for group, title in titles.items():
        lines += [
            title,
            "",
            "| mode | clients | requests/s | p50 ms | p99 ms | 200 | other | requests per ORT call |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in (r for r in rows if r.group == group):
            bm = f"{r.batch_mean:.2f}" if r.batch_mean is not None else "-"
            cells = [r.mode, r.clients, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", r.ok, r.other, bm]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        ratio = by[(group, True, 64)].rps / by[(group, False, 64)].rps
        lone = by[(group, True, 1)]
        lines += [
            "",
            f"Batching at 64 clients: **{ratio:.2f}x** the throughput of one call per request. "
            f"p99 at 1 client: **{lone.p99_ms:.2f} ms** (the median of {len(lone.p99_runs)} runs of {seconds} s: "
            + ", ".join(f"{x:.2f}" for x in lone.p99_runs)
            + " ms; the table shows that run).",
            "",
        ]
    lines += [
        "## Where a request's time goes (in the process, no HTTP)",
        "",
        "| step | µs |",
        "|---|---:|",
        "| one plain request through `forecast_body` (JSON, the express lane, the loader's grid stages, windows, ORT, "
        f"the table) | {inproc['request_us']:.0f} |",
        f"| of which the ONNX Runtime call at batch 1 | {inproc['forecaster_us']:.0f} |",
        f"| one window's share of a batch-64 call | {inproc['b64_per_window_us']:.0f} |",
        f"| the same request with its values as text, through the full loader | {inproc['request_full_us']:.0f} |",
        "| one such request's share of 32 request tables merged (`forecast_tables`: one pass of the loader, one ORT "
        f"call, the table split back) | {inproc['merged_us']:.0f} |",
        "",
        "A request's Python work (HTTP, JSON, reading the table, the answer) holds the GIL, so on these cores it "
        "bounds the requests per second whatever the batching; dynamic batching takes the model calls out of that "
        "path and merges them. Where the call outweighs the reading (the larger model) that multiplies the "
        "throughput; where the reading dominates (the small LSTM through the express lane) the gain is the model "
        "call's share. Through the full loader the reading itself is shared by merging the requests' tables.",
        "",
    ]
    lines += [
        "## `Forecaster.predict` against a bare ONNX Runtime session (batch 1, same file, same session options)",
        "",
        f"Forecaster {inproc['forecaster_us']:.1f} µs, bare session {inproc['bare_us']:.1f} µs: "
        f"**{inproc['forecaster_us'] - inproc['bare_us']:+.1f} µs** (target: within 10 µs).",
        "",
        "## Streaming: `tsrnn forecast --follow -`",
        "",
        f"{follow['n']:.0f} monthly rows on stdin, one every 10 ms after 48 rows of history, one forecast line each: "
        f"arrival to forecast p50 **{follow['p50']:.2f} ms**, p99 {follow['p99']:.2f} ms, max {follow['max']:.2f} ms "
        "(the `latency_ms` of each line: parsing the row, the window, the ONNX Runtime call, the line written).",
        "",
        f"## Soak: 64 clients for {soak['wall']:.0f} s, 5 % malformed requests, a reload half-way",
        "",
        "| good requests | answered right | wrong answer | failed | bad requests | 4xx | other | reload "
        "| RSS start MiB | RSS end MiB | exit |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        f"| {soak['good']} | {soak['good_ok']} | {soak['good_wrong']} | {soak['good_failed']} | {soak['bad']} | "
        f"{soak['bad_4xx']} | {soak['bad_other']} | {soak['reload']} | {rss0:.0f} | {rss1:.0f} | {code} |",
        "",
        "RSS every tenth of the soak (MiB): "
        + ", ".join(f"{x:.0f}" for x in soak["rss"])  # type: ignore[attr-defined]
        + " (the reload half-way loads a second copy of the model before the first is closed).",
        "",
        f"Good requests: {soak['rps']:.0f}/s, p50 {soak['p50']:.1f} ms, p99 {soak['p99']:.1f} ms (an async httpx "
        "client that checks each answer against the forecast of the series it sent, so it is slower than `hey`, and "
        "on these busy cores its own scheduling adds to what it measures; the server's own histogram puts p50 at or "
        f"below {soak['server_p50']:g} ms and p99 at or below {soak['server_p99']:g} ms). Every "
        "request got exactly one answer (the client awaits each); 'answered right' compares the first forecast value "
        "with `forecast_file` on the same rows.",
        "",
    ]
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
