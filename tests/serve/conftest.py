"""A real `tsrnn serve` on a free loopback port, the small models it serves, and the data they forecast."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

RICH_SERIES, RICH_ROWS, RICH_H = 40, 96, 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `tsrnn serve` process: its address, its log, and a client for it."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def log_text(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def start_server(models: list[Path], log: Path, *options: str, env: dict[str, str] | None = None) -> Server:
    """`tsrnn serve MODELS --port P OPTIONS`, answering /healthz (within 30 s) before it is returned."""
    port = free_port()
    args = [sys.executable, "-m", "tsrnn", "serve", *map(str, models), "--port", str(port), *options]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"tsrnn serve exited with {proc.returncode}: {server.log_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"tsrnn serve did not answer within 30 s: {server.log_text()}")


def write_rich(path: Path, future: bool) -> Path:
    """40 hourly series with a daily pattern and a promotion flag known in advance; with `future`, each series'
    next RICH_H hours follow with an empty load and their promotion flags."""
    rng = np.random.default_rng(0)
    t0 = np.datetime64("2024-01-01T00:00")
    lines = ["id,time,load,promo"]
    for i in range(RICH_SERIES):
        for h in range(RICH_ROWS + (RICH_H if future else 0)):
            promo = int(rng.random() < 0.2)
            value = 10 + i + 5 * np.sin(2 * np.pi * h / 24) + 3 * promo + rng.normal(0, 0.3)
            cell = f"{value:.3f}" if h < RICH_ROWS else ""
            lines.append(f"s{i:02d},{t0 + np.timedelta64(h, 'h')},{cell},{promo}")
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class Kit:
    """What the test modules use besides the fixtures (they import nothing from this conftest)."""

    start_server = staticmethod(start_server)
    write_rich = staticmethod(write_rich)
    rich_series: int = RICH_SERIES
    rich_h: int = RICH_H


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()


@pytest.fixture(scope="session")
def serve_models(tmp_path_factory: pytest.TempPathFactory, demo_model: Path) -> dict[str, Path]:
    """demo (LSTM on the airline passengers), rich (GRU with a calendar, a future column and quantiles, 40 series),
    ens (the mean of two tiny networks in one file); one epoch each."""
    from tsrnn.cli.commands import main
    from tsrnn.compare import ensemble as ens
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.evaluate.backtest import make_folds
    from tsrnn.experiment.pipeline import model_config, train_experiment
    from tsrnn.runtime.inference import Forecaster

    folder = tmp_path_factory.mktemp("served")
    demo = shutil.copy(demo_model, folder / "demo.onnx")
    rich_csv = write_rich(folder / "rich_train.csv", future=False)
    code = main(
        [
            "train", str(rich_csv), "--target", "load", "--id-col", "id", "--future", "promo", "--calendar", "auto",
            "--quantiles", "0.1,0.5,0.9", "--cell", "gru", "--hidden", "4", "--layers", "1", "--epochs", "1",
            "--input-len", "24", "--horizon", str(RICH_H), "--threads", "1", "--out", str(folder / "rich.onnx"),
            "--json",
        ]
    )  # fmt: skip
    assert code == 0
    data = load_series("demo")
    members = []
    for i, (cell, L) in enumerate([("gru", 12), ("rnn", 24)]):
        cfg = model_config(data, cell=cell, hidden_size=4, num_layers=1, input_len=L, horizon=12)
        exp = train_experiment(data.drop_last(24), cfg, TrainConfig(epochs=1, threads=1, seed=i), holdout=False)
        model = Forecaster.load(exp.export(folder / f"member{i}.onnx").path)
        folds = make_folds(data, L, 12, 2)
        members.append(ens.Member(f"{cell}{L}", exp, model.predict_outputs(folds.history, folds.known), {"mase": 1.0}))
    ens.export(members, "mean", folder / "ens.onnx")
    return {"demo": Path(demo), "rich": folder / "rich.onnx", "ens": folder / "ens.onnx"}


@pytest.fixture(scope="module")
def server(serve_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """demo, rich, ens and swap (a copy of demo that the reload tests replace), with small limits and a long wait
    for batches to fill."""
    folder = tmp_path_factory.mktemp("server")
    swap = shutil.copy(serve_models["demo"], folder / "swap.onnx")
    models = [serve_models["demo"], serve_models["rich"], serve_models["ens"], Path(swap)]
    s = start_server(models, folder / "serve.log", "--max-body", "400000", "--max-series", "50", "--max-wait-ms", "50")
    yield s
    assert s.stop() == 0, s.log_text()
    assert "Traceback" not in s.log_text()
