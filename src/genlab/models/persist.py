"""Saving fitted models: `config.json` (JSON) plus `model.safetensors` (arrays). Never pickle.
Loading them back is `loading.py`, beside the registry it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genlab.errors import DataError
from genlab.fileio import save_arrays, write_json
from genlab.layout import CONFIG_FILE, WEIGHTS_FILE

__all__ = ["FORMAT", "FORMAT_VERSION", "save_model"]

FORMAT = "genlab-model"
FORMAT_VERSION = 1


def save_model(model: Any, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write `model` (fitted) to the folder `path`: weights first, then the config that points at them."""
    from genlab.version import __version__

    path = Path(path)
    targets = [path / CONFIG_FILE, path / WEIGHTS_FILE]
    if not overwrite and any(t.exists() for t in targets):
        raise DataError(f"{path}: already holds a saved model; pass overwrite=True to replace it")
    arrays, meta, condition = model._full_state()
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "genlab_version": __version__,
        "model": model.name,
        "hyperparameters": model.get_params(),
        "shape": list(model.shape_),
        "kind": model.kind_,
        "state": meta,
    }
    if condition is not None:  # what it conditions on: class names and shares, or factor names
        config["condition"] = condition
    if getattr(model, "table_", None) is not None:
        config["table"] = model.table_.to_json()  # decodes samples back into the table
    save_arrays(path / WEIGHTS_FILE, arrays, metadata={"format": f"{FORMAT}/{model.name}"})
    write_json(path / CONFIG_FILE, config)
    return path
