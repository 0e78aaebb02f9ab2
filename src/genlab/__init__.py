"""genlab: fit, sample, judge and explore generative models through one interface.

Top-level names are imported lazily, so `import genlab` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from genlab.errors import DataError, GenlabError, NotFittedError, NotSupported
from genlab.version import __version__

_LAZY = {
    "load_dataset": "genlab.data:load_dataset",
    "list_datasets": "genlab.data:list_datasets",
    "Dataset": "genlab.data:Dataset",
    "make_model": "genlab.models:make_model",
    "list_models": "genlab.models:list_models",
    "load": "genlab.models.loading:load_model",
    "evaluate": "genlab.judge.evaluation:evaluate",
    "Evaluation": "genlab.judge.evaluation:Evaluation",
}

__all__ = ["DataError", "GenlabError", "NotFittedError", "NotSupported", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
