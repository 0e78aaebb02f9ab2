"""Images kept as they are stored: `ImageArray` holds integer pixels (uint8 or uint16, in memory or
memory-mapped from a file) and hands out float32 values in [0, 1] only for the rows asked for.

Fashion-MNIST's 70,000 images are 55 MB as uint8 and 220 MB as float32; loading them as an ImageArray
costs the former. It behaves like a read-only float32 array of shape (N, C, H, W) where genlab reads
data: `len`, `shape`, `dtype`, indexing and slicing (which return float32 numpy arrays), `min`/`max`,
and `np.asarray(a)` (which converts all of it: only for code that needs it whole). The training engine
puts the integer pixels on the device and converts each batch there (`rows`, `to_float`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["CHUNK", "ImageArray", "chunks", "is_lazy"]

CHUNK = 4096


class ImageArray:
    """A read-only float32 view `raw[index] / top` of integer images (top = the dtype's largest value);
    `index` selects rows lazily. The division is done exactly as a whole-array conversion does it
    (uint8: in float32; uint16: in float64, then rounded to float32), so values and fingerprints are
    the same to the bit."""

    def __init__(self, raw: np.ndarray, *, index: np.ndarray | None = None) -> None:
        if raw.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"ImageArray holds uint8 or uint16 pixels, got {raw.dtype}")
        self.raw = raw
        self.top = float(np.iinfo(raw.dtype).max)
        self.index = None if index is None else np.asarray(index, dtype=np.int64)

    # ------------------------------------------------------------------ the array interface genlab uses
    @property
    def shape(self) -> tuple[int, ...]:
        n = len(self.raw) if self.index is None else len(self.index)
        return (n, *self.raw.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return self.raw.ndim

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        """The bytes the float32 values would take (what `np.asarray` allocates)."""
        return self.size * 4

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, key: Any) -> np.ndarray:
        """The stored integer pixels of the selected rows (no conversion)."""
        return np.asarray(self.raw[key] if self.index is None else self.raw[self.index[key]])

    def _convert(self, r: np.ndarray) -> np.ndarray:
        if r.dtype == np.uint8:
            return r.astype(np.float32) / np.float32(self.top)
        return (r.astype(np.float64) / self.top).astype(np.float32)

    def to_float(self, t: Any) -> Any:
        """A torch batch of stored pixels -> float32 values, the same arithmetic as indexing."""
        if self.raw.dtype == np.uint8:
            return t.float() / self.top
        return (t.double() / self.top).float()

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):  # rows first, then the rest of the index on the converted rows
            rows = self._convert(self.rows(key[0]))
            return rows[key[1:]] if np.isscalar(key[0]) else rows[(slice(None), *key[1:])]
        return self._convert(self.rows(key))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, np.float32)
        for start, block in chunks(self):
            out[start : start + len(block)] = block
        return out if dtype is None else out.astype(dtype, copy=False)

    def take(self, index: np.ndarray) -> ImageArray:
        """The rows `index` as another ImageArray over the same storage (nothing is copied)."""
        index = np.asarray(index, dtype=np.int64)
        return ImageArray(self.raw, index=index if self.index is None else self.index[index])

    def unique(self) -> np.ndarray:
        """The distinct values that occur, as float32 (from the stored pixels: cheap)."""
        values = np.unique(np.concatenate([np.unique(b) for _, b in _raw_chunks(self)]))
        return self._convert(values)

    def min(self) -> float:
        return float(min(b.min() for _, b in _raw_chunks(self))) / self.top

    def max(self) -> float:
        return float(max(b.max() for _, b in _raw_chunks(self))) / self.top

    def __repr__(self) -> str:
        kind = "memory-mapped" if isinstance(self.raw, np.memmap) else "in memory"
        return f"ImageArray(shape={self.shape}, stored as {self.raw.dtype} {kind})"


def _raw_chunks(a: ImageArray, size: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(a), size):
        yield start, a.rows(slice(start, start + size))


def chunks(a: Any, size: int = CHUNK) -> Iterator[tuple[int, np.ndarray]]:
    """(start, float32 rows) blocks of any array-like, so a big ImageArray is never converted whole."""
    for start in range(0, len(a), size):
        yield start, np.asarray(a[start : start + size], dtype=np.float32)


def is_lazy(a: Any) -> bool:
    return isinstance(a, ImageArray)
