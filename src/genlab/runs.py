"""Run folders: what `genlab fit` writes and every other command reads.

RUN/
  run.json           what was asked (model, hyperparameters, budget, seed, devices) and how it went
  data.json          data source, loader options, split seed, fingerprint
  config.json        model name, hyperparameters, genlab version     } written by model.save(RUN)
  model.safetensors  fitted state                                     }
  log.jsonl          one JSON line per logged training step
  checkpoints/       last/ and best/ (neural families)
  evaluation.json    Rule 1 / Rule 2 results (genlab evaluate; by default after fit)
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from genlab.errors import DataError, GenlabError
from genlab.fileio import read_json, write_json
from genlab.layout import CONFIG_FILE

__all__ = [
    "RUN_FILE",
    "DATA_FILE",
    "LOG_FILE",
    "prepare_run_dir",
    "default_run_dir",
    "read_run",
    "read_log",
    "load_run_dataset",
    "write_run",
    "finish_fit",
]

RUN_FILE = "run.json"
DATA_FILE = "data.json"
LOG_FILE = "log.jsonl"
_MARKERS = (RUN_FILE, DATA_FILE, CONFIG_FILE)


def default_run_dir(data: str, model: str, root: str | Path = "runs") -> Path:
    """runs/<data>-<model>, with -2, -3, ... appended when taken (never overwrites)."""
    stem = Path(str(data)).stem if ("/" in str(data) or "." in str(data)) else str(data)
    base = Path(root) / f"{stem}-{model}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def prepare_run_dir(path: str | Path, *, force: bool = False) -> Path:
    """Create an empty run folder. An existing one is replaced only with `force`, and only if it is
    empty or a genlab run folder: `--force` never deletes a folder genlab did not write."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise GenlabError(f"{path}: exists and is not a folder; choose another --out")
        contents = list(path.iterdir())
        if contents:
            if not force:
                raise GenlabError(
                    f"{path}: run folder already exists; pass --force to replace it, or choose another --out"
                )
            if not any((path / m).exists() for m in _MARKERS):
                raise GenlabError(f"{path}: not a genlab run folder; refusing to delete it even with --force")
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require_run(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise GenlabError(f"{path}: no such run folder")
    if not (path / RUN_FILE).is_file() and not (path / CONFIG_FILE).is_file():
        raise GenlabError(f"{path}: not a genlab run folder (no {RUN_FILE} or {CONFIG_FILE})")
    return path


def read_run(path: str | Path) -> dict[str, Any]:
    path = _require_run(path)
    info = read_json(path / RUN_FILE) if (path / RUN_FILE).is_file() else {}
    if not isinstance(info, dict):
        raise DataError(f"{path / RUN_FILE}: must hold a JSON object")
    return info


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The training log; a torn last line (from a killed process) is skipped."""
    f = Path(path) / LOG_FILE
    rows = []
    if f.is_file():
        for line in f.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def load_run_dataset(path: str | Path) -> Any:
    """Reload the run's data exactly (same split); DataError if the source changed since the fit."""
    from genlab.data import dataset_from_json

    path = _require_run(path)
    return dataset_from_json(read_json(path / DATA_FILE))


def write_run(path: str | Path, info: dict[str, Any]) -> None:
    write_json(Path(path) / RUN_FILE, info)


def finish_fit(path: str | Path, model: Any, data: Any, info: dict[str, Any], seconds: float) -> None:
    """After a fit into run folder `path`: save the model, give closed-form families the one log line that
    neural families' training writes (wall time, train/test log-likelihood), and mark run.json done."""
    from genlab.fileio import atomic_write

    path = Path(path)
    model.save(path, overwrite=True)
    if not (path / LOG_FILE).exists():
        row: dict[str, Any] = {"step": 0, "epoch": 0, "wall_time": round(seconds, 3)}
        if model.log_prob_kind is not None:
            row["train_log_prob"] = float(model.log_prob(data.train[:5000]).mean())
            row["test_log_prob"] = float(model.log_prob(data.test[:5000]).mean())
        atomic_write(path / LOG_FILE, json.dumps(row) + "\n")
    info.update(status="done", fit_seconds=round(seconds, 3), finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_run(path, info)
