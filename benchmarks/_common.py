"""Shared helpers for the benchmark scripts: machine description, result files, markdown tables."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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


def run_header(m: dict[str, Any]) -> str:
    """A results table's first line: date, machine and command of the run (`machine()`'s record)."""
    return f"_{m['date']}, {m['cpu']} ({m['cores']} cores, {m['torch_threads']} torch threads); `{m['command']}`_\n\n"


def write_results(name: str, payload: dict[str, Any], markdown: str, *, quiet: bool = False) -> None:
    """benchmarks/results/NAME.json and NAME.md; the markdown table is printed last."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    header = run_header(payload["machine"])
    (RESULTS / f"{name}.md").write_text(header + markdown + "\n")
    if not quiet:
        print(header + markdown)


def near_mode(x: np.ndarray) -> tuple[float, int]:
    """8gaussians: the share of samples within 3 sd of a mode, and how many of the 8 modes they reach."""
    from genlab.data.toys import CENTERS8, SD8

    d = np.sqrt(((np.asarray(x)[:, None, :2] - CENTERS8[None]) ** 2).sum(-1))
    near = d.min(1) < 3 * SD8
    return float(near.mean()), int((np.bincount(d.argmin(1)[near], minlength=8) > 0).sum())


def pixel_prdc(ds: Any, x: np.ndarray, k: int = 5) -> dict[str, float]:
    """precision/recall/density/coverage of samples against held-out data on standardised pixels (the
    training mean and sd), by the `prdc` package (the reference implementation)."""
    import contextlib
    import io

    from prdc import compute_prdc

    train = np.asarray(ds.train, np.float64).reshape(len(ds.train), -1)
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    n = min(len(x), len(ds.test))
    real = (np.asarray(ds.test[:n], np.float64).reshape(n, -1) - mu) / sd
    fake = (np.asarray(x[:n], np.float64).reshape(n, -1) - mu) / sd
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        out = compute_prdc(real, fake, k)
    return {key: float(v) for key, v in out.items()}
