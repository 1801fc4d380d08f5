"""The largest function signatures in tsrnn/ and tui/: every `def` (methods and nested functions too), counted by
its parameters (positional, keyword-only, *args and **kwargs; `self` and `cls` left out).

Run: python -m bench.signatures [--top 10]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tsrnn", "tui")


def parameter_count(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The parameters of one `def`, without a leading `self` or `cls`."""
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    if positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    return len(positional) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)


def signatures(root: Path) -> list[tuple[int, str]]:
    """(parameters, "path:line name") of every function in PACKAGES, largest first."""
    found: list[tuple[int, str]] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    where = f"{path.relative_to(root)}:{node.lineno} {node.name}"
                    found.append((parameter_count(node), where))
    return sorted(found, key=lambda item: (-item[0], item[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many functions to list (default 10)")
    args = parser.parse_args()
    found = signatures(ROOT)
    for count, where in found[: args.top]:
        print(f"{count:3d}  {where}")
    counts = sorted(count for count, _ in found)
    print(f"{len(found)} functions; median {counts[len(counts) // 2]} parameters, largest {counts[-1]}")


if __name__ == "__main__":
    main()
