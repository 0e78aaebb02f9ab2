"""The one training loop, on Lightning Fabric. It drives the hooks of `NeuralModel` and knows nothing
about model families: a family gives networks, optimizers and a step function that calls
`ctx.optimize(name, loss)`; the loop does devices/DDP/precision (Fabric), batching, the LR schedule
(linear warm-up, cosine decay), gradient clipping, the non-finite guard, EMA of weights, validation,
early stopping, checkpoints (safetensors + JSON), resume, logging and progress.

Determinism: on one CPU process the same seed gives the same weights. Batches come from a
permutation seeded by (seed, epoch), so a run resumed from a checkpoint continues exactly where the
checkpoint left it (RNG state included) and ends with the weights of an uninterrupted run.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.budget import Budget, parse_budget
from genlab.errors import DataError, GenlabError
from genlab.train.checkpoint import checkpoint_path, read_checkpoint, write_checkpoint
from genlab.train.progress import Reporter, read_log

__all__ = ["StepContext", "TrainResult", "train"]

LR_SCHEDULES = ("cosine", "constant", "linear")
LOG_SECONDS = 10.0  # log (and refresh the progress display) at least this often


@dataclass
class TrainResult:
    """What happened in a run (also kept on the model as `train_result_`)."""

    steps: int
    epochs: float
    seconds: float
    stopped_by: str  # "steps", "epochs", "seconds" or "early_stopping"
    skipped_steps: int = 0
    recoveries: int = 0
    best_val_loss: float | None = None
    global_rank: int = 0
    world_size: int = 1
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------------------------- pieces
class EMA:
    """Exponential moving average of a module's weights, kept in a separate copy of the module.

    The decay warms up as min(decay, (1 + t) / (10 + t)): short runs are not dominated by the init.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self._src = [p for p in module.parameters()]
        self._dst = [p for p in self.module.parameters()]
        self._src_buf = [b for b in module.buffers()]
        self._dst_buf = [b for b in self.module.buffers()]

    @torch.no_grad()
    def update(self, updates: int) -> None:
        d = min(self.decay, (1 + updates) / (10 + updates))
        torch._foreach_lerp_(self._dst, self._src, 1.0 - d)
        for dst, src in zip(self._dst_buf, self._src_buf, strict=True):
            dst.copy_(src)


def lr_factor(step: int, fraction: float, warmup: int, schedule: str) -> float:
    """Linear warm-up over `warmup` steps, then the decay over the run's fraction done."""
    w = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    f = min(max(fraction, 0.0), 1.0)
    if schedule == "cosine":
        return w * 0.5 * (1.0 + math.cos(math.pi * f))
    if schedule == "linear":
        return w * (1.0 - f)
    return w


def _cpu_copy(obj: Any) -> Any:
    """A deep copy of a (nested) state with every tensor cloned to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


def _all_finite(modules: list[nn.Module]) -> bool:
    params = [p.detach() for m in modules for p in m.parameters()]
    if not params:
        return True
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all())


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


class StepContext:
    """Handed to `training_step(batch, ctx)`. `ctx.optimize(name, loss)` does one optimizer update."""

    def __init__(self, loop: _Loop) -> None:
        self._loop = loop
        self.step = 0  # global step (batches done before this one)
        self.epoch = 0
        self.fraction = 0.0  # share of the budget done
        self.device = loop.fabric.device
        self.world_size = loop.fabric.world_size
        self.bad = False  # set when an update in this step had a non-finite loss or gradient

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        self._loop.optimize(self, name, loss)


# ---------------------------------------------------------------------------------------------- loop
class _Loop:
    def __init__(self, model: Any, data: Any, *, budget: Budget, seed: int, fabric: Any, opts: dict) -> None:
        self.model, self.data, self.budget, self.seed, self.fabric = model, data, budget, seed, fabric
        self.opts = opts
        self.rank, self.world = fabric.global_rank, fabric.world_size
        self.is_zero = fabric.is_global_zero
        self.run_dir = Path(opts["run_dir"]) if opts["run_dir"] is not None else None

        # counters (all restored on resume)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.elapsed_before = 0.0  # seconds spent in earlier sessions of a resumed run
        self.skipped = 0
        self.recoveries = 0
        self.consecutive_bad = 0
        self.lr_scale = 1.0
        self.best_val: float | None = None
        self.bad_vals = 0  # validations in a row without improvement (early stopping)
        self.ema_updates = 0
        self.last_val: float | None = None
        self.has_val = True  # until the family's validation_loss returns None

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        model, fabric, data = self.model, self.fabric, self.data
        torch.manual_seed(self.seed + self.rank)  # the family's own noise; differs between ranks
        model.build(data, model.generator(self.seed))
        self.originals: dict[str, nn.Module] = dict(model.modules())
        if not self.originals:
            raise GenlabError(f"{model.name}.modules() returned no networks")
        # On one device at plain 32-bit precision Fabric's module wrapper does nothing but add Python
        # work to every call (input/output conversion, backward hooks), so the networks are only moved.
        from lightning.fabric.plugins.precision import Precision
        from lightning.fabric.strategies import SingleDeviceStrategy

        plain = (
            isinstance(fabric.strategy, SingleDeviceStrategy) and type(fabric.strategy.precision) is Precision
        )
        self.wrapped = {}
        for attr, module in self.originals.items():
            self.wrapped[attr] = fabric.to_device(module) if plain else fabric.setup_module(module)
            setattr(model, attr, self.wrapped[attr])
        self.optimizers = dict(model.configure_optimizers())
        if not self.optimizers:
            raise GenlabError(f"{model.name}.configure_optimizers() returned no optimizers")
        self.fab_opts = {name: fabric.setup_optimizers(opt) for name, opt in self.optimizers.items()}
        for opt in self.optimizers.values():
            for g in opt.param_groups:
                g.setdefault("initial_lr", g["lr"])
        self.ema = {a: EMA(m, model.ema_decay) for a, m in self.originals.items()} if model.ema else {}
        self._clip_module = next(iter(self.wrapped.values()))

        # data: one tensor on the device; batches index it
        self.train_t = torch.from_numpy(np.ascontiguousarray(data.train)).to(fabric.device)
        n_rank = len(self.train_t) // self.world
        if n_rank < 1:
            raise DataError(f"training data: {len(self.train_t)} observations for {self.world} processes")
        self.n_rank = n_rank
        self.batch = max(1, min(int(model.batch_size), n_rank))
        self.steps_per_epoch = n_rank // self.batch
        self.test_t = None
        if data.test is not None and len(data.test):
            self.test_t = torch.from_numpy(np.ascontiguousarray(data.test[: self.opts["val_max"]])).to(
                fabric.device
            )

        # intervals in steps (deterministic, so every rank agrees)
        total = self.total_steps()
        auto = max(1, total // 10) if total else 200
        self.val_every = int(self.opts["val_every"] or auto)
        self.ckpt_every = int(self.opts["checkpoint_every"] or auto)
        self.log_every = int(self.opts["log_every"] or max(1, min(50, total // 20 if total else 50)))
        w = int(model.warmup_steps or 0)
        self.warmup = min(w, max(1, total // 5)) if total else w
        if model.lr_schedule not in LR_SCHEDULES:
            raise GenlabError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {model.lr_schedule!r}"
            )
        self.ctx = StepContext(self)
        self.t0 = time.perf_counter()
        self.good_state = self.capture()

    def total_steps(self) -> int | None:
        t = [
            s
            for s in (self.budget.steps, self.budget.epochs and self.budget.epochs * self.steps_per_epoch)
            if s
        ]
        return min(t) if t else None

    # ------------------------------------------------------------------ the budget
    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def fraction(self, elapsed: float) -> float:
        f = 0.0
        if self.budget.steps:
            f = max(f, self.step / self.budget.steps)
        if self.budget.epochs:
            f = max(f, (self.epoch + self.batch_in_epoch / self.steps_per_epoch) / self.budget.epochs)
        if self.budget.seconds:
            f = max(f, elapsed / self.budget.seconds)
        return f

    def stop_reason(self, elapsed: float) -> str | None:
        if self.budget.steps and self.step >= self.budget.steps:
            return "steps"
        if self.budget.epochs and self.epoch >= self.budget.epochs:
            return "epochs"
        if self.budget.seconds:
            over = elapsed >= self.budget.seconds
            if self.world > 1:  # rank 0's clock decides for everyone
                over = bool(self.fabric.broadcast(over, src=0))
            if over:
                return "seconds"
        return None

    # ------------------------------------------------------------------ one update
    def optimize(self, ctx: StepContext, name: str, loss: torch.Tensor) -> None:
        opt = self.fab_opts.get(name)
        if opt is None:
            raise GenlabError(
                f"{self.model.name}.training_step: no optimizer {name!r}; configured: {', '.join(self.fab_opts)}"
            )
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0 or not loss.requires_grad:
            raise GenlabError(
                f"{self.model.name}.training_step: ctx.optimize({name!r}, loss) needs a scalar tensor that requires grad"
            )
        opt.zero_grad(set_to_none=True)
        self.fabric.backward(loss)
        clip = self.model.grad_clip
        norm = self.fabric.clip_gradients(
            self._clip_module, opt, max_norm=float(clip) if clip else float("inf"), error_if_nonfinite=False
        )
        # after DDP's all-reduce the gradient norm is the same on every rank, so all ranks agree to skip;
        # on one process a non-finite loss counts too (norm + loss is finite iff both are)
        finite = torch.isfinite(norm if self.world > 1 else norm + loss.detach())
        if not bool(finite):
            opt.zero_grad(set_to_none=True)
            ctx.bad = True
            return
        opt.step()

    def set_lr(self, fraction: float) -> None:
        f = lr_factor(self.step, fraction, self.warmup, self.model.lr_schedule) * self.lr_scale
        for opt in self.optimizers.values():
            for g in opt.param_groups:
                g["lr"] = g["initial_lr"] * f

    # ------------------------------------------------------------------ state
    def capture(self) -> dict[str, Any]:
        """Everything needed to continue: weights, EMA, optimizers, counters, RNG (CPU copies)."""
        state = {
            "modules": {a: m.state_dict() for a, m in self.originals.items()},
            "ema": {a: e.module.state_dict() for a, e in self.ema.items()},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "rng": {"torch": torch.get_rng_state()},
            "counters": {
                "step": self.step,
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "elapsed": self.elapsed(),
                "skipped": self.skipped,
                "recoveries": self.recoveries,
                "lr_scale": self.lr_scale,
                "best_val": self.best_val,
                "bad_vals": self.bad_vals,
                "ema_updates": self.ema_updates,
            },
            "run": {
                "model": self.model.name,
                "params": _jsonable_params(self.model.get_params()),
                "seed": self.seed,
                "world_size": self.world,
                "n_train": int(len(self.train_t)),
            },
        }
        if self.fabric.device.type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.fabric.device)
        return _cpu_copy(state)

    def restore_weights(self, state: dict[str, Any]) -> None:
        for a, m in self.originals.items():
            m.load_state_dict(state["modules"][a])
        for a, e in self.ema.items():
            e.module.load_state_dict(state["ema"][a])
        for n, o in self.optimizers.items():
            o.load_state_dict(copy.deepcopy(state["optimizers"][n]))

    def resume(self) -> None:
        folder = checkpoint_path(self.run_dir, "last")
        state = read_checkpoint(folder)
        run = state.get("run", {})
        if run.get("model") != self.model.name:
            raise GenlabError(
                f"{folder}: checkpoint is of model {run.get('model')!r}, not {self.model.name!r}"
            )
        mine = _jsonable_params(self.model.get_params())
        if run.get("params") != mine:
            diff = [k for k in mine if run.get("params", {}).get(k) != mine[k]]
            raise GenlabError(
                f"{folder}: checkpoint was trained with other hyperparameters ({', '.join(diff)})"
            )
        if run.get("seed") != self.seed or run.get("n_train") != len(self.train_t):
            raise GenlabError(f"{folder}: resume with the seed and data of the run (seed {run.get('seed')})")
        try:
            self.restore_weights(state)
        except (KeyError, RuntimeError, ValueError) as e:
            raise DataError(
                f"{folder}: checkpoint does not fit the model ({type(e).__name__}: {e})"
            ) from None
        c = state["counters"]
        self.step, self.epoch, self.batch_in_epoch = c["step"], c["epoch"], c["batch_in_epoch"]
        self.elapsed_before = c["elapsed"]
        self.skipped, self.recoveries, self.lr_scale = c["skipped"], c["recoveries"], c["lr_scale"]
        self.best_val, self.bad_vals, self.ema_updates = c["best_val"], c["bad_vals"], c["ema_updates"]
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.fabric.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.fabric.device)
        self.good_state = state

    def save(self, which: str, state: dict[str, Any]) -> None:
        if self.run_dir is not None and self.is_zero:
            write_checkpoint(checkpoint_path(self.run_dir, which), state)

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> float | None:
        if self.test_t is None or not self.has_val:
            return None
        model = self.model
        nets = {a: (self.ema[a].module if a in self.ema else m) for a, m in self.originals.items()}
        for a, m in nets.items():
            m.eval()
            setattr(model, a, m)
        devices = [self.fabric.device] if self.fabric.device.type == "cuda" else []
        total, n = 0.0, 0
        try:
            with torch.random.fork_rng(devices=devices):  # fixed noise; the training stream is untouched
                torch.manual_seed(self.seed)
                for chunk in self.test_t.split(max(self.batch, 256)):
                    loss = model.validation_loss(chunk)
                    if loss is None:
                        self.has_val = False
                        return None
                    total += float(loss) * len(chunk)
                    n += len(chunk)
        finally:
            for a, m in self.wrapped.items():
                setattr(model, a, m)
            for m in self.originals.values():
                m.train()
        return total / n

    # ------------------------------------------------------------------ the loop
    def run(self, reporter: Reporter) -> TrainResult:
        model = self.model
        self.t0 = time.perf_counter()
        self.start_step = self.step
        if self.opts["resume"]:
            reporter.message(f"resumed from step {self.step}", step=self.step, elapsed=self.elapsed_before)
        for m in self.originals.values():
            m.train()
        perm = self.permutation(self.epoch)
        sums: dict[str, Any] = {}
        n_sums = 0
        t_log, step_log = time.perf_counter(), self.step
        t_show = t_log
        stopped_by = "steps"
        max_bad = int(self.opts["max_bad_steps"])
        ctx = self.ctx
        while True:
            elapsed = self.elapsed()
            reason = self.stop_reason(elapsed)
            if reason is not None:
                stopped_by = reason
                break
            fraction = self.fraction(elapsed)
            self.set_lr(fraction)
            i = self.batch_in_epoch * self.batch
            batch = self.train_t[perm[i : i + self.batch]]
            ctx.step, ctx.epoch, ctx.fraction, ctx.bad = self.step, self.epoch, fraction, False
            out = model.training_step(batch, ctx)
            self.step += 1
            self.batch_in_epoch += 1
            if self.batch_in_epoch >= self.steps_per_epoch:
                self.epoch += 1
                self.batch_in_epoch = 0
                perm = self.permutation(self.epoch)

            if ctx.bad:
                self.skipped += 1
                self.consecutive_bad += 1
                if self.consecutive_bad >= max_bad:
                    self.recover(reporter)
            else:
                self.consecutive_bad = 0
                for e in self.ema.values():
                    e.update(self.ema_updates)
                self.ema_updates += 1
                for k, v in (out or {}).items():
                    v = v.detach() if isinstance(v, torch.Tensor) else v
                    sums[k] = sums[k] + v if k in sums else v
                n_sums += 1

            val = None
            if self.step % self.val_every == 0:
                val = self.after_validation(self.validate())
            now = time.perf_counter()
            if self.step % self.log_every == 0 or val is not None or now - t_log >= LOG_SECONDS:
                rec = {
                    "step": self.step,
                    "epoch": round(self.epoch + self.batch_in_epoch / self.steps_per_epoch, 4),
                    "time": round(self.elapsed(), 3),
                    "losses": {k: float(v) / max(n_sums, 1) for k, v in sums.items()},
                    "samples_per_s": round(
                        (self.step - step_log) * self.batch * self.world / max(now - t_log, 1e-9), 1
                    ),
                    "lr": self.optimizers[next(iter(self.optimizers))].param_groups[0]["lr"],
                    "skipped": self.skipped,
                }
                if val is not None:
                    rec["val_loss"] = val
                reporter.record(rec)
                reporter.show(rec, self.fraction(rec["time"]))
                sums, n_sums, t_log, step_log = {}, 0, now, self.step
            elif reporter.mode == "rich" and now - t_show >= 0.5:  # keep the bar moving between logs
                shown = {**(reporter.history[-1] if reporter.history else {}), "step": self.step}
                shown["time"] = self.elapsed()
                reporter.show(shown, self.fraction(shown["time"]))
                t_show = now
            if self.step % self.ckpt_every == 0 and self.consecutive_bad == 0:
                self.checkpoint()
            if val is not None and model.early_stopping and self.bad_vals >= int(model.early_stopping):
                stopped_by = "early_stopping"
                break

        # the end: a last validation and checkpoint, then the weights the model keeps
        if self.step % self.val_every != 0:
            self.after_validation(self.validate())
        if self.consecutive_bad == 0:
            self.checkpoint()
        final = {
            "step": self.step,
            "epoch": round(self.epoch + self.batch_in_epoch / self.steps_per_epoch, 4),
            "time": round(self.elapsed(), 3),
            "event": "end",
            "stopped_by": stopped_by,
            "skipped": self.skipped,
            "recoveries": self.recoveries,
            "world_size": self.world,
            "val_loss": self.best_val if model.early_stopping else self.last_val,
        }
        reporter.record(final)
        session = max(time.perf_counter() - self.t0, 1e-9)
        last = next((r for r in reversed(reporter.history) if "losses" in r), {})
        shown = {**final, "losses": last.get("losses", {}), "val_loss": final["val_loss"]}
        shown["samples_per_s"] = (self.step - self.start_step) * self.batch * self.world / session
        reporter.show(shown, 1.0, final=True)
        if model.early_stopping and getattr(self, "best_state", None) is not None:
            self.restore_weights(self.best_state)
        if not _all_finite(list(self.originals.values())):
            self.restore_weights(self.good_state)
        for a, m in self.originals.items():  # the model keeps the EMA weights, unwrapped
            if a in self.ema:
                m.load_state_dict(self.ema[a].module.state_dict())
            setattr(model, a, m)
        return TrainResult(
            steps=self.step,
            epochs=final["epoch"],
            seconds=final["time"],
            stopped_by=stopped_by,
            skipped_steps=self.skipped,
            recoveries=self.recoveries,
            best_val_loss=self.best_val,
            global_rank=self.rank,
            world_size=self.world,
            history=reporter.history,
        )

    def after_validation(self, val: float | None) -> float | None:
        if val is None or not math.isfinite(val):
            return None
        self.last_val = val
        if self.best_val is None or val < self.best_val:
            self.best_val = val
            self.bad_vals = 0
            if _all_finite(list(self.originals.values())):
                state = self.capture()
                if self.model.early_stopping:
                    self.best_state = state
                self.save("best", state)
        else:
            self.bad_vals += 1
        return val

    def checkpoint(self) -> None:
        """Refresh the last good state (in memory, for the NaN guard) and write `checkpoints/last`."""
        nets = list(self.originals.values()) + [e.module for e in self.ema.values()]
        if not _all_finite(nets):  # never keep or save NaN weights
            return
        self.good_state = self.capture()
        self.save("last", self.good_state)

    def recover(self, reporter: Reporter) -> None:
        self.recoveries += 1
        if self.recoveries > int(self.opts["max_recoveries"]):
            raise GenlabError(
                f"{self.model.name}: training diverged: non-finite losses persisted after "
                f"{self.opts['max_recoveries']} recoveries; try a lower lr (now {self.model.lr:g})"
            )
        self.restore_weights(self.good_state)
        self.lr_scale *= 0.5
        self.consecutive_bad = 0
        reporter.message(
            f"{self.opts['max_bad_steps']} non-finite steps in a row at step {self.step}: "
            f"reloaded the last good state (step {self.good_state['counters']['step']}) "
            f"and halved the learning rate (x{self.lr_scale:g})",
            step=self.step,
            elapsed=self.elapsed(),
        )

    def permutation(self, epoch: int) -> torch.Tensor:
        """This rank's shuffled indices for an epoch, from (seed, epoch) alone."""
        g = torch.Generator().manual_seed(
            int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
        )
        perm = torch.randperm(len(self.train_t), generator=g)
        return perm[self.rank * self.n_rank : (self.rank + 1) * self.n_rank].to(self.train_t.device)


# ---------------------------------------------------------------------------------------------- entry
def _progress_mode(progress: Any) -> str:
    if progress is None:
        return "rich" if sys.stderr.isatty() else "plain"
    if progress is False:
        return "off"
    if progress is True:
        return "rich"
    if progress in ("rich", "plain", "off"):
        return progress
    raise GenlabError(f"progress must be 'rich', 'plain', 'off', True, False or None, got {progress!r}")


def train(
    model: Any,
    data: Any,
    *,
    budget: Budget | str | None,
    seed: int,
    accelerator: str = "cpu",
    devices: int | str = 1,
    strategy: str = "auto",
    precision: str | int = "32-true",
    num_nodes: int = 1,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: Any = None,
    log_every: int | None = None,
    val_every: int | None = None,
    checkpoint_every: int | None = None,
    val_max: int = 4096,
    max_bad_steps: int = 5,
    max_recoveries: int = 5,
) -> TrainResult:
    """Train a `NeuralModel` on `data` (a `FitData`) until the budget runs out.

    accelerator/devices/strategy/precision/num_nodes go to `lightning.fabric.Fabric` ("cpu", 2, "ddp"
    trains in two processes with gloo; the other ranks are started by re-running the command line).
    With `run_dir`, rank 0 writes `log.jsonl` and `checkpoints/{last,best}/` there; `resume=True`
    continues from `checkpoints/last`. `log_every`/`val_every`/`checkpoint_every` are in steps (None:
    about 20 logs and 10 validations/checkpoints per run, or every 50/200/200 steps under a time
    budget; a log line is also written every 10 s). After `max_bad_steps` non-finite steps in a
    row the last good state is reloaded and the learning rate halved, at most `max_recoveries` times.
    """
    budget = parse_budget(budget)
    if budget.empty:
        budget = parse_budget(model.default_budget)
    if resume and run_dir is None:
        raise GenlabError("resume=True needs the run_dir of the run to continue")
    if isinstance(strategy, str) and strategy.endswith(("spawn", "fork", "notebook")):
        raise GenlabError(
            f"strategy {strategy!r} is not supported: use strategy='ddp', which starts the other "
            "processes by re-running the command line (a script or `genlab fit`)"
        )
    try:
        from lightning.fabric import Fabric

        fabric = Fabric(
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            precision=precision,
            num_nodes=num_nodes,
        )
    except (ValueError, TypeError, RuntimeError) as e:
        raise GenlabError(f"bad training set-up (accelerator/devices/strategy/precision): {e}") from None
    fabric.launch()
    opts = {
        "run_dir": run_dir,
        "resume": resume,
        "log_every": log_every,
        "val_every": val_every,
        "checkpoint_every": checkpoint_every,
        "val_max": int(val_max),
        "max_bad_steps": max_bad_steps,
        "max_recoveries": max_recoveries,
    }
    loop = _Loop(model, data, budget=budget, seed=seed, fabric=fabric, opts=opts)
    loop.setup()
    if resume:
        loop.resume()

    log_path = None
    history: list[dict[str, Any]] = []
    if run_dir is not None:
        log_path = Path(run_dir) / "log.jsonl"
        if resume:  # keep what the checkpoint saw; drop lines a killed session wrote after it
            history = [r for r in read_log(log_path) if r.get("step", 0) <= loop.step]
        if fabric.is_global_zero:
            from genlab.fileio import atomic_write

            atomic_write(log_path, "".join(_dumps(r) + "\n" for r in history))
    reporter = Reporter(
        log_path=log_path if fabric.is_global_zero else None,
        mode=_progress_mode(progress) if fabric.is_global_zero else "off",
        title=f"{model.name} ({budget})",
        history=history,
    )
    reporter.start()
    try:
        result = loop.run(reporter)
    finally:
        reporter.close()
    if fabric.world_size > 1:
        fabric.barrier()
    model.train_result_ = result
    return result


def _dumps(rec: dict[str, Any]) -> str:
    import json

    return json.dumps(rec, allow_nan=True)
