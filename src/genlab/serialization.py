"""Saving and loading models: safetensors for arrays plus a JSON config. Never pickle.

Loading parses JSON and the safetensors header only, checks both against the registry and the
model's hyperparameters, and so never runs code from the files. Anything malformed is a DataError
naming the file.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "atomic_write",
    "load_model",
    "read_json",
    "save_model",
    "write_json",
    "save_arrays",
    "load_arrays",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "genlab-model"
FORMAT_VERSION = 1
_MAX_JSON_BYTES = 50 * 2**20


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"value {v!r} of type {type(v).__name__} is not JSON-serialisable")


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(_jsonable(obj), indent=2, allow_nan=True) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size > _MAX_JSON_BYTES:
        raise DataError(f"{path}: too large for a genlab JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None


def save_arrays(path: str | Path, arrays: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
    """Save a dict of numpy arrays (or torch tensors) as safetensors, atomically."""
    from safetensors.numpy import save

    clean = {}
    for k, v in arrays.items():
        if hasattr(v, "detach"):  # torch tensor: bf16 has no numpy dtype, so widen floats to float32
            v = v.detach().cpu()
            v = v.float() if v.is_floating_point() else v
            v = v.numpy()
        clean[k] = np.ascontiguousarray(v)
    atomic_write(path, save(clean, metadata=metadata))


def _check_safetensors_header(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise DataError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > size - 8 or n > 100 * 2**20:
            raise DataError(f"{path}: not a safetensors file (bad header length); genlab never loads pickles")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(
            f"{path}: not a safetensors file (header is not JSON); genlab never loads pickles"
        ) from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: not a safetensors file (header is not a JSON object)")


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    _check_safetensors_header(path)
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types on malformed files
        raise DataError(f"{path}: could not read safetensors file ({e})") from None


def save_model(model: Any, path: str | Path, *, overwrite: bool = False) -> Path:
    from genlab import __version__

    path = Path(path)
    targets = [path / CONFIG_FILE, path / WEIGHTS_FILE]
    if not overwrite and any(t.exists() for t in targets):
        raise DataError(f"{path}: already holds a saved model; pass overwrite=True to replace it")
    arrays, meta = model._get_state()
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
    path.mkdir(parents=True, exist_ok=True)
    save_arrays(path / WEIGHTS_FILE, arrays, metadata={"format": FORMAT, "model": model.name})
    write_json(path / CONFIG_FILE, config)
    return path


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
    from genlab.models import REGISTRY, get_model_class

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
    if kind not in ("vector", "image"):
        raise DataError(f'{cfg_path}: "kind" must be "vector" or "image", got {kind!r}')
    meta = config.get("state", {})
    if not isinstance(meta, dict):
        raise DataError(f'{cfg_path}: "state" must be an object')
    meta = _check_plain(meta, f"{cfg_path}: state")
    arrays = load_arrays(path / WEIGHTS_FILE)
    model = cls.__new__(cls)
    try:
        model = cls(**params)
        model.shape_ = tuple(shape)
        model.kind_ = kind
        model._set_state(arrays, meta)
    except DataError:
        raise
    except Exception as e:  # a tampered or mismatched file: name it, never show a deep traceback
        if hasattr(model, "shape_"):
            del model.shape_
        raise DataError(
            f"{path}: model files do not match the {name} model ({type(e).__name__}: {e})"
        ) from None
    return model
