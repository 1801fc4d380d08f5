"""Every relative link in README.md and docs/*.md points at a file that exists, and at a heading that exists.

Run as a script (`python tests/unit/test_docs_links.py`) to list the broken links.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links() -> list[str]:
    problems = []
    for page in pages():
        for line in prose(page.read_text(encoding="utf-8")):
            for target in LINK.findall(line):
                if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
                    continue
                file, _, anchor = target.partition("#")
                dest = (page.parent / file).resolve() if file else page
                where = f"{page.relative_to(ROOT)}: link {target}"
                if not dest.exists():
                    problems.append(f"{where}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    problems.append(f"{where}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    return problems


def test_docs_links_resolve() -> None:
    assert broken_links() == []


def test_link_checker_sees_links_and_headings() -> None:
    assert slug("Which RNN suits my data? `tsrnn compare`") == "which-rnn-suits-my-data-tsrnn-compare"
    assert slug("Frequency, and the defaults it sets") == "frequency-and-the-defaults-it-sets"
    assert LINK.findall("see [data.md](data.md#the-split) and ![x](img/a.svg)") == ["data.md#the-split", "img/a.svg"]
    assert prose("a\n```\n[x](nowhere.md)\n```\nb `[y](z.md)`") == ["a", "b "]


if __name__ == "__main__":
    found = broken_links()
    print("\n".join(found) or "all links resolve")
    sys.exit(1 if found else 0)
