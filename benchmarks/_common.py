"""Shared helpers for the benchmark scripts: machine description, result files, markdown tables."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")


def machine() -> dict[str, Any]:
    import numpy as np
    import torch

    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "command": " ".join([Path(sys.executable).name, _relative(sys.argv[0]), *sys.argv[1:]]),
    }


def _relative(script: str) -> str:
    """The script's path from the repository root, as a user would type it there."""
    try:
        return str(Path(script).resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return script


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, payload: dict[str, Any], markdown: str, *, quiet: bool = False) -> None:
    """benchmarks/results/NAME.json and NAME.md; the markdown table is printed last."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    m = payload["machine"]
    header = f"_{m['date']}, {m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch threads); `{m['command']}`_\n\n"
    (RESULTS / f"{name}.md").write_text(header + markdown + "\n")
    if not quiet:
        print(header + markdown)
