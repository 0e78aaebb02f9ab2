"""Base class of the torch families. `fit` hands the training engine (`genlab.train`, the layer below)
this model's hooks, its `TrainConfig` and the caller's options; the engine knows nothing else about a
family, and a family knows nothing about devices, DDP, EMA or checkpoints.

A family implements:
    build(data, generator)            create its networks from the data's shape (seeded init from
                                      `generator`, inside `seeded_init`)
    modules() -> {attr: nn.Module}    the networks, keyed by the attribute that holds each (e.g.
                                      {"net_": self.net_}): moved to the device, EMA'd, checkpointed,
                                      saved. During training the engine hands back their Fabric-wrapped
                                      (device/DDP) versions through `use_modules`, so a family calls each
                                      network through its forward(), never a submodule directly.
                                      Data statistics (e.g. standardisation) live in registered buffers,
                                      so they are saved with the weights.
    configure_optimizers(config) -> {name: Optimizer}   (default: one AdamW with config.lr)
    training_step(batch, ctx) -> {loss name: float}
        calls ctx.optimize(optimizer_name, loss) once per optimizer update it wants (a GAN calls it
        for "d" n_critic times and then for "g"); the engine handles zero_grad, backward, clipping,
        the NaN guard, the LR schedule and EMA. The values may be detached 0-d tensors (no sync;
        the engine averages them when it logs). Training noise is drawn from `ctx.generator` (never
        torch's global RNG). ctx also has step, epoch, fraction (share of the budget done), device and
        world_size.
    validation_loss(batch, generator) -> Tensor  (optional; a scalar, lower is better, used for logging,
                                        best-checkpoint selection and early stopping; noise from
                                        `generator`)
    on_fit_end(data)                  (optional; after training, with EMA weights in place)
    _extra_state() / _set_extra_state(arrays, meta)   (optional; fitted non-network state)
and the usual `_sample`, `_log_prob`, `_encode`, `_decode` of `GenerativeModel`, using
`self.generator(seed)` for randomness. After `fit`, networks live on the CPU in eval mode.

The training hyperparameters (lr, batch_size, ... below) are the fields of `TrainConfig`; a family
declares its own defaults for them in its `__init__` signature and `default_budget`.

Conditioning (`conditional=...`, see `GenerativeModel`): the engine then hands `training_step` and
`validation_loss` the pair (x, cond) instead of x (`self._unpack(batch)` splits either), the family's
networks take a `CondEmbedding` (`self._cond_embedding(dim)`, None when unconditional) built from the
fitted condition (`conditional_`, `n_classes_`, `factor_names_`), and its `_sample`/`_log_prob`/...
hooks receive `cond=` as numpy (`self._cond_tensor(cond)` turns it into a tensor).
Sizing: a hyperparameter left at None is filled at fit time by the family's `sized(data, budget,
device)` hook (default: nothing), which for images asks `genlab.models.sizing` for a network that suits
the budget and the device. What it chose is kept in `data_meta_["sized"]` (saved with the model, so a
loaded model rebuilds the same networks); families read a hyperparameter through `self.hp(name)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.budget import Budget
from genlab.models.base import FitData, GenerativeModel
from genlab.models.sharding import paused
from genlab.train import EngineOptions, TrainConfig, TrainResult, train

__all__ = ["CondEmbedding", "NeuralModel", "seeded_init"]

_D = TrainConfig()  # the engine's defaults; a family overrides them in its own signature
_SIZED_TRAIN = ("lr", "batch_size")  # training settings a family may leave to sizing (None)


@contextmanager
def seeded_init(generator: torch.Generator, high: int = 2**62) -> Iterator[None]:
    """Build networks inside this block: their initialisation is seeded from `generator`, and torch's
    global RNG is restored afterwards (a family never changes hidden global state)."""
    seed = int(torch.randint(high, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class CondEmbedding(nn.Module):
    """A condition -> a vector (n, dim). Labels (n,) int64 index a table of `n_classes + 1` rows, the last
    (index n_classes) the null class of classifier-free guidance; factor rows (n, F) are standardised
    (buffers) and go through a small MLP, with a learned null vector. `null` (bool (n,)) replaces a
    row's condition by the null one (label dropout)."""

    def __init__(self, dim: int, n_classes: int = 0, n_factors: int = 0) -> None:
        super().__init__()
        self.dim, self.n_classes = dim, n_classes
        if n_classes:
            self.table = nn.Embedding(n_classes + 1, dim)
        else:
            self.register_buffer("shift", torch.zeros(n_factors))
            self.register_buffer("scale", torch.ones(n_factors))
            self.mlp = nn.Sequential(nn.Linear(n_factors, dim), nn.SiLU(), nn.Linear(dim, dim))
            self.null = nn.Parameter(torch.zeros(dim))

    def forward(self, c: torch.Tensor, null: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes:
            if null is not None:
                c = torch.where(null, torch.full_like(c, self.n_classes), c)
            return self.table(c)
        e = self.mlp((c.float() - self.shift) / self.scale)  # (n, dim)
        if null is not None:
            e = torch.where(null[:, None], self.null.expand_as(e), e)
        return e


class NeuralModel(GenerativeModel):
    """Shared training hyperparameters; each family adds its own in its `__init__`."""

    #: Budget used when `fit` gets none.
    default_budget: str = "60s"
    conditions = ("labels", "factors")

    def __init__(
        self,
        *,
        conditional: bool | str = False,
        lr: float = _D.lr,
        batch_size: int = _D.batch_size,
        weight_decay: float = _D.weight_decay,
        grad_clip: float | None = _D.grad_clip,
        warmup_steps: int = _D.warmup_steps,
        lr_schedule: str = _D.lr_schedule,
        ema: bool = _D.ema,
        ema_decay: float = _D.ema_decay,
        early_stopping: int | None = _D.early_stopping,
    ) -> None:
        self.conditional = conditional
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.warmup_steps = warmup_steps
        self.lr_schedule = lr_schedule
        self.ema = ema
        self.ema_decay = ema_decay
        self.early_stopping = early_stopping

    def train_config(self) -> TrainConfig:
        """This model's optimisation settings, as the engine receives them (checked here). Before fit, a
        setting left to sizing (None) is checked with the engine's default in its place."""
        values = {k: getattr(self, k) for k in TrainConfig.fields() if k != "budget"}
        sized = getattr(self, "data_meta_", {}).get("sized", {})
        for k in _SIZED_TRAIN:
            if values[k] is None:
                values[k] = sized.get(k, getattr(_D, k))
        return TrainConfig(**values, budget=self.default_budget)

    # ------------------------------------------------------------------ sizing
    def sized(self, data: FitData, budget: Budget, device: str) -> dict[str, Any]:
        """Values for the hyperparameters left at None (and internal build flags), chosen from the data,
        the budget and the device ("cpu" or "gpu"); see `genlab.models.sizing`. Default: none."""
        return {}

    def hp(self, name: str, legacy: Any = None) -> Any:
        """Hyperparameter `name`: its explicit value, else what sizing chose at fit time, else `legacy`
        (what models saved before sizing existed used)."""
        v = getattr(self, name, None)
        if v is not None:
            return v
        return getattr(self, "data_meta_", {}).get("sized", {}).get(name, legacy)

    def _size(self, data: FitData, budget: Budget, options: dict[str, Any]) -> None:
        from genlab.budget import parse_budget
        from genlab.models.sizing import device_kind

        budget = budget if not budget.empty else parse_budget(self.default_budget)  # what the engine uses
        chosen = self.sized(data, budget, device_kind(options))
        params = set(self._param_names())
        self.data_meta_["sized"] = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in chosen.items()
            if k not in params or getattr(self, k) is None
        }

    # ------------------------------------------------------------------ hooks for the family
    def build(self, data: FitData, generator: torch.Generator) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement build() (a family hook)")

    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError(f"{type(self).__name__} must implement modules() (a family hook)")

    def configure_optimizers(self, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        params = [p for m in self.modules().values() for p in m.parameters()]
        return {"main": torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)}

    def training_step(self, batch: torch.Tensor, ctx: Any) -> dict[str, float | torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement training_step() (a family hook)")

    def validation_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor | None:
        return None

    def on_fit_end(self, data: FitData) -> None:
        pass

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}

    def _set_extra_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        pass

    def _check(self, data: FitData) -> None:
        self.train_config()  # the training settings are checked by TrainConfig itself

    # ------------------------------------------------------------------ conditioning helpers
    @staticmethod
    def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch from the engine -> (x, cond or None)."""
        if isinstance(batch, tuple | list):
            return batch[0], batch[1]
        return batch, None

    def _cond_embedding(self, dim: int) -> CondEmbedding | None:
        """A fresh embedding of this model's condition into `dim` numbers, or None when unconditional
        (build it inside `seeded_init`). Factor statistics come from the training factor rows."""
        mode = self.conditional_mode
        if not mode:
            return None
        if mode == "labels":
            return CondEmbedding(dim, n_classes=int(self.n_classes_))
        rows = torch.from_numpy(np.asarray(self.factor_rows_, np.float32))
        emb = CondEmbedding(dim, n_factors=rows.shape[1])
        emb.shift.copy_(rows.mean(0))
        emb.scale.copy_(rows.std(0).clamp_min(1e-6) if len(rows) > 1 else torch.ones(rows.shape[1]))
        return emb

    def _cond_tensor(self, cond: Any) -> torch.Tensor | None:
        """A hook's `cond=` (numpy, or None) as a tensor: int64 labels or float32 factor rows."""
        if cond is None:
            return None
        if isinstance(cond, torch.Tensor):
            return cond
        dtype = np.int64 if self.conditional_mode == "labels" else np.float32
        return torch.from_numpy(np.ascontiguousarray(cond, dtype=dtype))

    # ------------------------------------------------------------------ what the engine calls
    def identity(self) -> dict[str, Any]:
        params = self.get_params()
        for k, v in getattr(self, "data_meta_", {}).get("sized", {}).items():
            if params.get(k, 0) is None:  # a checkpoint resumes only into the same sized networks
                params[k] = v
        return {"model": self.name, "params": params}

    def use_modules(self, modules: dict[str, nn.Module]) -> None:
        """The engine hands the networks (wrapped for the device, or back unwrapped) to the family."""
        for attr, module in modules.items():
            setattr(self, attr, module)

    # ------------------------------------------------------------------ shared machinery
    def _fit(
        self,
        data: FitData,
        *,
        budget: Budget,
        seed: int,
        watch: Any = "auto",
        watch_action: str = "stop",
        **options: Any,
    ) -> None:
        """`watch`: "auto" (the Rule 2 watch on training sets small enough for copying to matter, see
        `genlab.judge.watch`), "rule2", "off", or a Watch object; `watch_action`: "stop" or "warn"."""
        from genlab.judge.watch import watch_for

        self.data_meta_ = {"n_train": len(data.train)}
        self._size(data, budget, options)
        config = self.train_config()
        source = data.dataset if data.dataset is not None else data
        w = watch_for(source, watch, action=watch_action, seed=seed)
        engine = EngineOptions.from_kwargs(f"{self.name}.fit", **options, watch=w)
        with paused():  # only rank 0 samples during training (the watch): no draw is shared
            self.train_result_: TrainResult = train(
                self, data, config=config, budget=budget, seed=seed, options=engine
            )
        for m in self.modules().values():
            m.cpu().eval()
        self.on_fit_end(data)

    @staticmethod
    def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
        return torch.Generator(device=device).manual_seed(int(seed))

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, Any] = {}
        for name, module in self.modules().items():
            for k, v in module.state_dict().items():
                arrays[f"{name}.{k}"] = v
        extra_arrays, extra_meta = self._extra_state()
        for k, v in extra_arrays.items():
            arrays[f"extra.{k}"] = v
        return arrays, {"extra": extra_meta, "build": self._build_meta()}

    def _build_meta(self) -> dict[str, Any]:
        """What `build` needs besides hyperparameters to recreate the networks (shape, kind, n_train)."""
        return {"kind": self.kind_, "shape": list(self.shape_), **getattr(self, "data_meta_", {})}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        build = meta["build"]
        shape = tuple(build["shape"])
        dummy = FitData(np.zeros((2, *shape), np.float32), None, shape, build["kind"])
        self.data_meta_ = {k: v for k, v in build.items() if k not in ("kind", "shape")}
        self.build(dummy, self.generator(0))
        for name, module in self.modules().items():
            prefix = f"{name}."
            sd = {
                k[len(prefix) :]: torch.from_numpy(np.array(v))
                for k, v in arrays.items()
                if k.startswith(prefix)
            }
            module.load_state_dict(sd, strict=True)
            module.eval()
        extra = {k[len("extra.") :]: v for k, v in arrays.items() if k.startswith("extra.")}
        self._set_extra_state(extra, meta.get("extra", {}))
