"""Every command of the README's quick start runs as shown, on the bundled demo data, and writes what it says."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"<!-- quickstart:start -->\s*```[a-z]*\n(.*?)```\s*<!-- quickstart:end -->", re.S)


def quickstart() -> list[list[str]]:
    """The commands of the quick-start block, split as a shell would (comments dropped)."""
    block = BLOCK.search(README.read_text(encoding="utf-8"))
    assert block, "README.md has no ```bash block between <!-- quickstart:start --> and <!-- quickstart:end -->"
    return [words for line in block.group(1).splitlines() if (words := shlex.split(line, comments=True))]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "tsrnn", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def test_quickstart_commands_run(tmp_path: Path) -> None:
    commands = quickstart()
    assert commands and all(words[0] == "tsrnn" for words in commands), commands
    shown = [words[1] for words in commands]
    assert {"train", "forecast", "compare", "tui"} <= set(shown), shown
    assert shown.index("train") < shown.index("forecast"), "the quick start forecasts before it trains"

    for words in commands:
        command, args = words[1], words[1:]
        if command == "tui":  # interactive: only check that the command line as shown is accepted
            out = run([*args, "--help"], tmp_path)
            assert out.returncode == 0 and "usage: tsrnn tui" in out.stdout, out.stderr
            continue
        if command in ("train", "compare"):
            # One torch thread: the default, one per core, slows training tenfold while other processes share
            # the cores, as they do when the suite runs; the option changes the speed only.
            args = [*args, "--threads", "1"]
        out = run(args, tmp_path)
        assert out.returncode == 0, f"`{shlex.join(words)}` exited with {out.returncode}:\n{out.stderr}"

        if command == "train":  # the model the later commands use is where they look for it
            used = [later for later in commands if later[1] in ("forecast", "inspect")]
            models = {w for later in used for w in later if w.endswith(".onnx")}
            assert models and all((tmp_path / m).is_file() for m in models), (models, out.stdout)
            assert "seasonal_naive" in out.stdout and "max abs error" in out.stdout
        elif command == "forecast":
            path = option(words, "--out")
            assert path is not None
            lines = (tmp_path / path).read_text().splitlines()
            assert lines[0] == "time,passengers" and len(lines) == 1 + 12, lines
            assert lines[1].startswith("1961-01-01,")
        elif command == "inspect":
            assert "window 24 -> horizon 12" in out.stdout and "frequency monthly" in out.stdout, out.stdout
        elif command == "compare":
            board = tmp_path / "exports" / "compare_airline_passengers"
            assert all((board / f"leaderboard.{ext}").is_file() for ext in ("csv", "json", "md"))
            ranked = {row["name"] for row in json.loads((board / "leaderboard.json").read_text())["rows"]}
            variants = (option(words, "--variants") or "").split(",")
            assert set(variants) <= ranked and "seasonal_naive" in ranked, ranked
            assert all((board / "models" / f"{v}.onnx").is_file() for v in variants)
