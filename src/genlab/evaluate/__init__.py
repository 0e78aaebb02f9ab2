"""Judging a model: Rule 1 (fidelity) and Rule 2 (novelty), each beside a held-out real reference.

    ev = genlab.evaluate(model_or_samples, dataset)   # -> Evaluation; ev.to_dict() is evaluation.json

Modules: `neighbors` (blocked exact k-NN in torch), `metrics` (the plain metric functions),
`features` (offline feature spaces), `verdict` (thresholds), `evaluation` (the pipeline).
Names are imported lazily, so importing this package does not import torch.

`genlab.evaluate` is both this package and the function: importing any submodule binds the
attribute `genlab.evaluate` to the package, so the package is made callable and calling it calls
`evaluate`. Both `genlab.evaluate(model, ds)` and `from genlab.evaluate import evaluate` work.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = [
    "Evaluation",
    "FeatureExtractor",
    "evaluate",
    "evaluate_features",
    "evaluate_run",
    "make_extractor",
    "print_evaluation",
]

_LAZY = {
    "Evaluation": "genlab.evaluate.evaluation",
    "evaluate": "genlab.evaluate.evaluation",
    "evaluate_features": "genlab.evaluate.evaluation",
    "evaluate_run": "genlab.evaluate.evaluation",
    "print_evaluation": "genlab.evaluate.evaluation",
    "FeatureExtractor": "genlab.evaluate.features",
    "make_extractor": "genlab.evaluate.features",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genlab.evaluate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return __getattr__("evaluate")(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
