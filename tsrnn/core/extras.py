"""Optional packages: which extra installs each, and a clear error when one is missing (stdlib only)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

from tsrnn.core.errors import TsrnnError

EXTRA_OF = {
    "torch": "train",
    "onnx": "train",
    "holidays": "train",
    "textual": "tui",
    "textual_plotext": "tui",
    "plotext": "tui",
    "optuna": "tune",
    "dask": "dask",
    "distributed": "dask",
    "pandas": "dask",
    "pyarrow": "dask",
    "cryptography": "dask",
    "statsforecast": "stats",
    "uvicorn": "serve",
    "starlette": "serve",
    "prometheus_client": "serve",
}
"""Top-level module -> the extra of `pip install 'tsrnn[EXTRA]'` that brings it. The core install (numpy, polars,
onnxruntime) forecasts; training needs torch and onnx, the terminal UI needs textual."""


class MissingExtraError(TsrnnError):
    """An optional package that this command needs is not installed."""

    title = "Missing package"


def missing_extra(exc: ModuleNotFoundError, what: str) -> MissingExtraError | None:
    """The error to show for a missing optional package; None when the module is not one of tsrnn's extras."""
    root = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    return MissingExtraError(
        f"{what} needs the optional package '{root}', which is not installed; install it with: "
        f"pip install 'tsrnn[{extra}]'"
    )


def require(*modules: str) -> None:
    """Raise ModuleNotFoundError for the first of `modules` that is not installed, without importing any (a
    command checks its packages before any long work; needs_extras words the error)."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


@contextmanager
def needs_extras(what: str) -> Iterator[None]:
    """Turn the import of a missing optional package inside the block into a MissingExtraError."""
    try:
        yield
    except ModuleNotFoundError as exc:
        err = missing_extra(exc, what)
        if err is None:
            raise
        raise err from None
