"""Loading fitted models saved by `model.save(path)` (see `persist.py`). Never unpickles.

Loading parses JSON and the safetensors header only, checks both against the model registry and the
family's hyperparameters, and so never runs code from the files. Anything malformed is a DataError
naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError
from genlab.fileio import load_arrays, read_json
from genlab.layout import CONFIG_FILE, WEIGHTS_FILE
from genlab.models.persist import FORMAT, FORMAT_VERSION
from genlab.models.registry import REGISTRY, get_model_class

__all__ = ["load_model"]


def _check_plain(value: Any, where: str) -> Any:
    """Config values must be plain JSON data; lists become tuples (hyperparameters are immutable)."""
    if isinstance(value, list):
        return tuple(_check_plain(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _check_plain(v, where) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DataError(f"{where}: unexpected value {value!r}")


def load_model(path: str | Path) -> Any:
    """Load a model saved by `model.save(path)` (a run folder works too)."""
    path = Path(path)
    if path.is_file() and path.name in (CONFIG_FILE, WEIGHTS_FILE):
        path = path.parent
    if not path.is_dir():
        raise DataError(f"{path}: no such model folder")
    cfg_path = path / CONFIG_FILE
    config = read_json(cfg_path)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise DataError(f'{cfg_path}: not a genlab model config (missing "format": "{FORMAT}")')
    if config.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{cfg_path}: unsupported format_version {config.get('format_version')!r}")
    name = config.get("model")
    if name not in REGISTRY:
        raise DataError(f"{cfg_path}: unknown model {name!r}; known: {', '.join(REGISTRY)}")
    cls = get_model_class(name)
    params = config.get("hyperparameters")
    if not isinstance(params, dict):
        raise DataError(f'{cfg_path}: "hyperparameters" must be an object')
    valid = cls._param_names()
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise DataError(f"{cfg_path}: unknown hyperparameter(s) for {name}: {', '.join(unknown)}")
    params = {k: _check_plain(v, f"{cfg_path}: hyperparameter {k!r}") for k, v in params.items()}
    shape, kind = config.get("shape"), config.get("kind")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise DataError(f'{cfg_path}: "shape" must be a list of positive integers, got {shape!r}')
    if kind not in ("vector", "image", "table"):
        raise DataError(f'{cfg_path}: "kind" must be "vector", "image" or "table", got {kind!r}')
    table = None
    if kind == "table":
        from genlab.data.table import TableCodec

        if not isinstance(config.get("table"), dict):
            raise DataError(f'{cfg_path}: a table model needs its "table" description')
        table = TableCodec.from_json(config["table"])
        if table.dim != int(np.prod(shape)):
            raise DataError(
                f"{cfg_path}: the table encodes to {table.dim} columns, the model has shape {shape}"
            )
    meta = config.get("state", {})
    if not isinstance(meta, dict):
        raise DataError(f'{cfg_path}: "state" must be an object')
    meta = _check_plain(meta, f"{cfg_path}: state")
    condition = config.get("condition")  # absent in models saved before conditioning existed
    if condition is not None and not isinstance(condition, dict):
        raise DataError(f'{cfg_path}: "condition" must be an object')
    condition = _check_plain(condition, f"{cfg_path}: condition")
    arrays = load_arrays(path / WEIGHTS_FILE)
    model = cls.__new__(cls)
    try:
        model = cls(**params)
        model.shape_ = tuple(shape)
        model.kind_ = kind
        model.table_ = table
        model._load_full_state(arrays, meta, condition)
    except DataError:
        raise
    except Exception as e:  # a tampered or mismatched file: name it, never show a deep traceback
        if hasattr(model, "shape_"):
            del model.shape_
        raise DataError(
            f"{path}: model files do not match the {name} model ({type(e).__name__}: {e})"
        ) from None
    return model
