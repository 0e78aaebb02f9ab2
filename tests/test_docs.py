"""The docs stay true: examples run as doctests, the CLI reference matches the Typer app, and every markdown
page renders cleanly (links and images resolve, anchors exist, code fences close, table rows fit the header)."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_examples_run_as_doctests() -> None:
    result = doctest.testfile(
        str(DOCS / "examples.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 10
    assert result.failed == 0


def test_cli_reference_is_current() -> None:
    res = subprocess.run(
        [sys.executable, str(DOCS / "generate_cli_reference.py"), "--check"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr


# ----------------------------------------------------------------------------- markdown renders cleanly
ROOT = DOCS.parent
PAGES = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.md")),
    *sorted((ROOT / "benchmarks" / "results").glob("*.md")),
]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _prose(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks; fails on an unclosed fence."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append((i, line))
    assert not fenced, "a ``` code fence is never closed"
    return out


def _cells(row: str) -> int:
    row = re.sub(r"`[^`]*`", "code", row.strip())  # a | inside a code span is no column break
    return len(re.split(r"(?<!\\)\|", row.strip("|")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_images_and_tables_are_sound(page: Path) -> None:
    lines = _prose(page.read_text())
    anchors = {_slug(line.lstrip("#")) for _, line in lines if line.startswith("#")}
    for n, line in lines:
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            where = f"{page.name}:{n}"
            if path:
                assert (page.parent / path).exists(), f"{where}: link to missing file {path}"
            elif anchor:
                assert anchor in anchors, f"{where}: no heading for #{anchor}"
    table: list[tuple[int, str]] = []
    for n, line in [*lines, (0, "")]:
        if line.startswith("|"):
            table.append((n, line))
            continue
        if table:
            width = _cells(table[0][1])
            assert len(table) >= 2 and re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", table[1][1]), (
                f"{page.name}:{table[0][0]}: a table needs a |---| line under its header"
            )
            for m, row in table:
                assert _cells(row) == width, f"{page.name}:{m}: {_cells(row)} cells, the header has {width}"
            table = []
