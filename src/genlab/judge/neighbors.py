"""Exact Euclidean nearest neighbours from blocked matrix products (torch), never an N x M matrix.

Squared distances come from ||a||^2 - 2 a.b + ||b||^2 one block of query rows at a time; each
block is reduced at once (top-k, counts, minima) and dropped. A block holds at most `BLOCK_BYTES`
of distances (small enough to stay in cache), so memory stays flat however many points there are.

Precision follows the input: float64 arrays are computed in float64 (exact enough that threshold
decisions agree with a float64 reference such as the `prdc` package), float32 arrays in float32,
which is about twice as fast. In float32 the k distances that `knn` returns are recomputed exactly
in float64 from the chosen rows, so an exact copy is at distance 0, not at float32 rounding noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from genlab.errors import DataError

__all__ = [
    "BLOCK_BYTES",
    "as_tensor",
    "common_dtype",
    "compute_device",
    "knn",
    "kth_neighbour_distance",
    "sq_distance_blocks",
]

#: Bytes of distances one block may hold; a few such temporaries live at once.
BLOCK_BYTES = 8 * 2**20
#: below this many distances (query rows x reference rows) the CPU is faster than moving data to a GPU
GPU_MIN_PAIRS = 10_000_000


def compute_device(n_query: int, n_ref: int) -> torch.device:
    """Where the distances are computed: a CUDA GPU when there is one and the work is large enough
    (GENLAB_EVAL_DEVICE=cpu|cuda forces it), else the CPU. Results always come back to the CPU."""
    import os

    forced = os.environ.get("GENLAB_EVAL_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available() and n_query * n_ref >= GPU_MIN_PAIRS:
        return torch.device("cuda")
    return torch.device("cpu")


def common_dtype(*arrays: np.ndarray | torch.Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32."""
    wide = any(str(getattr(a, "dtype", "float64")).endswith("float64") for a in arrays)
    return torch.float64 if wide else torch.float32


def as_tensor(x: np.ndarray | torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A 2-D CPU tensor (N, D) from an array or tensor (images are flattened), float64 or float32."""
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    return t.reshape(len(t), -1).to(dtype or common_dtype(x))


def sq_distance_blocks(
    a: torch.Tensor, b: torch.Tensor, *, block_bytes: int = BLOCK_BYTES, device: Any = None
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (start, D2) with D2 = squared distances of rows a[start:start+r] to all of b, shape (r, M),
    on the devices of a and b; with `device`, the products are computed there and D2 comes back to a's."""
    home = a.device
    dev = compute_device(len(a), len(b)) if device is None else torch.device(device)
    a, b = a.to(dev), b.to(dev)
    b_sq = (b * b).sum(1)  # (M,)
    rows = max(1, int(block_bytes) // (b.element_size() * max(1, len(b))))
    for start in range(0, len(a), rows):
        a_blk = a[start : start + rows]  # (r, D)
        d2 = torch.addmm(b_sq[None, :], a_blk, b.T, alpha=-2.0)  # (r, M): ||b||^2 - 2 a.b
        d2.add_((a_blk * a_blk).sum(1, keepdim=True)).clamp_(min=0.0)
        yield start, d2.to(home)


def knn(
    query: np.ndarray | torch.Tensor,
    ref: np.ndarray | torch.Tensor,
    k: int,
    *,
    exclude_self: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (n, k) float64 and indices (n, k) of the k nearest rows of `ref` for each query row, nearest first.

    `exclude_self=True` means `query` is `ref` and row i may not be its own neighbour (a duplicate
    of row i elsewhere in `ref` still counts, at distance 0).
    """
    k = int(k)
    if not 1 <= k <= len(ref) - int(exclude_self):
        raise DataError(
            f"k={k} nearest neighbours asked for, but only {len(ref) - int(exclude_self)} candidates"
        )
    dtype = common_dtype(query, ref)
    q, r = as_tensor(query, dtype), as_tensor(ref, dtype)
    exact = dtype == torch.float32  # recompute the chosen distances in float64
    q64, r64 = (as_tensor(query, torch.float64), as_tensor(ref, torch.float64)) if exact else (q, r)
    dist = torch.empty(len(q), k, dtype=torch.float64)
    idx = torch.empty(len(q), k, dtype=torch.int64)
    for start, d2 in sq_distance_blocks(q, r, block_bytes=block_bytes):
        rows = torch.arange(len(d2))
        if exclude_self:
            d2[rows, rows + start] = float("inf")
        v, i = torch.topk(d2, k, dim=1, largest=False, sorted=True)
        if exact:
            v = ((q64[start : start + len(d2), None, :] - r64[i]) ** 2).sum(-1)  # (r, k) exact
            v, order = torch.sort(v, dim=1, stable=True)
            i = torch.gather(i, 1, order)
        dist[start : start + len(d2)] = v.double().sqrt()
        idx[start : start + len(d2)] = i
    return dist.numpy(), idx.numpy()


def kth_neighbour_distance(
    x: np.ndarray | torch.Tensor, k: int, *, block_bytes: int = BLOCK_BYTES
) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row, shape (n,) (the radius of its k-NN ball)."""
    dist, _ = knn(x, x, k, exclude_self=True, block_bytes=block_bytes)
    return dist[:, k - 1]
