"""Everything the explorer takes from the rest of genlab, imported in this one place."""

from __future__ import annotations

from genlab.fileio import atomic_write
from genlab.judge.neighbors import knn
from genlab.layout import EXPLORE_DIR
from genlab.runs import load_run_dataset, load_run_model, require_run, run_lock
from genlab.version import __version__

__all__ = [
    "EXPLORE_DIR",
    "__version__",
    "atomic_write",
    "knn",
    "load_run_dataset",
    "load_run_model",
    "require_run",
    "run_lock",
]
