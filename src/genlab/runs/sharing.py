"""The draws of `genlab sample` and `genlab evaluate` (and of the evaluation after a multi-device fit)
shared over processes: rank 0 runs the command and writes every file; the other ranks only draw their
chunks of each of its draws (`genlab.models.sharding`) and write nothing.

    if process_rank(devices) != 0:              # started by rank 0's launch, torchrun or SLURM
        serve_draws(options, lambda: load(RUN))
        return
    ...check the input, load the model...
    with leading(options) as sharing:           # starts the other processes (one device: None)
        x = model.sample(n, seed=seed)          # drawn by all of them, the same rows as one process
    ...write (rank 0 only)...
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from genlab.errors import GenlabError

__all__ = ["leading", "serve_draws", "shared_text"]


def shared_text(sharing: Any) -> str:
    """The words " (drawn by W processes)" after a `leading` block that shared draws, else nothing."""
    if sharing is None or not sharing.draws:
        return ""
    return f" (drawn by {sharing.shard.world} processes)"


def _shard(options: dict[str, Any] | None) -> Any:
    """The shard of `options` (None: of the group this process is in), or None for one process alone;
    one device on one machine imports nothing (no torch, no Lightning)."""
    if options is None or (options.get("devices", 1) == 1 and options.get("num_nodes", 1) == 1):
        dist = sys.modules.get("torch.distributed")  # a process group exists only if torch is loaded
        if dist is None or not dist.is_available() or not dist.is_initialized():
            return None
        from genlab.train.shard import current_shard

        return current_shard()
    from genlab.train.shard import launch_shard

    return launch_shard(**options)


def serve_draws(options: dict[str, Any] | None, load: Callable[[], Any]) -> int:
    """On a rank other than 0: join the processes of `options` (accelerator, devices, num_nodes,
    strategy; None: the group this process is in, e.g. after a fit) and draw this rank's chunks of
    rank 0's draws from the model `load()` gives (loaded at the first draw), until rank 0 is done."""
    from genlab.models.sharding import serve

    shard = _shard(options)
    if shard is None:
        raise GenlabError(
            "this process has a rank other than 0 (its environment says so), but no other processes "
            "were asked for: pass --devices and --num-nodes as for the fit"
        )
    if shard.rank == 0:
        raise GenlabError("serve_draws: this is rank 0, which leads (leading())")
    return serve(shard, load)


@contextmanager
def leading(options: dict[str, Any] | None) -> Iterator[Any]:
    """On rank 0: start (or join) the processes of `options` (None: the group this process is in) and
    share every draw made inside the block with them; on leaving, release them. Yields the
    `genlab.models.sharding.Sharing` (its shard, the draws shared), or None when this process is alone
    (then nothing changes)."""
    shard = _shard(options)
    if shard is None:
        yield None
        return
    from genlab.models.sharding import lead

    if shard.rank != 0:
        raise GenlabError(f"leading: this is rank {shard.rank}; ranks other than 0 serve (serve_draws())")
    with lead(shard) as sharing:
        yield sharing
