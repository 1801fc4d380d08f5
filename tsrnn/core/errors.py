"""Errors a user can act on: each carries a one-line message and a short title."""

from __future__ import annotations


class TsrnnError(Exception):
    """Base error: the message says what is wrong and what to do."""

    title = "Error"
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DataError(TsrnnError):
    """The CSV cannot be used as a time series as it stands."""

    title = "Bad data"


class ConfigError(TsrnnError):
    """A setting is invalid or does not fit the data."""

    title = "Bad setting"


class TrainingError(TsrnnError):
    """Training could not go on (for example the loss became NaN)."""

    title = "Training failed"
    exit_code = 1


class ExportError(TsrnnError):
    """The ONNX export failed or did not match PyTorch."""

    title = "Export failed"
    exit_code = 1


class ModelFileError(TsrnnError):
    """A file is not a usable tsrnn ONNX model."""

    title = "Bad model file"
