"""Model families behind one interface. The registry (`registry.py`) has one line per family; importing
this package imports no family (and no torch)."""

from genlab.models.registry import (
    REGISTRY,
    ModelSpec,
    get_model_class,
    list_models,
    make_model,
    models_with,
)

__all__ = ["REGISTRY", "ModelSpec", "get_model_class", "list_models", "make_model", "models_with"]
