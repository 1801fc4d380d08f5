"""Forecasting on a Dask cluster: `tsrnn forecast ... --engine dask` on a real LocalCluster of 2 worker processes
gives the single-machine forecast for every series; bad series and files are reported while the rest is forecast;
an unreachable scheduler is a clear error; the Python API takes a Dask DataFrame."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

SERIES = 240
OBSERVED = 40
"""Observed days per series; the model's horizon of rows with the promotion plan (target empty) follows."""
INPUT_LEN, HORIZON = 14, 7


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def make_frame(series: int = SERIES, seed: int = 0) -> pl.DataFrame:
    """Daily sales of `series` stores with a weekly cycle and promotions known in advance: each series starts on
    its own day and ends with HORIZON rows whose sales are empty and whose promotion column is the plan."""
    rng = np.random.default_rng(seed)
    n = OBSERVED + HORIZON
    start = np.datetime64("2024-01-01") + rng.integers(0, 10, series)
    days = (start[:, None] + np.arange(n)[None, :]).astype("datetime64[D]")
    dow = (days.astype(np.int64) + 3) % 7
    promo = (rng.random((series, n)) < 0.2).astype(np.float64)
    level = rng.uniform(20, 200, (series, 1))
    sales = level * (1 + 0.3 * np.sin(2 * np.pi * dow / 7)) * (1 + 0.5 * promo) + rng.normal(0, 2, (series, n))
    sales[:, OBSERVED:] = np.nan
    return pl.DataFrame(
        {
            "id": np.repeat([f"s{i:04d}" for i in range(series)], n),
            "day": days.reshape(-1),
            "sales": sales.reshape(-1).round(3),
            "promo": promo.reshape(-1),
        }
    ).with_columns(pl.col("sales").fill_nan(None))


def write_files(frame: pl.DataFrame, folder: Path, pieces: int, whole: bool) -> Path:
    """`pieces` Parquet files: each series whole in one file, or the rows cut at places inside series."""
    folder.mkdir(parents=True)
    ids = frame["id"].unique(maintain_order=True).to_list()
    for k in range(pieces):
        if whole:
            part = frame.filter(pl.col("id").is_in(ids[k * len(ids) // pieces : (k + 1) * len(ids) // pieces]))
        else:
            part = (
                frame.slice(k * frame.height // pieces + 13, frame.height // pieces)
                if k < pieces - 1
                else frame.slice(k * frame.height // pieces + 13)
            )
            if k == 0:
                part = pl.concat([frame.head(13), part])
        part.write_parquet(folder / f"part-{k}.parquet")
    return folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sorted data in 4 files, a tiny GRU with calendar (day of week) and promotion inputs trained on it, and the
    single-machine forecast to compare with."""
    from tsrnn.core.config import DataConfig, TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment
    from tsrnn.timeline.known import choose_known

    work = tmp_path_factory.mktemp("dask")
    frame = make_frame()
    whole = write_files(frame, work / "whole", 4, whole=True)
    data = load_series(whole, DataConfig(targets=("sales",), future=("promo",)))
    data = data.with_known(choose_known(data.freq, data.times, "dow", future=data.future_names))
    cfg = model_config(data, input_len=INPUT_LEN, horizon=HORIZON, cell="gru", hidden_size=8, num_layers=1)
    model = train_experiment(data, cfg, TrainConfig(epochs=1, batch_size=256, threads=1)).export(work / "m.onnx").path
    local = run("forecast", model, whole, "--out", work / "local.parquet", "--threads", "1")
    assert local.returncode == 0, local.stderr
    return {"work": work, "whole": whole, "model": model, "local": work / "local.parquet"}


def compare(results: Path, local: Path, leave_out: tuple[str, ...] = ()) -> pl.DataFrame:
    """The distributed forecast against the single-machine one: the same series, timestamps and values."""
    ours = pl.read_parquet(results / "part-*.parquet")
    theirs = pl.read_parquet(local).filter(~pl.col("id").is_in(leave_out))
    assert ours.schema == theirs.schema == pl.Schema({"id": pl.String, "day": pl.Datetime("us"), "sales": pl.Float32})
    assert ours.height == theirs.height == (SERIES - len(leave_out)) * HORIZON
    joined = theirs.join(ours, on=["id", "day"], how="full", suffix="_dask")
    assert joined["id"].null_count() == 0 and joined["id_dask"].null_count() == 0  # same series and timestamps
    np.testing.assert_allclose(joined["sales_dask"].to_numpy(), joined["sales"].to_numpy(), rtol=1e-5, atol=1e-4)
    return ours


def test_dask_forecast_equals_local(setup: dict[str, Path]) -> None:
    from tsrnn.runtime.inference import Forecaster

    meta = Forecaster.load(setup["model"]).meta
    assert meta.known == ("dow_sin", "dow_cos", "promo") and meta.future == ("promo",)
    results = setup["work"] / "results"
    results.mkdir()
    pl.DataFrame({"x": [1]}).write_parquet(results / "part-00009.parquet")  # left by an earlier, larger run
    out = run(
        "forecast",
        setup["model"],
        setup["whole"] / "*.parquet",
        "--engine",
        "dask",
        "--workers",
        "2",
        "--out",
        results,
        "--json",
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["series"] == SERIES and summary["partitions"] == 4 and summary["workers"] == 2
    assert summary["skipped"] == [] and not summary["shuffled"] and summary["removed_stale_parts"] == 1
    assert len(summary["worker_peak_rss_mib"]) == 2
    parts = [f"part-{k:05d}.parquet" for k in range(4)]
    assert sorted(p.name for p in results.iterdir()) == ["_SUCCESS", "manifest.json", *parts]
    manifest = json.loads((results / "manifest.json").read_text())
    assert [p["file"] for p in manifest["parts"]] == parts and manifest["series"] == SERIES
    assert manifest["model_sha256"] == hashlib.sha256(setup["model"].read_bytes()).hexdigest()
    assert manifest["skipped"] == 0 and manifest["rows"] == SERIES * HORIZON
    assert not [p for p in results.parent.iterdir() if p.name.startswith(".results.")]  # no staging left
    ours = compare(results, setup["local"])
    # each file's series are in its partition
    first = pl.read_parquet(results / "part-00000.parquet")["id"].unique().sort().to_list()
    assert first == [f"s{i:04d}" for i in range(SERIES // 4)]
    assert ours["day"].min() == pl.read_parquet(setup["local"])["day"].min()


def test_series_split_over_files_are_shuffled_by_id(setup: dict[str, Path]) -> None:
    split = write_files(make_frame(), setup["work"] / "split", 3, whole=False)
    results = setup["work"] / "shuffled"
    out = run("forecast", setup["model"], split, "--engine", "dask", "--workers", "2", "--out", results)
    assert out.returncode == 0, out.stderr
    assert (
        "series are split over several files (e.g. one in part-0.parquet and part-1.parquet); shuffling the "
        "rows by 'id' once" in out.stderr
    )
    assert f"{SERIES:,} series forecast on 2 Dask workers" in out.stderr and "shuffled by id from 3 files" in out.stderr
    compare(results, setup["local"])


def test_bad_series_and_files_are_reported_and_the_rest_forecast(setup: dict[str, Path]) -> None:
    frame = make_frame()
    bad = setup["work"] / "bad"
    write_files(frame, bad, 4, whole=True)
    first = pl.read_parquet(bad / "part-0.parquet")
    dup = first.filter(pl.col("id") == "s0001").slice(5, 1)
    short = (pl.col("id") == "s0002") & (pl.int_range(pl.len()).over("id") < OBSERVED - 5)
    pl.concat([first, dup]).filter(~short).write_parquet(bad / "part-0.parquet")
    for k in (0, 2, 3):  # every file of a data set has the same column types: sales as text in all
        pl.read_parquet(bad / f"part-{k}.parquet").with_columns(pl.col("sales").cast(pl.String)).write_parquet(
            bad / f"part-{k}.parquet"
        )
    second = pl.read_parquet(bad / "part-1.parquet").with_columns(pl.col("sales").cast(pl.String))
    second = second.with_columns(
        pl.when((pl.col("id") == "s0070") & (pl.int_range(pl.len()).over("id") == 3))
        .then(pl.lit("n/a?"))
        .otherwise(pl.col("sales"))
        .alias("sales")
    )
    second.write_parquet(bad / "part-1.parquet")
    (bad / "part-4.parquet").write_bytes(b"not parquet at all")
    results = setup["work"] / "bad-results"
    out = run("forecast", setup["model"], bad, "--engine", "dask", "--workers", "2", "--out", results)
    assert out.returncode == 2, out.stderr
    err = out.stderr
    assert "skipped series 's0001': part-0.parquet: duplicated timestamps in column 'day'" in err
    assert "skipped series 's0002': part-0.parquet: series 's0002' has 5 rows; the model needs the last 14" in err
    row = 10 * (OBSERVED + HORIZON) + 4  # s0070 is the 11th series of part-1.parquet
    assert f"skipped series 's0070': part-1.parquet: column 'sales' has non-numeric values on row {row} ('n/a?')" in err
    assert "skipped file: part-4.parquet: not a readable Parquet file" in err
    assert err.rstrip().endswith(
        f"tsrnn: error: 3 series and 1 file(s) skipped (listed in {results}/skipped.csv); "
        f"the other {SERIES - 3} series were forecast into {results}"
    )
    listed = pl.read_csv(results / "skipped.csv").sort("file", "series")
    assert listed.select("series", "file").rows() == [
        ("s0001", "part-0.parquet"),
        ("s0002", "part-0.parquet"),
        ("s0070", "part-1.parquet"),
        (None, "part-4.parquet"),
    ]
    compare(results, setup["local"], leave_out=("s0001", "s0002", "s0070"))


def test_unreachable_scheduler_is_a_clear_error(setup: dict[str, Path]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    out = run(
        "forecast",
        setup["model"],
        setup["whole"],
        "--engine",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        "--out",
        setup["work"] / "never",
    )
    elapsed = time.monotonic() - t0
    assert out.returncode == 2
    assert f"tsrnn: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 5 s" in out.stderr
    assert "check the address (e.g. tcp://scheduler-host:8786) and that the scheduler is running" in out.stderr
    assert elapsed < 25  # the connect timeout, not Dask's default 30 s of retries
    assert not (setup["work"] / "never").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "dask"], "--engine dask writes Parquet partitions into a folder: pass --out FOLDER"),
        (
            ["--engine", "dask", "--out", "r", "--scheduler", "tcp://h:8786", "--workers", "2"],
            "with --scheduler the cluster has its own workers",
        ),
        (["--workers", "2"], "--scheduler and --workers are for --engine dask"),
        (["--engine", "dask", "--out", "r", "--future-csv", "f.csv"], "--future-csv is not read with --engine dask"),
    ],
)
def test_option_errors(setup: dict[str, Path], extra: list[str], message: str) -> None:
    out = run("forecast", setup["model"], setup["whole"], *extra, cwd=setup["work"])
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_csv_needs_the_local_engine(setup: dict[str, Path]) -> None:
    csv = setup["work"] / "data.csv"
    pl.read_parquet(setup["whole"]).write_csv(csv)
    out = run("forecast", setup["model"], csv, "--engine", "dask", "--out", setup["work"] / "r")
    assert out.returncode == 2 and "data.csv: --engine dask reads Parquet" in out.stderr


def test_python_api_on_a_dask_dataframe(setup: dict[str, Path]) -> None:
    """forecast(ddf) on partitions that split series, shuffled by id; each worker loads the model once."""
    import dask.dataframe as dd

    from tsrnn.core.errors import DataError
    from tsrnn.distributed.engine import cluster, forecast, model_loads

    frame = make_frame()
    with cluster(workers=2) as client:
        ddf = dd.from_pandas(frame.to_pandas(), npartitions=6, sort=False)
        result = forecast(ddf, setup["model"], shuffle=True)
        assert list(result.columns) == ["id", "day", "sales"]
        table = pl.from_pandas(result.compute())
        assert sorted(client.run(model_loads).values()) == [1, 1]
        table.write_parquet(setup["work"] / "api.parquet")
        theirs = pl.read_parquet(setup["local"])
        joined = theirs.join(table, on=["id", "day"], how="full", suffix="_dask")
        assert joined.height == SERIES * HORIZON and joined["id_dask"].null_count() == joined["id"].null_count() == 0
        np.testing.assert_allclose(joined["sales_dask"].to_numpy(), joined["sales"].to_numpy(), rtol=1e-5, atol=1e-4)
        # a bad series: raise (with its id) or leave it out
        broken = frame.filter(~((pl.col("id") == "s0003") & (pl.int_range(pl.len()).over("id") < 30)))
        ddf = dd.from_pandas(broken.to_pandas(), npartitions=4, sort=False)
        with pytest.raises(DataError, match="series 's0003' has 10 rows; the model needs the last 14"):
            forecast(ddf, setup["model"], shuffle=True).compute()
        kept = forecast(ddf, setup["model"], shuffle=True, errors="skip").compute()
        assert set(kept["id"]) == {f"s{i:04d}" for i in range(SERIES)} - {"s0003"}
        # a model the workers cannot read at its path, shipped to them with client.upload_file
        shipped = setup["work"] / "ship" / "shipped.onnx"
        shipped.parent.mkdir()
        shipped.write_bytes(setup["model"].read_bytes())
        client.upload_file(str(shipped), load=False)
        lazy = forecast(dd.from_pandas(frame.head((OBSERVED + HORIZON) * 10).to_pandas(), npartitions=1), shipped)
        shipped.unlink()
        assert len(lazy.compute()) == 10 * HORIZON


def test_files_with_the_same_name_are_named_by_their_folder() -> None:
    from tsrnn.distributed.engine import _labels

    assert _labels(["/d/a.parquet", "/d/sub/b.parquet"]) == {
        "/d/a.parquet": "a.parquet",
        "/d/sub/b.parquet": "b.parquet",
    }
    assert _labels(["/d/bucket=0/0.parquet", "/d/bucket=1/0.parquet"]) == {
        "/d/bucket=0/0.parquet": "bucket=0/0.parquet",
        "/d/bucket=1/0.parquet": "bucket=1/0.parquet",
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from tsrnn.distributed.engine import cluster

    with cluster(workers=2) as c:
        yield c


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_a_stopped_run_leaves_the_earlier_result_whole(setup: dict[str, Path], client: Any) -> None:
    """A run that fails part-way (here: stopped after its first partition) leaves the earlier result as it was,
    never a mix of old and new partitions, and no staging folder."""
    from tsrnn.distributed.engine import forecast_files

    results = setup["work"] / "kept"
    forecast_files(client, setup["model"], setup["whole"], results)
    before = _folder(results)
    assert "_SUCCESS" in before and len([n for n in before if n.startswith("part-")]) == 4
    other = write_files(make_frame(seed=1), setup["work"] / "other", 4, whole=True)  # other values

    def stop(done: int, total: int, series: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        forecast_files(client, setup["model"], other, results, on_progress=stop)
    time.sleep(1.0)  # the other partitions' tasks finish meanwhile on the workers
    assert _folder(results) == before
    assert not [p for p in results.parent.iterdir() if p.name.startswith(".kept.")]
    summary = forecast_files(client, setup["model"], other, results)
    assert summary.series == SERIES and _folder(results) != before


def test_staging_folders_of_dead_runs_are_removed(setup: dict[str, Path], client: Any) -> None:
    from tsrnn.distributed.engine import forecast_files

    results = setup["work"] / "revived"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = setup["work"] / ".revived.staging-abc123"
    killed.mkdir()
    (killed / ".tsrnn-run.json").write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    (killed / "part-00000.parquet").write_bytes(b"half")
    unlocked = setup["work"] / ".revived.staging-def456"
    unlocked.mkdir()
    os.utime(unlocked, (time.time() - 7200, time.time() - 7200))  # no lock file, untouched for two hours
    summary = forecast_files(client, setup["model"], setup["whole"], results)
    assert summary.cleaned == 2 and not killed.exists() and not unlocked.exists()
    assert sorted(_folder(results)) == ["_SUCCESS", "manifest.json", *(f"part-{k:05d}.parquet" for k in range(4))]


def test_an_out_folder_that_is_not_a_result_is_refused(setup: dict[str, Path]) -> None:
    mine = setup["work"] / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    pl.DataFrame({"x": [1]}).write_parquet(mine / "part-00000.parquet")
    out = run("forecast", setup["model"], setup["whole"], "--engine", "dask", "--workers", "1", "--out", mine)
    assert out.returncode == 2, out.stderr
    assert f"tsrnn: error: --out {mine}: the folder holds files that are not part of a tsrnn result (notes.txt)" in (
        out.stderr
    )
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "part-00000.parquet"]


def _tls_reply(address: str, context: ssl.SSLContext | None) -> bytes:
    """What the scheduler answers a client that speaks plain TCP (no context) or TLS with `context`."""
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        if context is None:
            raw.sendall(b"\x00" * 64)  # a plain message where the scheduler expects a TLS handshake
            return raw.recv(1024)
        with context.wrap_socket(raw) as tls:
            tls.sendall(b"\x00" * 64)
            return tls.recv(1024)


def test_the_local_cluster_refuses_clients_without_its_credentials(client: Any) -> None:
    from distributed.security import Security

    address = client.scheduler.address
    assert address.startswith("tls://")
    assert client.submit(sum, [1, 2]).result() == 3  # the command's own client gets in
    try:  # plain TCP: a reset, a closed connection or a TLS alert record (type 21), never an answer
        reply = _tls_reply(address, None)
    except ConnectionError:
        reply = b""
    assert reply == b"" or reply[0] == 21, reply
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # TLS without a client certificate
    anonymous.check_hostname = False
    anonymous.verify_mode = ssl.CERT_NONE
    with pytest.raises((ssl.SSLError, ConnectionError)):
        if _tls_reply(address, anonymous) == b"":
            raise ConnectionError("closed")
    other = Security.temporary().get_connection_args("client")["ssl_context"]  # another cluster's credentials
    with pytest.raises(ssl.SSLError):
        _tls_reply(address, other)


def test_lost_tasks_and_dying_workers_are_clear_errors() -> None:
    from distributed.client import FutureCancelledError

    from tsrnn.core.errors import DataError
    from tsrnn.distributed.engine import ClusterError, _worker_errors

    lost_tasks = "the Dask cluster lost the forecast's tasks"
    with pytest.raises(ClusterError, match=lost_tasks) as lost, _worker_errors():
        raise FutureCancelledError("part-3", "scheduler-connection-lost")
    assert lost.value.exit_code == 1

    class KilledWorker(Exception):  # noqa: N818  (Dask's name; its own constructor needs a scheduler's state)
        pass

    with pytest.raises(DataError, match="Dask workers died again and again running one task"), _worker_errors():
        raise KilledWorker("part-3")
