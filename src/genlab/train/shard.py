"""The processes of a multi-device job, for work other than training (sampling, evaluation).

`launch_shard(accelerator=..., devices=..., num_nodes=..., strategy=...)` starts (or joins) the processes
the way `train` does: Lightning Fabric, which on one machine starts the other processes by re-running the
command line, and on a cluster reads torchrun's or SLURM's environment. After a multi-device fit in the
same process the fit's process group is reused. One device and one machine start nothing: the `Shard`
is then the single process (rank 0 of 1).

A `Shard` moves only tensors between processes (`broadcast`, `all_gather`), never pickled objects: the
callers send numbers, bytes (UTF-8 JSON) and arrays as fixed-shape tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from genlab.errors import GenlabError

__all__ = ["SHARD_STRATEGIES", "Shard", "check_shard_options", "current_shard", "launch_shard", "make_fabric"]

#: the strategies that shard sampling: every process holds the whole model (DDP's layout)
SHARD_STRATEGIES = ("auto", "ddp")


@dataclass(frozen=True)
class Shard:
    """One process of `world` (rank 0 is the one that writes files). `device`: where the tensors of
    collectives live (the CPU with gloo, the process's GPU with NCCL)."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"

    def broadcast(self, t: torch.Tensor) -> torch.Tensor:
        """Rank 0's `t` on every process (each passes a tensor of the same shape and dtype)."""
        if self.world == 1:
            return t
        import torch.distributed as dist

        d = t.to(self.device).contiguous()
        dist.broadcast(d, src=0)
        return d.cpu()

    def all_gather(self, t: torch.Tensor) -> list[torch.Tensor]:
        """Every process's `t` (the same shape and dtype on all), in rank order, on the CPU."""
        if self.world == 1:
            return [t]
        import torch.distributed as dist

        d = t.to(self.device).contiguous()
        out = [torch.empty_like(d) for _ in range(self.world)]
        dist.all_gather(out, d)
        return [o.cpu() for o in out]


def check_shard_options(
    *, accelerator: str = "auto", devices: int | str = 1, num_nodes: int = 1, strategy: str = "auto"
) -> dict[str, Any]:
    """The device options of sampling or evaluation, checked as `genlab fit` checks them; GenlabError
    naming the option otherwise. Returns them as a dict."""
    from genlab.train.config import EngineOptions

    EngineOptions(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy="auto")
    if strategy not in SHARD_STRATEGIES:
        raise GenlabError(
            f"strategy {strategy!r}: sampling and evaluation share their work with "
            f"{' or '.join(SHARD_STRATEGIES)} (every process holds the whole model); use --strategy ddp"
        )
    return {"accelerator": accelerator, "devices": devices, "num_nodes": num_nodes, "strategy": strategy}


def make_fabric(what: str, **options: Any) -> Any:
    """A Lightning Fabric for `options` (accelerator, devices, strategy, precision, num_nodes); a
    GenlabError saying which set-up was bad when Fabric refuses them."""
    try:
        from lightning.fabric import Fabric

        return Fabric(**options)
    except (ValueError, TypeError, RuntimeError) as e:
        raise GenlabError(f"bad {what} set-up (accelerator/devices/strategy/precision): {e}") from None


def launch_shard(
    *, accelerator: str = "auto", devices: int | str = 1, num_nodes: int = 1, strategy: str = "auto"
) -> Shard:
    """This process's place among the processes these options ask for, starting them if need be."""
    import torch.distributed as dist

    check_shard_options(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy)
    if dist.is_available() and dist.is_initialized():  # e.g. right after a multi-device fit
        return _from_group()
    if devices == 1 and num_nodes == 1:
        return Shard()
    fabric = make_fabric(
        "sampling", accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy
    )
    fabric.launch()
    if fabric.world_size == 1:
        return Shard()
    return Shard(fabric.global_rank, fabric.world_size, str(fabric.device))


def _from_group() -> Shard:
    import torch.distributed as dist

    device = "cpu"
    if dist.get_backend() == "nccl":
        device = f"cuda:{torch.cuda.current_device()}"
    return Shard(dist.get_rank(), dist.get_world_size(), device)


def current_shard() -> Shard:
    """The processes of the group this process already belongs to (after a multi-device fit), or the
    single process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return _from_group()
    return Shard()
