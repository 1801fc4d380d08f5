"""ONNX Runtime forecasting: torch-free, batched over series, strict about columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from tsrnn.core.config import TrainConfig
from tsrnn.core.errors import ConfigError, DataError, ModelFileError
from tsrnn.data.loader import load_series
from tsrnn.experiment.pipeline import model_config, train_experiment
from tsrnn.runtime.forecastio import forecast_file, save_table
from tsrnn.runtime.inference import Forecaster, choose_providers

DATA = Path(__file__).parents[2] / "data"


def test_inference_imports_no_torch() -> None:
    code = (
        "import sys, tsrnn.runtime.inference, tsrnn.data.loader, tsrnn.cli.commands; "
        "bad = [m for m in ('torch', 'textual', 'onnx') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_layer_but_training_and_export_imports_no_torch() -> None:
    """Importing each torch-free subpackage's modules (and the faces of all of them) loads neither torch nor onnx."""
    code = (
        "import sys, pkgutil, importlib, tsrnn\n"
        "for layer in ('core', 'timeline', 'data', 'modelfile', 'evaluate', 'runtime', 'distributed'):\n"
        "    pkg = importlib.import_module(f'tsrnn.{layer}')\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'tsrnn.{layer}.{m.name}')\n"
        "for layer in ('cli', 'tune', 'compare', 'experiment', 'export', 'model'):\n"
        "    importlib.import_module(f'tsrnn.{layer}')\n"
        "bad = [m for m in ('torch', 'onnx', 'textual', 'optuna') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_former_module_still_gives_the_forecaster(demo_model: Path) -> None:
    """`from tsrnn.inference import Forecaster` (the import of earlier releases) works, with a deprecation warning,
    and its `forecast_csv` forecasts a file as `forecast_file` does."""
    sys.modules.pop("tsrnn.inference", None)
    with pytest.warns(DeprecationWarning, match="tsrnn.runtime"):
        from tsrnn.inference import Forecaster as Former
    assert issubclass(Former, Forecaster)
    with Former.load(demo_model) as model:
        old = model.forecast_csv("demo")
        assert old.table.equals(forecast_file(model, "demo").table)
    assert old.table.height == 12


def test_forecast_demo_continues_the_months(demo_model: Path) -> None:
    f = Forecaster.load(demo_model)
    res = forecast_file(f, "demo")
    assert res.provider == "CPUExecutionProvider" and res.n_series == 1
    assert res.table.columns == ["time", "passengers"]
    assert res.table["time"].to_list()[:2] == ["1961-01-01", "1961-02-01"] and res.table.height == 12
    hist = load_series("demo").values[0][None, -24:]
    np.testing.assert_allclose(res.table["passengers"].to_numpy(), f.predict(hist)[0, :, 0])


def test_long_format_forecasts_all_series_in_one_call(tmp_path: Path) -> None:
    data = load_series(DATA / "long_format.csv")
    exp = train_experiment(
        data,
        model_config(data, cell="gru", hidden_size=8, num_layers=1, input_len=12, horizon=6),
        TrainConfig(epochs=1),
    )
    f = Forecaster.load(exp.export(tmp_path / "long.onnx").path)
    calls = []
    real = f.session.run
    f.session.run = lambda *a, **k: calls.append(a[1]["history"].shape) or real(*a, **k)  # type: ignore[method-assign]
    res = forecast_file(f, DATA / "long_format.csv")
    assert calls == [(3, 12, 1)]
    assert res.table.columns == ["unique_id", "time", "value"] and res.table.height == 18
    assert res.table.filter(res.table["unique_id"] == "south, coast")["time"][0] == "2006-09-01"
    out = save_table(res.table, tmp_path / "fc.csv")
    assert out.read_text().splitlines()[0] == "unique_id,time,value"


def test_csv_without_model_columns_names_them(demo_model: Path) -> None:
    with pytest.raises(DataError, match=r"two_numeric.csv: columns 'passengers' are missing"):
        forecast_file(Forecaster.load(demo_model), DATA / "two_numeric.csv")


def test_not_a_model_file() -> None:
    with pytest.raises(ModelFileError, match=r"not_a_model\.onnx: not a readable ONNX model"):
        Forecaster.load(DATA / "not_a_model.onnx")


def test_onnx_without_tsrnn_metadata(demo_model: Path, tmp_path: Path) -> None:
    proto = onnx.load(str(demo_model))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    with pytest.raises(ModelFileError, match="not one exported by tsrnn"):
        Forecaster.load(tmp_path / "plain.onnx")


def test_providers_cpu_auto_and_cuda_fallback(demo_model: Path) -> None:
    import onnxruntime as ort

    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    assert choose_providers("auto")[-1] == "CPUExecutionProvider"
    assert choose_providers("cuda")[-1] == "CPUExecutionProvider"
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        choose_providers("tpu")
    cpu, cuda = Forecaster.load(demo_model, device="cpu"), Forecaster.load(demo_model, device="cuda")
    assert cpu.fallback is None
    if "CUDAExecutionProvider" not in ort.get_available_providers():  # this machine: the CPU, said clearly
        assert cuda.provider == "CPUExecutionProvider" and cuda.fallback is not None
        assert "no CUDA provider" in cuda.fallback and "on the CPU instead" in cuda.fallback
        assert Forecaster.load(demo_model, device="auto").fallback is None  # auto promises nothing
    else:
        assert cuda.fallback is None or "could not start" in cuda.fallback


def test_io_binding_path_equals_plain_run(demo_model: Path) -> None:
    from tsrnn.runtime import inference

    f = Forecaster.load(demo_model, threads=1)
    x = np.stack([load_series("demo").values[0][i : i + 24] for i in range(100)] * 11)  # >= IOBIND_FROM
    assert len(x) >= inference.IOBIND_FROM
    plain = f.predict(x)
    f.io_binding = True  # the GPU path, bound to CPU memory here
    np.testing.assert_array_equal(f.predict(x), plain)


def test_predict_checks_shape(demo_model: Path) -> None:
    with pytest.raises(ConfigError, match=r"\(batch, 24, 1\)"):
        Forecaster.load(demo_model).predict(np.zeros((2, 10, 1)))


def test_streamed_batches_equal_one_call(tmp_path: Path) -> None:
    data = load_series(DATA / "long_format.csv")
    exp = train_experiment(
        data,
        model_config(data, cell="lstm", hidden_size=4, num_layers=1, input_len=12, horizon=6),
        TrainConfig(epochs=1),
    )
    f = Forecaster.load(exp.export(tmp_path / "m.onnx").path)
    whole = forecast_file(f, DATA / "long_format.csv").table
    seen: list[tuple[int, int]] = []
    res = forecast_file(
        f,
        DATA / "long_format.csv",
        out=tmp_path / "out" / "fc.csv",
        batch_size=2,
        on_progress=lambda a, b: seen.append((a, b)),
    )
    assert seen == [(2, 3), (3, 3)] and res.out == tmp_path / "out" / "fc.csv"
    assert res.table.height == 12  # only the first batch is kept in memory
    import polars as pl

    written = pl.read_csv(res.out)
    assert written.columns == whole.columns and written.height == whole.height
    np.testing.assert_allclose(written["value"].to_numpy(), whole["value"].to_numpy(), rtol=1e-5)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["fc.csv"]


def test_unwritable_forecast_output(demo_model: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write"):
        forecast_file(Forecaster.load(demo_model), "demo", out=tmp_path / "file" / "fc.csv")


def test_written_files_get_the_usual_mode(demo_model: Path, tmp_path: Path) -> None:
    import os

    out = save_table(forecast_file(Forecaster.load(demo_model), "demo").table, tmp_path / "fc.csv")
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert oct(os.stat(out).st_mode)[-3:] != "600"


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("n", [1, 7, 8, 63, 64, 300, 601])
def test_batch_slices_on_worker_threads_equal_one_call(demo_model: Path, n: int) -> None:
    from tsrnn.runtime import inference

    one, sliced = Forecaster.load(demo_model, threads=1), Forecaster.load(demo_model, threads=3)
    assert one.workers == 1 and sliced.workers == 3
    values = load_series("demo").values[0]
    x = np.stack([values[i % 100 : i % 100 + 24] for i in range(n)])
    calls: list[int] = []
    run = sliced.session.run
    sliced.session = type(
        "Spy",
        (),
        {
            "run": lambda self, names, feed, options=None: (
                calls.append(len(feed["history"])) or run(names, feed, options)
            ),
            "get_outputs": lambda self: one.session.get_outputs(),
        },
    )()
    np.testing.assert_allclose(sliced.predict(x), one.predict(x), rtol=1e-5, atol=1e-4)
    assert sum(calls) == n
    if n >= 2 * inference.MIN_SHARD:  # every slice between MIN_SHARD and SHARD_ROWS rows, at least one per worker
        assert len(calls) >= 3 or n // inference.MIN_SHARD < 3
        assert min(calls) >= inference.MIN_SHARD and max(calls) <= inference.SHARD_ROWS
    else:
        assert calls == [n]


def test_close_stops_the_worker_threads_and_the_forecaster_still_works(demo_model: Path) -> None:
    import threading

    values = load_series("demo").values[0]
    x = np.stack([values[i % 100 : i % 100 + 24] for i in range(600)])
    with Forecaster.load(demo_model, threads=3) as f:
        first = f.predict(x)
        assert any(t.name.startswith("tsrnn-ort") for t in threading.enumerate())
    assert not any(t.name.startswith("tsrnn-ort") for t in threading.enumerate())
    np.testing.assert_array_equal(f.predict(x), first)  # threads start again when needed
    f.close()


def test_threads_below_one_is_refused(demo_model: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        Forecaster.load(demo_model, threads=0)
