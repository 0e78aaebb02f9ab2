"""Energy-based model (Du & Mordatch 2019): a network E(x), density proportional to exp(-E(x)).

Training is contrastive divergence: lower the energy of data, raise the energy of negatives made by
short-run Langevin dynamics, z <- z - step_size * dE/dz + noise * N(0, I), started from a replay
buffer of earlier negatives (a fraction `reinit` restarts from uniform noise), plus the regulariser
alpha * (E(x+)^2 + E(x-)^2) that keeps energies near zero. The network is an MLP for vectors and a
small CNN for images; both work in a standardised space (vectors: per-feature mean/std; images:
[0, 1] -> [-1, 1]) held in buffers, and Langevin chains are kept inside a box around the data.

Settings left at None depend on the data's kind. Vectors: alpha 1, 20 Langevin steps of size 0.01,
AdamW lr 1e-3, batch 128, 100 sampling steps. Images: the recipe of the UvA deep-learning tutorial on
energy-based models (Lippe, tutorial 8, after Du & Mordatch 2019): a Swish CNN, alpha 0.1, 60 Langevin
steps of size 10 with each step's gradient clamped to +-0.03 and noise 0.005, a replay buffer with 5%
fresh noise, real images jittered by noise 0.005, Adam lr 1e-4 with betas (0.0, 0.999), batch 128; the
CNN's width is sized for the budget and device (`genlab.models.sizing`).

The normalising constant is intractable, so there is no `log_prob`; `energy(x)` is public.

Conditional (`conditional=true`): the energy of (x, y) is E(x) + <embed(y), phi(x)> with phi(x) the
network's last features (a projection, as in the GAN's discriminator); Langevin chains for a row run
under that row's condition, and `energy(x, labels=...)` gives the conditional energy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.errors import DataError, GenlabError
from genlab.models.base import FitData, check_array
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_bool, check_choice, check_float, check_int

__all__ = ["EBM", "EnergyCNN", "EnergyMLP", "SwishCNN"]

INITS = ("noise", "buffer")


# ----------------------------------------------------------------------------- blocks
def _sn(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


class EnergyMLP(nn.Module):
    """(B, D) -> (B,) energies. SiLU, not ReLU: Langevin needs a smooth gradient in x."""

    def __init__(
        self, dim: int, hidden: int, depth: int, spectral_norm: bool, cond: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.cond = cond  # conditional: projection of the condition's embedding (width hidden) on phi(x)
        widths = [dim] + [hidden] * depth
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [_sn(nn.Linear(a, b), spectral_norm), nn.SiLU()]
        layers.append(_sn(nn.Linear(widths[-1], 1), spectral_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond is None:
            return self.net(x).squeeze(-1)
        phi = self.net[:-1](x)  # (B, hidden)
        return self.net[-1](phi).squeeze(-1) + (self.cond(c) * phi).sum(1)


class EnergyCNN(nn.Module):
    """(B, C, H, W) -> (B,) energies: three convolutions (two of stride 2), mean-pool, linear."""

    def __init__(self, in_ch: int, channels: int, spectral_norm: bool, cond: nn.Module | None = None) -> None:
        super().__init__()
        c = channels
        self.cond = (
            cond  # conditional: projection of the condition's embedding (width 4c) on the pooled features
        )
        self.net = nn.Sequential(
            _sn(nn.Conv2d(in_ch, c, 3, padding=1), spectral_norm), nn.SiLU(),
            _sn(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), spectral_norm), nn.SiLU(),  # H/2
            _sn(nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1), spectral_norm), nn.SiLU(),  # H/4
        )  # fmt: skip
        self.out = _sn(nn.Linear(4 * c, 1), spectral_norm)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.net(x).mean(dim=(2, 3))  # (B, 4c)
        e = self.out(h).squeeze(-1)
        return e if self.cond is None else e + (self.cond(c) * h).sum(1)


class SwishCNN(nn.Module):
    """(B, C, H, W) -> (B,) energies: the UvA tutorial's CNN, widths c/2, c, 2c, 2c (each stride 2), Swish."""

    def __init__(
        self,
        in_ch: int,
        channels: int,
        spectral_norm: bool,
        size: tuple[int, int] = (28, 28),
        cond: nn.Module | None = None,
    ) -> None:
        super().__init__()
        c1, c2, c3 = max(1, channels // 2), channels, 2 * channels
        self.cond = (
            cond  # conditional: projection of the condition's embedding (width 2c) on the hidden layer
        )
        self.net = nn.Sequential(
            _sn(nn.Conv2d(in_ch, c1, 5, stride=2, padding=4), spectral_norm), nn.SiLU(),  # 28 -> 16
            _sn(nn.Conv2d(c1, c2, 3, stride=2, padding=1), spectral_norm), nn.SiLU(),  # 8
            _sn(nn.Conv2d(c2, c3, 3, stride=2, padding=1), spectral_norm), nn.SiLU(),  # 4
            _sn(nn.Conv2d(c3, c3, 3, stride=2, padding=1), spectral_norm), nn.SiLU(),  # 2
            nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.net(torch.zeros(1, in_ch, *size)).shape[1]
        self.hidden = nn.Sequential(_sn(nn.Linear(flat, c3), spectral_norm), nn.SiLU())
        self.out = _sn(nn.Linear(c3, 1), spectral_norm)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden(self.net(x))  # (B, 2c)
        e = self.out(h).squeeze(-1)
        return e if self.cond is None else e + (self.cond(c) * h).sum(1)


class EnergyNet(nn.Module):
    """A backbone plus the data's standardisation and the Langevin box (buffers, saved with the weights)."""

    def __init__(
        self,
        backbone: nn.Module,
        shift: torch.Tensor,
        scale: torch.Tensor,
        lo: torch.Tensor,
        hi: torch.Tensor,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("shift", shift)  # (1, *shape): z = (x - shift) / scale
        self.register_buffer("scale", scale)
        self.register_buffer("lo", lo)  # (1, *shape): box for noise starts and chains, in z units
        self.register_buffer("hi", hi)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.backbone(z) if c is None else self.backbone(z, c)


# ----------------------------------------------------------------------------- model
class EBM(NeuralModel):
    """Energy-based model trained by contrastive divergence with short-run Langevin and a replay buffer.

    Network: `hidden`, `depth` (vector MLP); `channels` (image CNN); `spectral_norm`.
    Training: `alpha` (energy regulariser), `langevin_steps`, `step_size`, `noise` (Langevin, in
    standardised units), `grad_clamp` (each Langevin gradient clamped to +-this; off for vectors),
    `buffer_size`, `reinit` (share of chains restarted from noise).
    Sampling (settable after fit): `sample_steps` Langevin steps from `init` = "noise" or "buffer".
    None: chosen per kind (module docstring).
    """

    name = "ebm"
    log_prob_kind = None

    def __init__(
        self,
        *,
        hidden: int = 128,
        depth: int = 3,
        channels: int | None = None,
        spectral_norm: bool = False,
        alpha: float | None = None,
        langevin_steps: int | None = None,
        step_size: float | None = None,
        noise: float = 0.005,
        grad_clamp: float | None = None,
        buffer_size: int = 10000,
        reinit: float = 0.05,
        sample_steps: int | None = None,
        init: str = "noise",
        lr: float | None = None,
        batch_size: int | None = None,
        **training: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, **training)
        self.hidden = hidden
        self.depth = depth
        self.channels = channels
        self.spectral_norm = spectral_norm
        self.alpha = alpha
        self.langevin_steps = langevin_steps
        self.step_size = step_size
        self.noise = noise
        self.grad_clamp = grad_clamp
        self.buffer_size = buffer_size
        self.reinit = reinit
        self.sample_steps = sample_steps
        self.init = init

    # ------------------------------------------------------------------ engine hooks
    def _check(self, data: FitData) -> None:
        super()._check(data)
        if data.kind == "image" and len(data.shape) != 3:
            raise DataError(f"ebm: images must have shape (C, H, W), got {data.shape}")
        check_int(self, "hidden")
        check_int(self, "depth")
        check_int(self, "channels", none=True)
        check_bool(self, "spectral_norm")
        check_float(self, "alpha", low=0.0, none=True)
        check_int(self, "langevin_steps", none=True)
        check_float(self, "step_size", low=0.0, strict=True, none=True)
        check_float(self, "noise", low=0.0)
        check_float(self, "grad_clamp", low=0.0, strict=True, none=True)
        check_int(self, "buffer_size")
        check_float(self, "reinit", low=0.0, high=1.0)
        check_int(self, "sample_steps", minimum=0, none=True)
        check_choice(self, "init", INITS)

    #: settings that differ between vectors (toy-tuned) and images (the UvA tutorial's recipe)
    VECTOR = {"alpha": 1.0, "langevin_steps": 20, "step_size": 0.01, "sample_steps": 100, "lr": 1e-3,
              "batch_size": 128}  # fmt: skip
    IMAGE = {"alpha": 0.1, "langevin_steps": 60, "step_size": 10.0, "grad_clamp": 0.03, "sample_steps": 60,
             "lr": 1e-4, "adam_betas": (0.0, 0.999), "real_noise": 0.005, "cnn": "swish"}  # fmt: skip
    #: what models saved before sizing used (their hyperparameters were explicit, but not these flags)
    LEGACY = {"channels": 32, "grad_clamp": None, "adam_betas": None, "real_noise": 0.0, "cnn": "legacy",
              **VECTOR}  # fmt: skip

    def sized(self, data: FitData, budget: Any, device: str) -> dict[str, Any]:
        if data.kind != "image":
            return dict(self.VECTOR)
        from genlab.models.sizing import choose

        return {**self.IMAGE, **choose("ebm", data.shape, budget, device)}

    def _hp(self, name: str) -> Any:
        return self.hp(name, self.LEGACY.get(name))

    def configure_optimizers(self, config: Any) -> dict[str, torch.optim.Optimizer]:
        betas = self._hp("adam_betas")
        if betas is None:
            return super().configure_optimizers(config)
        params = self.net_.parameters()
        return {"main": torch.optim.Adam(params, lr=config.lr, betas=(float(betas[0]), float(betas[1])))}

    def build(self, data: FitData, generator: torch.Generator) -> None:
        if data.kind == "image":  # [lo, hi] (at least [0, 1]) -> [-1, 1], chains kept in the pixel range
            lo, hi = min(0.0, float(data.train.min())), max(1.0, float(data.train.max()))
            shift = torch.full((1, *data.shape), (lo + hi) / 2)
            scale = torch.full((1, *data.shape), (hi - lo) / 2)
            box_lo, box_hi = -torch.ones_like(shift), torch.ones_like(shift)
        else:  # standardise; the box is the data's range plus 10% on each side
            x = torch.from_numpy(data.train)
            shift = x.mean(0, keepdim=True)
            std = x.std(0, keepdim=True)
            scale = torch.where(std > 1e-8, std, torch.ones_like(std))
            z = (x - shift) / scale
            z_lo, z_hi = z.min(0, keepdim=True).values, z.max(0, keepdim=True).values
            margin = 0.1 * (z_hi - z_lo) + 1e-3
            box_lo, box_hi = z_lo - margin, z_hi + margin
        with seeded_init(generator, high=2**31 - 1):
            if data.kind == "image":
                c, sn = int(self._hp("channels")), self.spectral_norm
                if self._hp("cnn") == "swish":
                    cond = self._cond_embedding(2 * c)
                    backbone: nn.Module = SwishCNN(data.shape[0], c, sn, tuple(data.shape[1:]), cond)
                else:
                    cond = self._cond_embedding(4 * c)
                    backbone = EnergyCNN(data.shape[0], c, sn, cond)
            else:
                cond = self._cond_embedding(int(self.hidden))
                backbone = EnergyMLP(data.dim, self.hidden, self.depth, self.spectral_norm, cond)
        self.net_ = EnergyNet(backbone, shift.float(), scale.float(), box_lo.float(), box_hi.float())
        self.replay_ = self._uniform(self.buffer_size, generator)  # (buffer_size, *shape), z units

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_}

    def training_step(self, batch: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        batch, c = self._unpack(batch)  # conditional: negatives are drawn under the batch's conditions
        if self.replay_.device != batch.device:
            self.replay_ = self.replay_.to(batch.device)
        z_pos = (batch - self.net_.shift) / self.net_.scale  # (B, *shape)
        g = ctx.generator
        jitter = float(self._hp("real_noise") or 0.0)
        if jitter:  # UvA: real images jittered slightly, so the energy is smooth around them
            eps = torch.randn(z_pos.shape, generator=g, device=z_pos.device)
            z_pos = torch.minimum(torch.maximum(z_pos + jitter * eps, self.net_.lo), self.net_.hi)
        # negatives: chains continued from the replay buffer, a share `reinit` restarted from noise
        idx = torch.randint(len(self.replay_), (len(batch),), generator=g, device=batch.device)
        start = self.replay_[idx]
        fresh = torch.rand(len(batch), generator=g, device=batch.device) < self.reinit
        start = torch.where(fresh.view(-1, *[1] * (start.dim() - 1)), self._uniform(len(batch), g), start)
        z_neg = self._langevin(start, int(self._hp("langevin_steps")), g, c)
        self.replay_[idx] = z_neg
        e_pos, e_neg = self.net_(z_pos, c), self.net_(z_neg, c)  # (B,), (B,)
        cd = e_pos.mean() - e_neg.mean()
        loss = cd + float(self._hp("alpha")) * (e_pos**2 + e_neg**2).mean()
        ctx.optimize("main", loss)
        logs = {"loss": loss, "cd": cd, "e_pos": e_pos.mean(), "e_neg": e_neg.mean()}
        return {k: v.detach() for k, v in logs.items()}

    def on_fit_end(self, data: FitData) -> None:
        self.replay_ = self.replay_.detach().cpu()

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"replay": self.replay_.detach().cpu().numpy()}, {}

    def _set_extra_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        replay = np.asarray(arrays["replay"], dtype=np.float32)
        if (
            replay.ndim != 1 + len(self.shape_)
            or tuple(replay.shape[1:]) != tuple(self.shape_)
            or not len(replay)
        ):
            raise ValueError(
                f"replay buffer has shape {replay.shape}, expected (n, {', '.join(map(str, self.shape_))})"
            )
        self.replay_ = torch.from_numpy(replay.copy())

    # ------------------------------------------------------------------ Langevin dynamics
    def _uniform(self, n: int, generator: torch.Generator) -> torch.Tensor:
        lo, hi = self.net_.lo, self.net_.hi
        u = torch.rand((n, *lo.shape[1:]), generator=generator, device=lo.device)
        return lo + (hi - lo) * u

    def _langevin(
        self, z: torch.Tensor, steps: int, generator: torch.Generator, c: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`steps` updates z <- z - step_size * dE/dz + noise * N(0, I), clamped to the box; with
        `grad_clamp`, each dE/dz is clamped to +-grad_clamp first (the UvA recipe for images)."""
        lo, hi = self.net_.lo, self.net_.hi
        step, clamp = float(self._hp("step_size")), self._hp("grad_clamp")
        with torch.enable_grad():
            for _ in range(steps):
                z = z.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(self.net_(z, c).sum(), z)  # only dE/dz, no parameter grads
                if clamp is not None:
                    grad = grad.clamp(-float(clamp), float(clamp))
                eps = torch.randn(z.shape, generator=generator, device=z.device)
                z = torch.minimum(torch.maximum(z - step * grad + self.noise * eps, lo), hi)
        return z.detach()

    # ------------------------------------------------------------------ public
    def energy(self, x: Any, *, labels: Any = None, factors: Any = None) -> np.ndarray:
        """Energy E(x) of each observation, shape (n,): the density is proportional to exp(-E(x)). A
        conditional model needs the rows' labels (or factors): E(x, y)."""
        self._check_fitted("energy")
        x = check_array(x, what="energy input", shape=self.shape_)
        c = None
        if self.conditional_mode:
            c = self._cond_tensor(self._condition_given(len(x), labels, factors, "energy"))
        else:
            self._no_condition(labels, factors, "energy")
        with torch.no_grad():
            z = (torch.from_numpy(x) - self.net_.shift) / self.net_.scale
            return self.net_(z, c).double().numpy()

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        steps = self._hp("sample_steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise GenlabError(f"ebm: sample_steps must be a non-negative integer, got {steps!r}")
        gen = self.generator(seed)
        if self.init == "noise":
            z = self._uniform(n, gen)
        elif self.init == "buffer":  # continue chains from the saved replay buffer
            z = self.replay_[torch.randint(len(self.replay_), (n,), generator=gen)]
        else:
            raise GenlabError(f"ebm: init must be one of {', '.join(INITS)}, got {self.init!r}")
        z = self._langevin(z, steps, gen, self._cond_tensor(cond))
        return (z * self.net_.scale + self.net_.shift).numpy()

    def _no_log_prob_message(self) -> str:
        return (
            "ebm has no log_prob: its density exp(-E(x)) / Z is unnormalised (the constant Z is intractable); "
            "use model.energy(x) for the energy E(x), or a family with a log_prob (`genlab models` lists them)"
        )
