"""The curl examples of docs/serve.md, run against a real server: each answers as the page says."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tsrnn.data.loader import demo_path

DOC = Path(__file__).parents[2] / "docs" / "serve.md"


def block(text: str, start: str, fence: str) -> str:
    """The first fenced block of kind `fence` after the line holding `start`."""
    after = text[text.index(start) :]
    m = re.search(rf"```{fence}\n(.*?)```", after, re.S)
    assert m, start
    return m.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_examples(server: Any, tmp_path: Path) -> None:
    text = DOC.read_text()
    commands = [c for c in block(text, "<!-- curl:start -->", "bash").splitlines() if c.startswith("curl ")]
    assert len(commands) == 8
    shutil.copy(demo_path(), tmp_path / "airline_passengers.csv")
    (tmp_path / "request.json").write_text(block(text, "`request.json` for the examples", "json"))
    refused = json.loads(block(text, "The three-row request is refused", "json"))
    address = server.url.removeprefix("http://")
    for command in commands:
        args = [a.replace("localhost:8000", address) for a in shlex.split(command)]
        run = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        out = run.stdout
        assert run.returncode == 0 and out and "Traceback" not in out, (command, run.stderr)
        if "/forecast" not in command:
            continue
        if "accept: text/csv" in command:
            assert out.startswith("time,passengers\n1961-01-01,")
        elif '"rows"' in command:
            assert json.loads(out) == refused
        else:
            answer = json.loads(out)
            assert answer["n_series"] == 1 and len(answer["forecast"]) == 12
