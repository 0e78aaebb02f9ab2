"""Sampling in chunks, and the chunks shared out over the processes of a multi-device job.

Every `model.sample(n, seed=s)` is drawn in chunks of `SAMPLE_CHUNK` rows: chunk i holds rows
[i * SAMPLE_CHUNK, (i + 1) * SAMPLE_CHUNK) and is drawn by the family from its own seed, `chunk_seed(s, i)`
(chunk 0 from s itself, so a draw of at most SAMPLE_CHUNK rows is the family's plain `_sample(n, s)`),
with the condition rows of its own slice (the conditions of all n rows are drawn or checked first, from
s, as one process would). The chunk size does not depend on the number of processes, so the n rows are
the same whether one process draws them or W processes do: rank r draws chunks r, r + W, r + 2W, ...,
and the processes gather them (fixed-shape float32 tensors, the last chunk padded) in chunk order.

Two ways to share:

    with sharded(devices=2):           every process runs the same code (a DDP script): each call of
        x = model.sample(5000, seed=0)  `sample` is drawn by all of them together and every process gets
                                        all 5000 rows
    with lead(shard): ...              rank 0 alone runs the code (`genlab sample`, `genlab evaluate`):
    serve(shard, load)                 each of its draws is sent to the other ranks, which `serve` it
                                       until rank 0 leaves `lead`

A draw is sent as tensors only (a header of int64, the sampling settings as UTF-8 JSON, the condition
rows), never pickled. A process whose part of a draw fails sends its error message instead, and every
process raises it. Draws made while a model trains (the Rule 2 watch) are never shared.
"""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from genlab.errors import GenlabError

if TYPE_CHECKING:  # torch and the training layer are imported only when draws are shared
    from genlab.train.shard import Shard

__all__ = [
    "SAMPLE_CHUNK",
    "Sharing",
    "active_shard",
    "chunk_bounds",
    "chunk_seed",
    "draw_in_chunks",
    "lead",
    "paused",
    "serve",
    "sharded",
]

#: rows per chunk of every draw; fixed, so that the rows drawn do not depend on the number of processes
SAMPLE_CHUNK = 1024
_TAG = 0x5EED_C4C  # keeps chunk seeds apart from the per-class seeds SeedSequence([seed, k])
_STOP, _DRAW = 0, 1
_ERROR_BYTES = 1024  # an error message travels in this many UTF-8 bytes


@dataclass
class Sharing:
    """A block whose draws are shared: over `shard`, in `mode` "spmd" (every process calls `sample`) or
    "lead" (rank 0 calls it, the others serve); `draws` counts the draws shared so far."""

    shard: Shard
    mode: str
    draws: int = 0


_SESSION: contextvars.ContextVar[Sharing | None] = contextvars.ContextVar("genlab_shard", default=None)


def chunk_seed(seed: int, i: int) -> int:
    """The seed of chunk `i` of a draw seeded by `seed` (chunk 0: `seed` itself)."""
    if i == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(i), _TAG]).generate_state(1)[0])


def chunk_bounds(n: int) -> list[tuple[int, int]]:
    """The row ranges [start, stop) of the chunks of a draw of n rows."""
    return [(a, min(a + SAMPLE_CHUNK, n)) for a in range(0, n, SAMPLE_CHUNK)]


def active_shard() -> Shard | None:
    """The shard draws are shared over now (inside `sharded` or `lead`), or None."""
    s = _SESSION.get()
    return None if s is None else s.shard


# ---------------------------------------------------------------------------------------------- contexts
@contextmanager
def sharded(shard: Shard | None = None, **options: Any) -> Iterator[Shard]:
    """Share every draw inside the block over the processes of `shard` (or of `launch_shard(**options)`:
    accelerator, devices, num_nodes, strategy). Every process must make the same calls (n, seed and
    the conditions of rank 0 are used by all); each gets all the rows."""
    if shard is None:
        from genlab.train.shard import launch_shard

        shard = launch_shard(**options)
    token = _SESSION.set(Sharing(shard, "spmd") if shard.world > 1 else None)
    try:
        yield shard
    finally:
        _SESSION.reset(token)


@contextmanager
def lead(shard: Shard) -> Iterator[Sharing]:
    """On rank 0: share the draws made inside the block with the other ranks, which `serve` them; on
    leaving (an error included) tell them to stop. One process: nothing to share (`draws` stays 0)."""
    if shard.world == 1:
        yield Sharing(shard, "lead")
        return
    if shard.rank != 0:
        raise GenlabError(f"lead() is for rank 0; rank {shard.rank} serves (serve())")
    session = Sharing(shard, "lead")
    token = _SESSION.set(session)
    try:
        yield session
    finally:
        _SESSION.reset(token)
        import torch

        shard.broadcast(torch.tensor([_STOP, 0, 0, 0, 0, 0], dtype=torch.int64))


def serve(shard: Shard, model: Any | Callable[[], Any]) -> int:
    """On rank r > 0: draw this rank's chunks of every draw rank 0 makes inside `lead`, until it leaves.
    `model`: the model, or a function that loads it (called at the first draw, so a rank 0 that stops
    before drawing costs no load). Returns the number of draws served."""
    held: list[Any] = []

    def get() -> Any:
        if not held:
            held.append(model() if callable(model) and not hasattr(model, "sample") else model)
        return held[0]

    served = 0
    while True:
        req = _receive(shard)
        if req is None:
            return served
        with suppress(GenlabError):  # rank 0 raises it too (every process learns of every failure)
            _run(shard, get, req)
        served += 1


@contextmanager
def paused() -> Iterator[None]:
    """No sharing inside (training: only rank 0 samples for the watch)."""
    token = _SESSION.set(None)
    try:
        yield
    finally:
        _SESSION.reset(token)


# ---------------------------------------------------------------------------------------------- drawing
@dataclass
class _Request:
    n: int
    seed: int
    cond: np.ndarray | None
    settings: dict[str, Any]  # {"model": name, "params": sampling-relevant hyperparameters as JSON}


def draw_in_chunks(model: Any, n: int, seed: int, cond: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """The n rows of a draw, float32 (n, D), chunk by chunk, shared when a session is active; and the
    condition rows used (rank 0's, when shared)."""
    s = _SESSION.get()
    if s is None or s.shard.world == 1:
        parts = [_chunk(model, a, b, i, seed, cond) for i, (a, b) in enumerate(chunk_bounds(n))]
        return np.concatenate(parts) if len(parts) > 1 else parts[0], cond
    if seed >= 2**63:  # the header is int64
        raise GenlabError(f"sharded sampling: seed must be below 2**63, got {seed}")
    import torch

    req = _Request(n, int(seed), cond, _settings(model))
    if s.mode == "spmd":
        sizes = s.shard.all_gather(torch.tensor([n], dtype=torch.int64))
        if len({int(t) for t in sizes}) > 1:
            raise GenlabError(
                "sharded sampling: the processes asked for different numbers of rows "
                f"({', '.join(str(int(t)) for t in sizes)}); every process must make the same draws"
            )
    if s.shard.rank == 0:
        _send(s.shard, req)
    else:  # spmd: rank 0's seed and conditions are everyone's
        req = _receive(s.shard)
        assert req is not None
    s.draws += 1
    return _run(s.shard, lambda: model, req), req.cond


def _chunk(model: Any, a: int, b: int, i: int, seed: int, cond: np.ndarray | None) -> np.ndarray:
    x = model._sample_block(b - a, chunk_seed(seed, i), None if cond is None else cond[a:b])
    return np.asarray(x, dtype=np.float32).reshape(b - a, -1)


def _run(shard: Shard, get_model: Callable[[], Any], req: _Request) -> np.ndarray:
    """This rank's chunks of `req`, gathered with the others' into the whole draw (n, D)."""
    import torch

    bounds = chunk_bounds(req.n)
    mine = list(range(shard.rank, len(bounds), shard.world))
    parts: list[np.ndarray] = []
    failure: BaseException | None = None
    try:
        model = _with_settings(get_model(), req.settings)
        parts = [_chunk(model, *bounds[i], i, req.seed, req.cond) for i in mine]
    except Exception as e:  # every process must reach the gathers below, so the error travels first
        failure = e
    messages = _gather_text(shard, "" if failure is None else _describe(failure))
    if any(messages):
        if failure is not None:
            if isinstance(failure, GenlabError):
                raise failure
            raise GenlabError(messages[shard.rank]) from failure
        r = next(i for i, m in enumerate(messages) if m)
        raise GenlabError(f"sampling on process {r} of {shard.world} failed: {messages[r]}")
    width = np.asarray(
        shard.all_gather(torch.tensor([parts[0].shape[1] if parts else -1], dtype=torch.int64))
    ).ravel()
    d = int(width.max())
    if (width[width >= 0] != d).any():
        raise GenlabError(f"sharded sampling: the processes drew rows of different widths {width.tolist()}")
    per_rank = -(-len(bounds) // shard.world)
    buf = np.zeros((per_rank, SAMPLE_CHUNK, d), np.float32)
    for j, p in enumerate(parts):
        buf[j, : len(p)] = p
    got = shard.all_gather(torch.from_numpy(buf))
    out = np.empty((req.n, d), np.float32)
    for i, (a, b) in enumerate(bounds):
        out[a:b] = got[i % shard.world][i // shard.world, : b - a].numpy()
    return out


def _describe(e: BaseException) -> str:
    text = str(e) if isinstance(e, GenlabError) else f"{type(e).__name__}: {e}"
    return text or type(e).__name__


def _gather_text(shard: Shard, text: str) -> list[str]:
    import torch

    raw = text.encode("utf-8")[:_ERROR_BYTES]
    buf = torch.zeros(_ERROR_BYTES + 1, dtype=torch.uint8)
    buf[0] = 1 if raw else 0
    buf[1 : 1 + len(raw)] = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else buf[1:1]
    out = []
    for t in shard.all_gather(buf):
        b = bytes(t.numpy())
        out.append(b[1:].rstrip(b"\0").decode("utf-8", "replace") or ("error" if b[0] else ""))
    return out


# ---------------------------------------------------------------------------------------------- settings
def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))


def _settings(model: Any) -> dict[str, Any]:
    """What another process needs to draw as `model` does: its family and its hyperparameters (the
    sampling ones among them, e.g. a diffusion model's sampler and steps, may differ per call)."""
    return {
        "model": str(getattr(model, "name", type(model).__name__)),
        "params": _jsonable(model.get_params()),
    }


def _with_settings(model: Any, settings: dict[str, Any]) -> Any:
    name = str(getattr(model, "name", type(model).__name__))
    if settings["model"] != name:
        raise GenlabError(
            f"sharded sampling: rank 0 draws from {settings['model']}, this process holds {name}"
        )
    mine = _jsonable(model.get_params())
    diff = {k: v for k, v in settings["params"].items() if mine.get(k, object()) != v}
    if not diff:
        return model
    other = copy.copy(model)  # shares the networks; only the settings differ
    other.set_params(**{k: tuple(v) if isinstance(v, list) else v for k, v in diff.items()})
    return other


# ---------------------------------------------------------------------------------------------- messages
# header: [op, n, seed, condition kind (0 none, 1 int64 labels, 2 float32 rows), condition columns,
#          settings bytes]
def _send(shard: Shard, req: _Request) -> None:
    import torch

    settings = json.dumps(req.settings).encode("utf-8")
    cond = req.cond
    kind = 0 if cond is None else 1 if cond.dtype.kind in "iu" else 2
    cols = 0 if cond is None or cond.ndim == 1 else int(cond.shape[1])
    head = torch.tensor([_DRAW, req.n, req.seed, kind, cols, len(settings)], dtype=torch.int64)
    shard.broadcast(head)
    shard.broadcast(torch.frombuffer(bytearray(settings), dtype=torch.uint8))
    if cond is not None:
        dtype = np.int64 if kind == 1 else np.float32
        shard.broadcast(torch.from_numpy(np.ascontiguousarray(cond, dtype=dtype)))


def _receive(shard: Shard) -> _Request | None:
    import torch

    head = shard.broadcast(torch.zeros(6, dtype=torch.int64)).tolist()
    op, n, seed, kind, cols, size = (int(v) for v in head)
    if op == _STOP:
        return None
    settings = json.loads(
        bytes(shard.broadcast(torch.zeros(size, dtype=torch.uint8)).numpy()).decode("utf-8")
    )
    cond = None
    if kind:
        shape = (n,) if cols == 0 else (n, cols)
        empty = torch.zeros(shape, dtype=torch.int64 if kind == 1 else torch.float32)
        cond = shard.broadcast(empty).numpy()
    return _Request(n, seed, cond, settings)
