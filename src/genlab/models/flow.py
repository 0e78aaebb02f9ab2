"""Normalizing flows built on zuko (NSF by default, MAF, RealNVP), with exact log-likelihoods.

    data x --[images: cell centre, squeeze, logit]--> --[standardise]--> u --[zuko flow]--> z ~ N(0, I)

Every step is invertible and its log-Jacobian is counted, so `log_prob` is a density in the data's own
units: log p(x) = log N(z) + log|det dz/du| + log|det du/dx|.

Images on a grid of `levels` intensity levels (k / (levels - 1)) are uniformly dequantised during training:
each level is spread over a cell of width 1 / (levels - 1) centred on it, so the model is a density over
continuous images. `log_prob(x)` is that density at x (for grid images: at the cell centre), and
`bits_per_dim(x)` turns it into the usual discrete figure, -(E_u log p(x + u) - D log(levels - 1)) / (D log 2),
an upper bound on the bits per dimension of the discrete image, comparable with the autoregressive family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import zuko
from torch import Tensor, nn

from genlab.errors import DataError, NotSupported
from genlab.models.autoregressive import infer_levels
from genlab.models.base import FitData
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_choice, check_float, check_int, check_sizes

__all__ = ["Flow", "FlowNet", "Preprocess"]

ARCHS = {"nsf": zuko.flows.NSF, "maf": zuko.flows.MAF, "realnvp": zuko.flows.RealNVP}
STATS_ROWS = 20_000
#: vectors' sizes (tuned on the 2-D toys); images are sized for the budget (`genlab.models.sizing`)
VECTOR_SIZES: dict[str, Any] = {"transforms": 5, "hidden": (128, 128), "bins": 24}


# ----------------------------------------------------------------------------- blocks
class Preprocess(nn.Module):
    """Fixed invertible map data -> flow space, with its log|det Jacobian|.

    Vectors are standardised. Images are moved into (0, 1) (grid values to their dequantisation cell
    centres), squeezed into [alpha, 1 - alpha], sent through a logit, then standardised.
    """

    def __init__(self, dim: int, image: bool, levels: int | None, alpha: float) -> None:
        super().__init__()
        self.image, self.alpha = image, alpha
        # y = a * x + b maps the dequantised range [-1/(2(L-1)), 1 + 1/(2(L-1))] onto [0, 1]
        self.a, self.b = ((levels - 1) / levels, 0.5 / levels) if levels else (1.0, 0.0)
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    def squash(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(n, D) -> features before standardisation, and log|det| (n,). Identity for vectors."""
        if not self.image:
            return x, x.new_zeros(len(x))
        s = self.alpha + (1 - 2 * self.alpha) * (self.a * x + self.b)  # (n, D) in (0, 1) on the support
        s = torch.where((s > 0) & (s < 1), s, torch.nan)  # outside the support: density 0 (NaN -> -inf)
        ladj = math.log(self.a * (1 - 2 * self.alpha)) - torch.log(s) - torch.log1p(-s)
        return torch.logit(s), ladj.sum(-1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h, ladj = self.squash(x)
        return (h - self.shift) / self.scale, ladj - torch.log(self.scale).sum()

    def inverse(self, u: Tensor) -> Tensor:
        h = u * self.scale + self.shift
        if not self.image:
            return h
        y = (torch.sigmoid(h) - self.alpha) / (1 - 2 * self.alpha)
        return (y - self.b) / self.a


class FlowNet(nn.Module):
    """Preprocessing plus a zuko flow; forward(x) is the data-space log density (what training calls)."""

    def __init__(self, pre: Preprocess, flow: zuko.flows.Flow, cond: nn.Module | None = None) -> None:
        super().__init__()
        self.pre, self.flow = pre, flow
        self.cond = cond  # conditional: the condition's embedding is the zuko flow's context

    def _dist(self, c: Tensor | None) -> Any:
        return self.flow() if self.cond is None else self.flow(self.cond(c))

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # (n, D) -> (n,)
        u, ladj = self.pre(x)
        lp = self._dist(c).log_prob(u.nan_to_num(0.0)) + ladj
        return torch.where(torch.isnan(ladj), -torch.inf, lp)

    def encode(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # data -> base space
        u, _ = self.pre(x)
        return self._dist(c).transform(u)

    def decode(self, z: Tensor, c: Tensor | None = None) -> Tensor:  # base space -> data
        return self.pre.inverse(self._dist(c).transform.inv(z))


# ----------------------------------------------------------------------------- model
class Flow(NeuralModel):
    """A normalizing flow from zuko: `arch` is "nsf" (neural spline, default), "maf" or "realnvp".

    `transforms` flow layers, each with an MLP of `hidden` sizes; `bins` spline bins (nsf); left at None,
    these and `batch_size` are sized: vectors get 5 layers of (128, 128) with 24 bins (tuned on the toys),
    images a network chosen for the budget (`genlab.models.sizing`: above 64 dimensions the coupling
    MLP's output layer, D x (3 bins - 1) wide, is most of the cost, so images get fewer bins); `passes`
    is zuko's number of inverse passes (1 per dimension is fully autoregressive, 2 is coupling; None: fully
    autoregressive up to 64 dimensions, coupling above, so sampling large images stays fast; ignored by realnvp).
    Images are flattened, dequantised over `levels` grid levels (None: inferred from the training data;
    continuous images in [0, 1] are used as they are) and logit-transformed with squeeze `alpha`.
    `latent_dim` is the data dimension: `encode` maps to the Gaussian base space, `decode` inverts it
    exactly (continuous values); `sample` decodes Gaussian noise and rounds images back onto the grid.
    """

    name = "flow"
    log_prob_kind = "exact"
    log_prob_note = (
        "natural-log density in the data's own units; for images on a grid of `levels` levels, the density "
        "of the uniformly dequantised image at the cell centre (bits_per_dim() gives the discrete figure)"
    )
    default_budget = "3000steps+5m"

    def __init__(
        self,
        arch: str = "nsf",
        transforms: int | None = None,
        hidden: tuple[int, ...] | None = None,
        bins: int | None = None,
        passes: int | None = None,
        levels: int | None = None,
        alpha: float = 0.05,
        *,
        lr: float = 3e-3,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, **kwargs)
        self.arch = arch
        self.transforms = transforms
        self.hidden = hidden
        self.bins = bins
        self.passes = passes
        self.levels = levels
        self.alpha = alpha

    @property
    def latent_dim(self) -> int | None:
        return int(np.prod(self.shape_)) if self.is_fitted else None

    # ------------------------------------------------------------------ training hooks
    def sized(self, data: FitData, budget: Any, device: str) -> dict[str, Any]:
        if data.kind != "image":  # the toy-tuned vector sizes (also what models saved before sizing used)
            return {**VECTOR_SIZES, "batch_size": 256}
        from genlab.models.sizing import choose

        return choose("flow", data.shape, budget, device)

    def _check(self, data: FitData) -> None:
        super()._check(data)
        check_choice(self, "arch", ARCHS)
        check_int(self, "transforms", none=True)
        check_sizes(self, "hidden", none=True)
        check_int(self, "bins", minimum=2, none=True)
        check_int(self, "passes", none=True)
        check_int(self, "levels", minimum=2, none=True)
        check_float(self, "alpha", low=0.0, high=0.5, high_strict=True)

    def build(self, data: FitData, generator: torch.Generator) -> None:
        d, image = data.dim, data.kind == "image"
        if image and (data.train.min() < 0 or data.train.max() > 1):
            raise DataError(
                f"flow: images must have values in [0, 1] (got {data.train.min():g} to {data.train.max():g}); "
                "rescale them, or pass them flattened as vectors (N, D)"
            )
        if "levels" not in self.data_meta_:  # a fresh fit; a loaded model has it from its file
            self.data_meta_["levels"] = (self.levels or infer_levels(data.train)) if image else None
        self.levels_ = self.data_meta_["levels"]

        kwargs: dict[str, Any] = {
            "transforms": int(self.hp("transforms", VECTOR_SIZES["transforms"])),
            "hidden_features": tuple(int(h) for h in self.hp("hidden", VECTOR_SIZES["hidden"])),
        }
        if (
            self.arch != "realnvp"
        ):  # auto: fully autoregressive up to 64-d, coupling above (D-pass inverses are slow)
            kwargs["passes"] = self.passes if self.passes is not None else (None if d <= 64 else 2)
        if self.arch == "nsf":
            kwargs["bins"] = int(self.hp("bins", VECTOR_SIZES["bins"]))
        with seeded_init(generator):
            cond = self._cond_embedding(16)
            flow = ARCHS[self.arch](d, context=cond.dim if cond else 0, **kwargs)
        pre = Preprocess(d, image, self.levels_, float(self.alpha))

        # standardisation statistics of the (dequantised, logit) training data, from at most 20,000 rows
        # (a large image set is not converted whole for them)
        x = self._dequantise(torch.from_numpy(np.asarray(data.train[:STATS_ROWS])).flatten(1), generator)
        h, _ = pre.squash(x)
        pre.shift.copy_(h.mean(0))
        pre.scale.copy_(h.std(0).clamp_min(1e-6))
        self.net_ = FlowNet(pre, flow, cond)

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_}

    def _dequantise(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Spread each grid level uniformly over its cell of width 1 / (levels - 1)."""
        if not self.levels_:
            return x
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + (u - 0.5) / (self.levels_ - 1)

    def training_step(self, batch: Tensor, ctx: Any) -> dict[str, Tensor]:
        batch, c = self._unpack(batch)
        x = self._dequantise(batch.flatten(1), ctx.generator)
        loss = -self.net_(x, c).mean() / x.shape[1]  # nats per dimension
        ctx.optimize("main", loss)
        return {"nll": loss.detach()}

    def validation_loss(self, batch: Tensor, generator: torch.Generator | None = None) -> Tensor:
        batch, c = self._unpack(batch)
        x = batch.flatten(1)
        return -self.net_(x, c).mean() / x.shape[1]

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _batched(self, fn: Any, a: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).flatten(1)
        c = self._cond_tensor(cond)
        # the spline networks' outputs grow with D * bins per row: keep a chunk to ~2^16 input values, which
        # keeps those tensors in cache (decoding 1,024 Fashion-MNIST images on one core: 64-row chunks
        # 13.9 s, 128 rows 15.6 s, 1,337 rows (2^20 values) 19.7 s)
        chunk = max(16, min(8192, 2**16 // t.shape[1]))
        if c is None:
            return torch.cat([fn(t[i : i + chunk]) for i in range(0, len(t), chunk)]).numpy()
        return torch.cat([fn(t[i : i + chunk], c[i : i + chunk]) for i in range(0, len(t), chunk)]).numpy()

    def _log_prob(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        return self._batched(self.net_, x, cond)

    def _encode(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        return self._batched(self.net_.encode, x, cond)

    def _decode(self, z: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        return self._batched(self.net_.decode, z, cond)

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        z = torch.randn(n, int(np.prod(self.shape_)), generator=self.generator(seed))
        x = self._decode(z.numpy(), cond)
        if self.kind_ == "image":  # back onto the data's grid: rounding a dequantised sample is exact
            x = np.clip(x, 0.0, 1.0)
            if self.levels_:
                x = np.round(x * (self.levels_ - 1)) / (self.levels_ - 1)
        return x

    def bits_per_dim(self, x: Any, *, n_dequant: int = 4, seed: int = 0) -> np.ndarray:
        """Bits per dimension of each grid image, (n,): -(E_u log p(x + u) - D log(levels - 1)) / (D log 2).

        The expectation over the dequantisation noise u uses `n_dequant` draws; by Jensen this bounds the
        discrete image's bits per dimension from above, so it compares with the autoregressive family.
        """
        from genlab.models.base import check_array

        self._check_fitted("bits_per_dim")
        if not self.levels_:
            raise NotSupported("flow.bits_per_dim() needs images on a grid of levels (discrete data)")
        x = check_array(x, what="bits_per_dim input", shape=self.shape_)
        g = self.generator(seed)
        t = torch.from_numpy(x).flatten(1)
        d = t.shape[1]
        lp = np.mean([self._log_prob(self._dequantise(t, g).numpy()) for _ in range(n_dequant)], axis=0)
        return -(lp - d * math.log(self.levels_ - 1)) / (d * math.log(2))
