"""Training checkpoints as safetensors + JSON, never pickle.

A checkpoint is a folder with `state.safetensors` (every tensor: weights, EMA weights, optimizer
moments, RNG state) and `state.json` (everything else: counters, optimizer hyperparameters, the
layout that puts the tensors back). Nested state dicts (optimizers) are flattened: each tensor
becomes an array named by its path and the JSON tree keeps a `{"__tensor__": name}` in its place.

The folder is replaced atomically: it is written under a temporary name, then swapped in with
renames; a run killed at any point leaves either the old or the new folder, never half of one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.errors import DataError
from genlab.fileio import fsync_dir, load_arrays, read_json, save_arrays, write_json
from genlab.layout import CHECKPOINTS_DIR

__all__ = ["flatten_state", "unflatten_state", "write_checkpoint", "read_checkpoint", "checkpoint_path"]

STATE_ARRAYS = "state.safetensors"
STATE_JSON = "state.json"
FORMAT = "genlab-train-checkpoint"


def flatten_state(obj: Any, prefix: str, arrays: dict[str, torch.Tensor]) -> Any:
    """Move every tensor of a nested structure into `arrays`; return the JSON-able rest."""
    if isinstance(obj, torch.Tensor):
        arrays[prefix] = obj.detach().cpu().clone()
        return {"__tensor__": prefix, "dtype": str(obj.dtype).removeprefix("torch.")}
    if isinstance(obj, dict):
        # JSON keys are strings; remember which were ints (optimizer state is keyed by param index)
        return {
            "__dict__": [
                [k, isinstance(k, int), flatten_state(v, f"{prefix}.{k}", arrays)] for k, v in obj.items()
            ]
        }
    if isinstance(obj, list | tuple):
        return [flatten_state(v, f"{prefix}.{i}", arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot checkpoint a value of type {type(obj).__name__} at {prefix}")


def unflatten_state(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(tree, dict) and "__tensor__" in tree:
        t = torch.from_numpy(np.array(arrays[tree["__tensor__"]]))
        return t.to(getattr(torch, tree.get("dtype", "float32")))
    if isinstance(tree, dict) and "__dict__" in tree:
        return {(int(k) if was_int else k): unflatten_state(v, arrays) for k, was_int, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [unflatten_state(v, arrays) for v in tree]
    return tree


def checkpoint_path(run_dir: str | Path, which: str) -> Path:
    return Path(run_dir) / CHECKPOINTS_DIR / which


def write_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Write a nested state (tensors anywhere) to `folder`, replacing any previous one atomically."""
    arrays: dict[str, torch.Tensor] = {}
    tree = flatten_state(state, "s", arrays)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_arrays(tmp / STATE_ARRAYS, arrays, metadata={"format": FORMAT})
    write_json(tmp / STATE_JSON, {"format": FORMAT, "state": tree})
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)  # the switch: before it `old` is complete, after it `folder` is
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(folder.parent)


def read_checkpoint(folder: Path) -> dict[str, Any]:
    """Read a checkpoint written by `write_checkpoint` (recovering from a kill between the two renames)."""
    old = folder.with_name(f".{folder.name}.old")
    if not folder.exists() and old.exists():
        os.replace(old, folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no checkpoint here (nothing to resume)")
    meta = read_json(folder / STATE_JSON)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{folder / STATE_JSON}: not a genlab training checkpoint")
    arrays = load_arrays(folder / STATE_ARRAYS)
    try:
        return unflatten_state(meta["state"], arrays)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DataError(
            f"{folder}: checkpoint files do not match each other ({type(e).__name__}: {e})"
        ) from None
