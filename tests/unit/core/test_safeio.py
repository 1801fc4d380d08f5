"""Output files: never half a file, no temporary file left, devices and pipes written through, folders refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tsrnn.core import safeio
from tsrnn.core.errors import ConfigError

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _write(data: bytes):
    return lambda tmp: tmp.write_bytes(data)


def test_folder_target_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"exports: it is a folder; give a file name such as .*exports/model\.onnx"):
        safeio.atomic_write(folder, _write(b"data"), example="model.onnx")
    with pytest.raises(ConfigError, match="exports is a folder; give a file name such as"):
        safeio.check_out_path(folder)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_stream_to_folder_is_refused_without_temp(tmp_path: Path) -> None:
    from tsrnn.runtime.forecastio import csv_sink as _csv_sink

    with (
        pytest.raises(ConfigError, match=r"it is a folder; give a file name such as .*forecast\.csv"),
        _csv_sink(tmp_path),
    ):
        pytest.fail("the sink must not open")
    with pytest.raises(ConfigError, match="it is a folder"):
        safeio.StreamWriter(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_out_path_accepts_new_file_and_creates_nothing(tmp_path: Path) -> None:
    assert safeio.check_out_path(tmp_path / "a" / "b" / "m.onnx") == tmp_path / "a" / "b" / "m.onnx"
    (tmp_path / "old.csv").write_text("x")
    safeio.check_out_path(tmp_path / "old.csv")
    safeio.check_out_path("/dev/null")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]


def test_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(
        ConfigError,
        match=r"cannot write --out .*file/sub/m\.onnx: .*file is not a folder; "
        r"choose another --out path",
    ):
        safeio.check_out_path(tmp_path / "file" / "sub" / "m.onnx")
    with pytest.raises(OSError):
        safeio.atomic_write(tmp_path / "file" / "m.onnx", _write(b"x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(ROOT, reason="root passes permission bits")
def test_read_only_folder_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="no permission to create files in"):
            safeio.check_out_path(ro / "new" / "fc.csv", what="--out")
    finally:
        ro.chmod(0o700)


def test_folder_where_nothing_can_be_created_is_refused() -> None:
    """Root passes permission checks, so the probe file must find what the bits do not: /proc takes no files."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(ConfigError, match=r"cannot write --out /proc/tsrnn-test/x\.csv: .*/proc"):
        safeio.check_out_path("/proc/tsrnn-test/x.csv")
    with pytest.raises(ConfigError, match="--out-dir"):
        safeio.check_out_dir("/proc/tsrnn-test", what="--out-dir")


def test_check_out_dir(tmp_path: Path) -> None:
    assert safeio.check_out_dir(tmp_path / "new" / "board") == tmp_path / "new" / "board"
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="it is a file, not a folder"):
        safeio.check_out_dir(tmp_path / "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_dev_null_stays_a_character_device() -> None:
    for _ in range(2):
        assert safeio.atomic_write("/dev/null", _write(b"x" * 10_000)) == Path("/dev/null")
        with safeio.StreamWriter("/dev/null") as out:
            out.file.write(b"abc")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not any(p.name.startswith(".null.") for p in Path("/dev").iterdir())


@pytest.mark.parametrize("streamed", [False, True])
def test_fifo_gets_the_bytes(tmp_path: Path, streamed: bool) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    data = b"t,value\n" + b"2024-01-01,1.5\n" * 20_000  # more than a pipe buffer
    safeio.check_out_path(fifo)
    if streamed:
        with safeio.StreamWriter(fifo) as out:
            out.file.write(data[:100])
            out.file.write(data[100:])
    else:
        safeio.atomic_write(fifo, _write(data))
    reader.join(10)
    assert got == [data]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_stale_temp_files_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "fc.csv"
    old = tmp_path / ".fc.csv.abc123.tmp"
    fresh = tmp_path / ".fc.csv.def456.tmp"
    other = tmp_path / ".other.csv.abc123.tmp"
    for p in (old, fresh, other):
        p.write_text("partial")
    hour_ago = time.time() - safeio.STALE_AFTER - 60
    for p in (old, other):
        os.utime(p, (hour_ago, hour_ago))
    safeio.atomic_write(target, _write(b"new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".fc.csv.def456.tmp", ".other.csv.abc123.tmp", "fc.csv"]
    )
    os.utime(fresh, (hour_ago, hour_ago))
    with safeio.StreamWriter(target) as out:
        out.file.write(b"again")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.abc123.tmp", "fc.csv"]
    assert target.read_bytes() == b"again"


@pytest.mark.usefixtures("umask_027")
def test_new_file_mode_follows_umask_existing_keeps_its_mode(tmp_path: Path) -> None:
    assert safeio.current_umask() == 0o027
    new = safeio.atomic_write(tmp_path / "m.onnx", _write(b"x"))
    assert stat.S_IMODE(new.stat().st_mode) == 0o640
    with safeio.StreamWriter(tmp_path / "fc.csv") as out:
        out.file.write(b"x")
    assert stat.S_IMODE((tmp_path / "fc.csv").stat().st_mode) == 0o640
    (tmp_path / "m.onnx").chmod(0o604)
    safeio.atomic_write(tmp_path / "m.onnx", _write(b"y"))
    assert stat.S_IMODE((tmp_path / "m.onnx").stat().st_mode) == 0o604


def test_failed_write_keeps_old_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "fc.csv"
    target.write_text("old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        safeio.atomic_write(target, boom)
    with pytest.raises(RuntimeError), safeio.StreamWriter(target) as out:
        out.file.write(b"half")
        raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["fc.csv"]
    assert target.read_text() == "old"


def test_symlink_is_kept_and_its_file_replaced(tmp_path: Path) -> None:
    (tmp_path / "v1.csv").write_text("one")
    (tmp_path / "latest.csv").symlink_to("v1.csv")
    safeio.atomic_write(tmp_path / "latest.csv", _write(b"two"))
    assert (tmp_path / "latest.csv").is_symlink()
    assert (tmp_path / "v1.csv").read_text() == "two"


def _run(code: str, **kwargs) -> subprocess.CompletedProcess[bytes]:
    root = Path(__file__).resolve().parents[3]
    return subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120, **kwargs)


def test_dev_stdout_is_written_through(tmp_path: Path) -> None:
    code = (
        "from tsrnn.core.safeio import atomic_write, check_out_path, StreamWriter\n"
        "print('before', flush=False)\n"
        "check_out_path('/dev/stdout')\n"
        "atomic_write('/dev/stdout', lambda p: p.write_bytes(b'whole\\n'))\n"
        "with StreamWriter('/dev/fd/1') as s:\n"
        "    s.file.write(b'streamed\\n')\n"
    )
    assert _run(code, capture_output=True).stdout == b"before\nwhole\nstreamed\n"
    # stdout appended to a file (`>> log`): the earlier content stays, the file is not replaced
    log = tmp_path / "log.csv"
    log.write_bytes(b"earlier\n")
    inode = log.stat().st_ino
    with open(log, "ab") as fh:
        _run(code, stdout=fh)
    assert log.read_bytes() == b"earlier\nbefore\nwhole\nstreamed\n"
    assert log.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_save_table_to_stdout() -> None:
    code = (
        "import polars as pl\nfrom tsrnn.runtime.forecastio import save_table\n"
        "save_table(pl.DataFrame({'t': ['2024-01-01'], 'value': [1.5]}), '/dev/stdout')\n"
    )
    assert _run(code, capture_output=True).stdout == b"t,value\n2024-01-01,1.5\n"


def test_export_to_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    from tsrnn.core.config import TrainConfig
    from tsrnn.data.loader import load_series
    from tsrnn.experiment.pipeline import model_config, train_experiment

    data = load_series("demo")
    exp = train_experiment(data, model_config(data, cell="gru", hidden_size=4), TrainConfig(epochs=1, seed=0))
    with pytest.raises(ConfigError, match=r"it is a folder; give a file name such as .*model\.onnx"):
        exp.export(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert exp.export("/dev/null").path == Path("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
