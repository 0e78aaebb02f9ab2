"""The docs stay true: the Python examples run as doctests, and the CLI reference matches the Typer app."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

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
