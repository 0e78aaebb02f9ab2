"""What the training engine is handed: the optimisation settings (`TrainConfig`, declared per family)
and how and where to run (`EngineOptions`, from the caller). The engine reads nothing else."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.budget import parse_budget
from genlab.errors import GenlabError

__all__ = ["ACCELERATORS", "LR_SCHEDULES", "PRECISIONS", "EngineOptions", "TrainConfig"]

LR_SCHEDULES = ("cosine", "constant", "linear")
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")
PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed", "bf16-true", "64", "64-true")
STRATEGIES = ("auto", "ddp", "fsdp", "deepspeed", "dp", "single_device")


def _positive_int(name: str, v: Any, *, allow_none: bool = False, minimum: int = 1) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise GenlabError(f"{name} must be an integer >= {minimum}, got {v!r}")


def _number(
    name: str, v: Any, *, low: float | None = None, high: float | None = None, strict: bool = False
) -> None:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
        raise GenlabError(f"{name} must be a number, got {v!r}")
    if low is not None and (v <= low if strict else v < low):
        raise GenlabError(f"{name} must be {'>' if strict else '>='} {low:g}, got {v!r}")
    if high is not None and v > high:
        raise GenlabError(f"{name} must be <= {high:g}, got {v!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one fit. A family declares its defaults as a class attribute
    (`train_defaults`); hyperparameters a user sets replace them (see `NeuralModel.train_config`).

    lr, weight_decay: AdamW (a family's `configure_optimizers` may use other optimisers with these).
    batch_size: per process. grad_clip: max gradient norm (None: no clipping). warmup_steps: linear
    LR warm-up, then `lr_schedule` over the budget. ema/ema_decay: an exponential moving average of the
    weights, which the model keeps after training. early_stopping: stop after this many validations
    without improvement and keep the best weights (None: off). budget: used when `fit` is given none.
    """

    lr: float = 1e-3
    batch_size: int = 128
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    warmup_steps: int = 100
    lr_schedule: str = "cosine"
    ema: bool = True
    ema_decay: float = 0.995
    early_stopping: int | None = None
    budget: str = "60s"

    def __post_init__(self) -> None:
        _number("lr", self.lr, low=0.0, strict=True)
        _positive_int("batch_size", self.batch_size)
        _number("weight_decay", self.weight_decay, low=0.0)
        if self.grad_clip is not None:
            _number("grad_clip", self.grad_clip, low=0.0, strict=True)
        _positive_int("warmup_steps", self.warmup_steps, minimum=0)
        if self.lr_schedule not in LR_SCHEDULES:
            raise GenlabError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}"
            )
        if not isinstance(self.ema, bool):
            raise GenlabError(f"ema must be true or false, got {self.ema!r}")
        _number("ema_decay", self.ema_decay, low=0.0, high=1.0)
        _positive_int("early_stopping", self.early_stopping, allow_none=True)
        parse_budget(self.budget)

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class EngineOptions:
    """How and where to train, from the caller (`fit(..., **options)`).

    accelerator/devices/strategy/precision/num_nodes go to `lightning.fabric.Fabric` ("cpu", 2, "ddp"
    trains in two processes with gloo; the other ranks are started by re-running the command line).
    With `run_dir`, rank 0 writes `log.jsonl` and `checkpoints/{last,best}/` there; `resume=True`
    continues from `checkpoints/last`. `log_every`/`val_every`/`checkpoint_every` are in steps (None:
    about 20 logs and 10 validations/checkpoints per run, or every 50/200/200 steps under a time
    budget; a log line is also written every 10 s). After `max_bad_steps` non-finite steps in a
    row the last good state is reloaded and the learning rate halved, at most `max_recoveries` times.
    `should_stop()` is asked after every step (e.g. a Ctrl-C handler's flag): when it says so, the
    engine writes a checkpoint and ends the run with `stopped_by="interrupted"`. `watch`: a check run
    now and then on a copy of the model (see `Watch`); it may end the run with `stopped_by="watch"`.
    """

    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str | int = "32-true"
    num_nodes: int = 1
    run_dir: str | Path | None = None
    resume: bool = False
    progress: Any = None
    log_every: int | None = None
    val_every: int | None = None
    checkpoint_every: int | None = None
    val_max: int = 4096
    max_bad_steps: int = 5
    max_recoveries: int = 5
    should_stop: Callable[[], bool] | None = None
    watch: Any = None  # a `genlab.train.engine.Watch` (e.g. genlab.judge.watch.Rule2Watch), or None

    def __post_init__(self) -> None:
        if self.accelerator not in ACCELERATORS:
            raise GenlabError(
                f"accelerator must be one of {', '.join(ACCELERATORS)}, got {self.accelerator!r}"
            )
        if self.devices != "auto" and not (
            isinstance(self.devices, str) and self.devices.replace(",", "").isdigit()
        ):
            _positive_int("devices", self.devices)
        if str(self.precision) not in PRECISIONS:
            raise GenlabError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.strategy, str) or (
            self.strategy not in STRATEGIES and not self.strategy.startswith(("ddp", "fsdp", "deepspeed"))
        ):
            raise GenlabError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.strategy.endswith(("spawn", "fork", "notebook")):
            raise GenlabError(
                f"strategy {self.strategy!r} is not supported: use strategy='ddp', which starts the other "
                "processes by re-running the command line (a script or `genlab fit`)"
            )
        _positive_int("num_nodes", self.num_nodes)
        for name in ("log_every", "val_every", "checkpoint_every"):
            _positive_int(name, getattr(self, name), allow_none=True)
        _positive_int("val_max", self.val_max)
        _positive_int("max_bad_steps", self.max_bad_steps)
        _positive_int("max_recoveries", self.max_recoveries, minimum=0)
        if self.resume and self.run_dir is None:
            raise GenlabError("resume=True needs the run_dir of the run to continue")

    @classmethod
    def from_kwargs(cls, where: str, **kwargs: Any) -> EngineOptions:
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in kwargs if k not in valid]
        if unknown:
            raise GenlabError(
                f"{where}: unknown fit option(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}"
            )
        return cls(**kwargs)
