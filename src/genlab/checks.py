"""Checks of arrays handed to genlab by a user or a model: one DataError naming what is wrong and where."""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.arrays import is_lazy
from genlab.errors import DataError

__all__ = ["check_array"]


def check_array(x: Any, *, what: str = "data", shape: tuple[int, ...] | None = None) -> Any:
    """Return `x` as a finite float32 array of shape (N, *shape); DataError naming the problem otherwise.
    An `ImageArray` (integer pixels, finite by construction) is checked for shape and returned as it is,
    so it is never converted whole."""
    if is_lazy(x):
        if shape is not None and tuple(x.shape[1:]) != tuple(shape):
            raise DataError(f"{what}: expected shape (N, {', '.join(map(str, shape))}), got {x.shape}")
        if len(x) == 0:
            raise DataError(f"{what}: empty array of shape {x.shape}")
        return x
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{what}: cannot convert to a float array ({e})") from None
    if shape is not None:
        if arr.shape[1:] != tuple(shape):
            if arr.ndim == 1 and arr.shape == tuple(shape):
                raise DataError(
                    f"{what}: got one observation of shape {arr.shape}; pass a batch of shape (N, *{tuple(shape)})"
                )
            raise DataError(f"{what}: expected shape (N, {', '.join(map(str, shape))}), got {arr.shape}")
    elif arr.ndim not in (2, 4):
        raise DataError(f"{what}: expected shape (N, D) or (N, C, H, W), got {arr.shape}")
    if arr.shape[0] == 0:
        raise DataError(f"{what}: empty array of shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.argwhere(bad)[0]
        raise DataError(f"{what}: non-finite value {arr[tuple(idx)]} at index {tuple(int(i) for i in idx)}")
    return arr
