"""The JSON metadata that travels inside each exported .onnx file (stdlib only)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

METADATA_KEY = "tsrnn"
FORMAT_VERSION = 1
MAX_LISTED_SERIES = 1000

REQUIRED = ("input_len", "horizon", "targets", "inputs", "time_col", "freq", "cell")


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def dumps(meta: dict[str, Any]) -> str:
    return json.dumps(meta, default=_plain)


def loads(text: str, source: str) -> dict[str, Any]:
    """Parse and check the metadata; a ValueError names what is missing."""
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise ValueError(f"{source}: tsrnn metadata is not a JSON object")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ValueError(f"{source}: tsrnn metadata lacks {', '.join(missing)}")
    return meta


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
