"""Forecast very many series on a Dask cluster (dask.distributed): a laptop's LocalCluster or a real one.

Input: data in the long layout the model reads (id, time, inputs and future columns), each series whole in one
partition. From Parquet files (`tsrnn forecast MODEL.onnx 'data/*.parquet' --engine dask --out results/`) each
file is a partition; when some series is split over several files, the rows are shuffled by id once first (Dask's
shuffle). From a Dask DataFrame (`forecast(ddf, "model.onnx")`), the caller's partitions are used as they are, or
shuffled by id first with `shuffle=True`.

The command sends the model file to every worker once (no worker needs it on disk); each worker process loads it
once (one ONNX Runtime session, kept for every later partition), reads each partition with tsrnn's loader (the
checks and messages of a single file) and forecasts all its series in one batched call. A series that cannot be
forecast (too short, bad values, duplicated times) is left out and reported with its id and file while the others
are forecast; an unreadable file is reported and the other files are forecast. Results are Parquet partitions
written into a staging folder beside the result folder and swapped in, with a manifest, only when the run is
complete (`tsrnn.distributed.staging`): a killed run leaves the earlier result whole. What a valid input is and how its
series are found (id column, files, schemas, time zones, empty data) is `tsrnn.data.parquetio`'s, for both engines.
A LocalCluster started here talks TLS with temporary credentials: no other process can use its workers.

This module is the way in: the cluster, `forecast_files` and the command. The work is split by job:
`tsrnn.distributed.worker` (the model on a worker, one partition's forecast), `tsrnn.distributed.parts` (the partition
tasks and the files they write), `tsrnn.distributed.plan` (files into partitions: the id-hash pass, the shuffle) and
`tsrnn.distributed.frame` (a Dask DataFrame in and out).

Needs the `dask` extra: pip install 'tsrnn[dask]'."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsrnn import __version__
from tsrnn.core.errors import ConfigError, DataError, TsrnnError
from tsrnn.core.extras import needs_extras, require
from tsrnn.core.safeio import check_out_dir
from tsrnn.data.outputs import Output, check_outputs
from tsrnn.data.parquetio import ParquetSource, is_parquet, parquet_files, read_plan
from tsrnn.distributed.frame import forecast as forecast
from tsrnn.distributed.parts import SKIPPED_FILE, PartReport, write_skipped
from tsrnn.distributed.plan import file_labels, submit_parts
from tsrnn.distributed.staging import PART_NAME, Staging, check_result_folder
from tsrnn.distributed.worker import Options, Skipped, peak_rss_mib
from tsrnn.distributed.worker import model_loads as model_loads
from tsrnn.runtime.inference import Forecaster
from tsrnn.runtime.session import available_cores

if TYPE_CHECKING:
    from distributed import Client

CONNECT_TIMEOUT = 5.0
"""Seconds to reach a scheduler given by address before giving up with a clear error."""
SHOWN = 10
"""Skipped series and warnings printed one per line; the rest are counted (and listed in skipped.csv)."""
_labels = file_labels
"""How messages name each file (`dist_plan.file_labels`)."""


# --- the client side ---------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a distributed forecast did."""

    out: Path
    files: int
    partitions: int = 0
    series: int = 0
    rows: int = 0
    shuffled: bool = False
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: int = 0
    """part files of the earlier result that the new one, swapped in, has not."""
    cleaned: int = 0
    """staging folders of earlier runs that were killed, removed."""
    workers: int = 0
    seconds: float = 0.0
    worker_peak_rss_mib: dict[str, float] = field(default_factory=dict)
    client_peak_rss_mib: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "files": self.files,
            "partitions": self.partitions,
            "series": self.series,
            "rows": self.rows,
            "shuffled": self.shuffled,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": self.warnings,
            "removed_stale_parts": self.removed,
            "removed_stale_staging": self.cleaned,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "worker_peak_rss_mib": self.worker_peak_rss_mib,
            "client_peak_rss_mib": round(self.client_peak_rss_mib, 1),
        }


@contextlib.contextmanager
def cluster(
    scheduler: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Client]:
    """A Dask client: connected to the scheduler at `scheduler` (a ConfigError after `timeout` seconds when it
    cannot be reached; TLS settings come from Dask's configuration), or to a LocalCluster of `workers`
    single-threaded worker processes (default: one per core) started here and stopped at the end. The
    LocalCluster talks TLS with temporary credentials made for it (Security.temporary()): a process without them
    can neither connect to its scheduler nor run code on its workers."""
    with needs_extras("tsrnn.distributed.cluster"):
        require("dask", "distributed", "cryptography")
    # Here, not at the top: Dask is the optional dask extra, needed only when a cluster runs.
    from distributed import Client, LocalCluster
    from distributed.security import Security

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except Exception as exc:  # OSError (refused, timed out), ValueError (a malformed address)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            if isinstance(exc, ValueError):
                raise ConfigError(
                    f"--scheduler {scheduler}: not a scheduler address ({first}); give one such as "
                    "tcp://scheduler-host:8786"
                ) from None
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({first}); "
                "check the address (e.g. tcp://scheduler-host:8786) and that the scheduler is "
                "running"
            ) from None
        with client:
            yield client
        return
    n = workers or available_cores()
    if n < 1:
        raise ConfigError(f"--workers must be at least 1, got {n}")
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
            security=Security.temporary(),
            host="127.0.0.1",
        ) as local,
        Client(local) as client,
    ):
        yield client


def forecast_files(
    client: Client,
    model_path: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    device: str = "cpu",
    threads: int = 1,
    allow_freq_mismatch: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Summary:
    """Forecast Parquet data (a file, a folder or a glob) on `client`'s cluster into part-NNNNN.parquet files in
    the folder `out`: one partition per file, or, when a series is split over several files, the rows shuffled
    by id once into as many partitions. The data set is checked as the local engine checks it (`parquetio`: the
    same files, columns, types, time zones and id column). Bad files and series are left out and listed in the
    summary (and in out/skipped.csv). The partitions go to a staging folder beside `out` that replaces `out`,
    with manifest.json and _SUCCESS, only when all is written. `on_progress(done, partitions, series)` follows
    the partitions."""
    t0 = time.perf_counter()
    model = Forecaster.load(model_path)  # a bad model fails here, before the cluster does any work
    model_bytes = Path(model_path).read_bytes()
    out = check_out_dir(out, "--out")
    check_result_folder(out)
    files = [str(f) for f in parquet_files(data)]
    labels = file_labels(files)
    unreadable: list[Skipped] = []
    source = ParquetSource.open(
        data, [Path(f) for f in files], lambda f, exc: unreadable.append(Skipped(None, labels[str(f)], exc.message))
    )
    model.check_columns(source.columns, Path(data).name)
    plan = read_plan(source, model.data_config())
    good = [str(f) for f in source.files]
    opts = Options(device, threads, allow_freq_mismatch, id_col=plan.id_col)
    summary = Summary(out, len(files), workers=len(client.scheduler_info().get("workers", {})))
    summary.skipped += unreadable
    staging = Staging(out)
    summary.cleaned = staging.cleaned
    futures: list[Any] = []
    try:
        shipped = client.scatter(model_bytes, broadcast=True)  # no worker needs the file itself
        ship = {"model_bytes": shipped, "model_name": Path(model_path).name}
        with _worker_errors():
            futures, summary.shuffled = submit_parts(
                client, model, str(data), good, labels, ship, str(staging.path), opts, summary.skipped, on_note
            )
            summary.partitions = len(futures)
            reports = _collect(futures, summary, on_progress)
            summary.worker_peak_rss_mib = {k: round(v, 1) for k, v in client.run(peak_rss_mib).items()}
        write_skipped(staging.path, summary.skipped)
        written = {r.out for r in reports if r.out}
        if out.is_dir():
            summary.removed = sum(1 for f in out.iterdir() if PART_NAME.match(f.name) and f.name not in written)
        staging.commit(_manifest(summary, reports, model_path, model_bytes, data))
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        staging.abort()
        raise
    summary.seconds = time.perf_counter() - t0
    summary.client_peak_rss_mib = peak_rss_mib()
    return summary


def _manifest(
    s: Summary, reports: list[PartReport], model_path: str | Path, model_bytes: bytes, data: str | Path
) -> dict[str, Any]:
    return {
        "format": "tsrnn forecast partitions",
        "tsrnn_version": __version__,
        "model": Path(model_path).name,
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "data": str(data),
        "parts": [{"file": r.out, "rows": r.rows, "series": r.series} for r in reports if r.out],
        "rows": s.rows,
        "series": s.series,
        "skipped": len(s.skipped),
        "shuffled": s.shuffled,
    }


def _collect(
    futures: list[Any], summary: Summary, on_progress: Callable[[int, int, int], None] | None
) -> list[PartReport]:
    # Here, not at the top: Dask is the optional dask extra, needed only when a cluster runs.
    from distributed import as_completed

    reports: list[PartReport] = []
    for future in as_completed(futures):
        report: PartReport = future.result()
        reports.append(report)
        summary.series += report.series
        summary.rows += report.rows
        summary.skipped += report.skipped
        summary.warnings += report.warnings
        if on_progress:
            on_progress(len(reports), len(futures), summary.series)
    reports.sort(key=lambda r: r.index)
    return reports


@contextlib.contextmanager
def _worker_errors() -> Iterator[None]:
    """Word what went wrong on a worker: a missing package, a worker that kept dying."""
    try:
        yield
    except TsrnnError:
        raise
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"a Dask worker cannot import '{exc.name}': install tsrnn with its dask extra (pip install "
            "'tsrnn[dask]'), the same version as here, where the workers run"
        ) from None
    except Exception as exc:
        name = type(exc).__name__
        if name in ("FutureCancelledError", "CancelledError", "CommClosedError"):
            raise ClusterError(
                f"the Dask cluster lost the forecast's tasks ({name}: {str(exc)[:160]}); workers kept dying or "
                "the scheduler went away: check the workers' logs and memory, then run the forecast again (the "
                "earlier result in --out is left as it was)"
            ) from None
        if name != "KilledWorker":
            raise
        raise DataError(
            f"Dask workers died again and again running one task ({str(exc)[:160]}); usually a "
            "partition does not fit a worker's memory: give the workers more memory or split the "
            "data into more, smaller files"
        ) from None


class ClusterError(TsrnnError):
    """The cluster could not finish the work (its tasks were lost): not the data's fault, worth a retry."""

    title = "Cluster failed"
    exit_code = 1


# --- the command line --------------------------------------------------------------------------------------


def run_cli(args: argparse.Namespace) -> int:
    """`tsrnn forecast MODEL DATA --engine dask [--scheduler ADDRESS] [--workers N] --out FOLDER`."""
    if getattr(args, "future_csv", None):
        raise ConfigError(
            "--future-csv is not read with --engine dask; put the horizon's rows in the data (the rows "
            "after each series' last target, target empty)"
        )
    if not args.out:
        raise ConfigError(
            "--engine dask writes Parquet partitions into a folder: pass --out FOLDER (e.g. --out results/)"
        )

    # the results folder may neither be, hold nor sit inside what is read
    check_outputs([("the data", args.data), ("the model", args.model)], [Output("--out", args.out, folder=True)])
    if args.scheduler and args.workers:
        raise ConfigError(
            "--workers starts a local cluster of that many worker processes; with --scheduler the "
            "cluster has its own workers: leave out one of the two"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    if not is_parquet(args.data):
        raise ConfigError(
            f"{args.data}: --engine dask reads Parquet (a .parquet file, a folder of them or a glob such "
            "as 'data/*.parquet', quoted); convert the data to Parquet, or use --engine local"
        )
    parquet_files(args.data)  # a folder or glob that holds CSV files is refused before a cluster starts
    check_out_dir(args.out, "--out")
    check_result_folder(args.out)
    Forecaster.load(args.model)  # a bad model fails before a cluster starts
    require("dask", "distributed")
    for name in ("distributed", "distributed.shuffle"):
        logging.getLogger(name).setLevel(logging.ERROR)
    quiet = args.json
    with cluster(args.scheduler, args.workers) as client:
        summary = forecast_files(
            client,
            args.model,
            args.data,
            args.out,
            device=args.device,
            threads=args.threads or 1,
            allow_freq_mismatch=args.allow_freq_mismatch,
            on_progress=None if quiet else _progress,
            on_note=None if quiet else (lambda text: print(f"note: {text}", file=sys.stderr)),
        )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary)
    if summary.skipped:
        files = sum(s.series is None for s in summary.skipped)
        series = len(summary.skipped) - files
        what = " and ".join(x for x in (f"{series} series" if series else "", f"{files} file(s)" if files else "") if x)
        raise DataError(
            f"{what} skipped (listed in {summary.out / SKIPPED_FILE}); the other {summary.series:,} "
            f"series were forecast into {summary.out}"
        )
    return 0


def _progress(done: int, total: int, series: int) -> None:
    tty = sys.stderr.isatty()
    if not tty and done != total and done * 10 // total == (done - 1) * 10 // total:
        return  # a log gets about ten lines
    end = "\n" if done == total or not tty else ""
    sys.stderr.write(f"\rforecast {done}/{total} partitions, {series:,} series{end}")
    sys.stderr.flush()


def _print_summary(s: Summary) -> None:
    err = sys.stderr
    for text in s.warnings[:SHOWN]:
        print(f"warning: {text}", file=err)
    if len(s.warnings) > SHOWN:
        print(f"warning: ... and {len(s.warnings) - SHOWN} more (every one is listed by --json)", file=err)
    for sk in s.skipped[:SHOWN]:
        print(
            f"skipped series '{sk.series}': {sk.reason}" if sk.series is not None else f"skipped file: {sk.reason}",
            file=err,
        )
    if len(s.skipped) > SHOWN:
        print(f"skipped: ... and {len(s.skipped) - SHOWN} more (all in {s.out / SKIPPED_FILE})", file=err)
    if s.removed:
        print(f"note: the earlier result in {s.out} had {s.removed} more part files; it was replaced whole", file=err)
    if s.cleaned:
        print(f"note: removed {s.cleaned} staging folder(s) of earlier runs into {s.out} that were stopped", file=err)
    how = f", shuffled by id from {s.files} files" if s.shuffled else ""
    print(
        f"{s.series:,} series forecast on {s.workers} Dask workers in {s.seconds:.1f} s: {s.rows:,} rows in "
        f"{s.partitions} partitions{how}",
        file=err,
    )
    print(f"wrote {s.out}", file=err)
