"""Judging a model: Rule 1 (fidelity) and Rule 2 (novelty), each beside a held-out real reference.

    ev = genlab.evaluate(model_or_samples, dataset)   # -> Evaluation; ev.to_dict() is evaluation.json

Modules, bottom up: `neighbors` (blocked exact k-NN in torch), `metrics` (plain metric functions on
feature arrays), `features` (offline feature spaces), `specs` (the metric registry: one entry per
metric), `measures` (each metric as a function of the shared evaluation context), `verdict`
(thresholds), `evaluation` (the pipeline), `console` (printing). Names are imported lazily, so
importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Evaluation",
    "FeatureExtractor",
    "evaluate",
    "evaluate_features",
    "make_extractor",
    "print_evaluation",
]

_LAZY = {
    "Evaluation": "genlab.judge.evaluation",
    "evaluate": "genlab.judge.evaluation",
    "evaluate_features": "genlab.judge.evaluation",
    "print_evaluation": "genlab.judge.console",
    "FeatureExtractor": "genlab.judge.features",
    "make_extractor": "genlab.judge.features",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genlab.judge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
