"""Tabular diffusion in the spirit of TabDDPM (Kotelnikov et al. 2023): one network, two noise processes.

- numeric columns: quantile-normalised (scikit-learn's `QuantileTransformer`, normal output, as
  TabDDPM does), then Gaussian diffusion with epsilon prediction (Ho et al. 2020);
- categorical columns (each one-hot block of an encoded table, and each missing-value indicator as a
  two-level category): multinomial diffusion (Hoogeboom et al. 2021), which moves a category towards
  the uniform distribution: q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K).

One MLP with a timestep embedding reads the noisy numbers and the noisy one-hots and predicts the
numeric noise and, per categorical column, logits of its clean category. The loss is the noise MSE
plus the mean cross-entropy of the clean categories (the x_0-parameterisation's auxiliary loss of
Austin et al. 2021's D3PM, used here alone instead of TabDDPM's KL terms: simpler, and the same
optimum). Sampling is ancestral over all T steps: the Gaussian DDPM posterior for numbers, and for
categories the posterior q(x_{t-1} | x_t, x_0) with the network's predicted x_0 distribution.
The noise schedule comes from diffusers (`samplers.py`), shared with the `diffusion` family.

A missing numeric cell is filled before the quantile transform with a value drawn from the column's
observed ones (its indicator keeps it missing on decoding), so the numeric marginals stay clean.
Plain numeric vectors are all numeric columns. No `log_prob`.

Defaults, measured on a 5,000-row subsample of diamonds (benchmarks/tabddpm_defaults.py; one seed, n =
1,000 judged rows, a shared 2-core machine): T = 200 steps instead of TabDDPM's 1,000 scores as well
(TSTR 0.628 against 0.590, pair trends 0.921 against 0.912, column shapes 0.940 against 0.944) and
samples 5.5 times faster (5.5 s against 30.6 s for 1,000 rows); T = 100 loses a little (TSTR 0.586).
Training: 2,000 steps of 256 rows score like 4,000 (TSTR 0.628 / 0.626) and better than 1,000 (0.613),
so the default budget is 2,000 steps (about 85 s there). The MLP is the `diffusion` family's vector
denoiser (256 wide, 3 residual blocks); lr 2e-3 and batches of 256 follow TabDDPM's smaller
configurations and were not tuned.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.base import FitData
from genlab.models.diffusion import MLPBlock, timestep_embedding
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_choice, check_int
from genlab.models.samplers import make_scheduler, schedule_config

__all__ = ["TabDDPM", "TabDenoiser"]


class TabDenoiser(nn.Module):
    """(B, Dn) noisy numbers, (B, sum K) noisy one-hots, (B,) timesteps -> (B, Dn) noise, (B, sum K) logits."""

    def __init__(self, n_num: int, n_cat: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.hidden, self.n_num = hidden, n_num
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(n_num + n_cat, hidden)
        self.blocks = nn.ModuleList(MLPBlock(hidden) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, n_num + n_cat))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time(timestep_embedding(t, self.hidden))  # (B, hidden)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h)  # (B, Dn + sum K): noise of the numbers, then each category's logits


class TabDDPM(NeuralModel):
    """Gaussian + multinomial diffusion for tables (see the module docstring).

    `hidden`, `depth`: the MLP. `timesteps` (T, also the sampling steps), `schedule` ("cosine" |
    "linear"). `n_quantiles`: the quantile transform of numeric columns.
    """

    name = "tabddpm"
    log_prob_kind = None
    conditions = ()  # not (yet) conditional: conditional=true is a NotSupported error at fit
    default_budget = "2000steps"

    def __init__(
        self,
        *,
        hidden: int = 256,
        depth: int = 3,
        timesteps: int = 200,
        schedule: str = "cosine",
        n_quantiles: int = 1000,
        lr: float = 2e-3,
        batch_size: int = 256,
        **training: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, **training)
        self.hidden = hidden
        self.depth = depth
        self.timesteps = timesteps
        self.schedule = schedule
        self.n_quantiles = n_quantiles

    # ------------------------------------------------------------------ layout
    def _layout(self, data: FitData) -> dict[str, Any]:
        """Which encoded columns are numbers, and each categorical column's (start, width, kind)."""
        num, cat = [], []
        for b in data.blocks():
            if b.kind == "numeric":
                num.append(b.start)
            else:
                cat.append([b.start, 2 if b.kind == "binary" else b.width, b.kind])
        return {"num": num, "cat": cat, "dim": data.dim}

    def _check(self, data: FitData) -> None:
        super()._check(data)
        check_int(self, "hidden")
        check_int(self, "depth")
        check_int(self, "n_quantiles", minimum=10)
        check_choice(self, "schedule", ("cosine", "linear"))
        schedule_config(self.timesteps, self.schedule, "eps", clip=1.0)  # checks timesteps

    # ------------------------------------------------------------------ fit: transform, then the engine
    def _fit(self, data: FitData, *, budget: Any, seed: int, **options: Any) -> None:
        from sklearn.preprocessing import QuantileTransformer

        layout = self._layout(data)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
        train = data.train.reshape(len(data.train), -1).astype(np.float64)
        self.qt_ = None
        if layout["num"]:
            nums = self._fill_missing(train, layout, data, rng)
            self.qt_ = QuantileTransformer(
                n_quantiles=min(int(self.n_quantiles), len(train)), output_distribution="normal",
                subsample=None, random_state=seed,
            ).fit(nums)  # fmt: skip
        prepared = FitData(
            self._to_model(train, layout, data, rng),
            None if data.test is None else self._to_model(data.test.reshape(len(data.test), -1), layout, data, rng),
            data.shape, data.kind, data.labels, data.dataset, data.table,
        )  # fmt: skip
        self.layout_ = layout
        super()._fit(prepared, budget=budget, seed=seed, **options)

    @staticmethod
    def _fill_missing(
        x: np.ndarray, layout: dict[str, Any], data: FitData, rng: np.random.Generator
    ) -> np.ndarray:
        """The numeric columns (N, Dn), a missing cell replaced by a random observed value of its column."""
        nums = x[:, layout["num"]].copy()
        indicator = {b.name.removesuffix("=NA"): b.start for b in data.blocks() if b.kind == "binary"}
        names = {b.start: b.name for b in data.blocks() if b.kind == "numeric"}
        for j, col in enumerate(layout["num"]):
            ind = indicator.get(names[col])
            if ind is not None:
                miss = x[:, ind] > 0.5
                if miss.any() and (~miss).any():
                    nums[miss, j] = rng.choice(nums[~miss, j], size=int(miss.sum()))
        return nums

    def _to_model(
        self, x: np.ndarray, layout: dict[str, Any], data: FitData, rng: np.random.Generator
    ) -> np.ndarray:
        """Encoded rows -> what the network diffuses: (N, Dn) normal scores, then (N, sum K) one-hots."""
        x = x.astype(np.float64)
        parts = []
        if layout["num"]:
            parts.append(self.qt_.transform(self._fill_missing(x, layout, data, rng)))
        for start, k, kind in layout["cat"]:
            if kind == "binary":
                on = (x[:, start] > 0.5).astype(np.float64)
                parts.append(np.stack([1 - on, on], 1))
            else:
                parts.append(np.eye(k)[x[:, start : start + k].argmax(1)])
        return np.concatenate(parts, 1).astype(np.float32)

    # ------------------------------------------------------------------ engine hooks
    def build(self, data: FitData, generator: torch.Generator) -> None:
        layout = getattr(self, "layout_", None) or self.data_meta_["layout"]  # from a saved model's JSON
        layout = {"num": [int(j) for j in layout["num"]], "cat": [[int(s), int(k), str(kind)] for s, k, kind in layout["cat"]],
                  "dim": int(layout["dim"])}  # fmt: skip
        self.data_meta_["layout"] = layout
        self.layout_ = layout
        n_num, n_cat = len(layout["num"]), sum(k for _, k, _ in layout["cat"])
        self.schedule_ = schedule_config(self.timesteps, self.schedule, "eps", clip=1.0)
        self._set_alphas()
        with seeded_init(generator, high=2**31 - 1):
            self.net_ = TabDenoiser(n_num, n_cat, self.hidden, self.depth)

    def _set_alphas(self) -> None:
        abar = make_scheduler("ddpm", self.schedule_).alphas_cumprod.to(torch.float64)  # (T,)
        self.abar_ = abar.float()
        self.abar_prev_ = torch.cat([abar.new_ones(1), abar[:-1]]).float()

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_}

    def _split(self, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        n_num = len(self.layout_["num"])
        sizes = [k for _, k, _ in self.layout_["cat"]]
        return y[:, :n_num], list(torch.split(y[:, n_num:], sizes, dim=1)) if sizes else []

    def _loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        num0, cats0 = self._split(batch)
        B, T = len(batch), self.schedule_["num_train_timesteps"]
        t = torch.randint(0, T, (B,), generator=generator, device=batch.device)
        a = self.abar_.to(batch.device)[t][:, None]  # (B, 1)
        eps = torch.randn(num0.shape, generator=generator, device=batch.device)
        noisy = [a.sqrt() * num0 + (1 - a).sqrt() * eps]
        for x0 in cats0:  # q(x_t | x_0) = Cat(abar x_0 + (1 - abar) / K), drawn by inverse CDF
            probs = a * x0 + (1 - a) / x0.shape[1]
            noisy.append(_draw(probs, generator))
        out_num, logits = self._split(self.net_(torch.cat(noisy, 1), t))
        loss = F.mse_loss(out_num, eps) if num0.shape[1] else batch.new_zeros(())
        if cats0:
            ce = [F.cross_entropy(lg, x0.argmax(1)) for lg, x0 in zip(logits, cats0, strict=True)]
            loss = loss + torch.stack(ce).mean()
        return loss

    def training_step(self, batch: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        loss = self._loss(batch, ctx.generator)
        ctx.optimize("main", loss)
        return {"loss": loss.detach()}

    def validation_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            return self._loss(batch, generator)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def _sample(self, n: int, seed: int) -> np.ndarray:
        gen = self.generator(seed)
        n_num = len(self.layout_["num"])
        sizes = [k for _, k, _ in self.layout_["cat"]]
        out = [self._chain(min(4096, n - s), n_num, sizes, gen) for s in range(0, n, 4096)]
        return self._to_encoded(torch.cat(out).numpy())

    def _chain(self, m: int, n_num: int, sizes: list[int], gen: torch.Generator) -> torch.Tensor:
        abar, abar_prev = self.abar_.double(), self.abar_prev_.double()
        alpha = abar / abar_prev
        z = torch.randn((m, n_num), generator=gen)
        cats = [_draw(torch.full((m, k), 1.0 / k), gen) for k in sizes]  # x_T: uniform categories
        for t in range(len(abar) - 1, -1, -1):
            tt = torch.full((m,), t, dtype=torch.long)
            eps, logits = self._split(self.net_(torch.cat([z, *cats], 1), tt))
            a, ap, al = float(abar[t]), float(abar_prev[t]), float(alpha[t])
            # Gaussian posterior mean from the predicted noise, variance beta~_t (DDPM's "fixed small")
            x0 = ((z - math.sqrt(1 - a) * eps) / math.sqrt(a)).clamp(-6.0, 6.0)  # normal scores stay in range
            mean = (math.sqrt(ap) * (1 - al) * x0 + math.sqrt(al) * (1 - ap) * z) / (1 - a)
            var = (1 - ap) / (1 - a) * (1 - al)
            z = mean + (math.sqrt(var) * torch.randn(z.shape, generator=gen) if t > 0 else 0.0)
            z = z.float()
            new = []
            for xt, lg in zip(cats, logits, strict=True):
                k = xt.shape[1]
                p0 = torch.softmax(lg.double(), 1)
                post = (al * xt + (1 - al) / k) * (ap * p0 + (1 - ap) / k)  # q(x_{t-1} | x_t, x_0 ~ p0)
                new.append(_draw(post / post.sum(1, keepdim=True), gen).float())
            cats = new
        return torch.cat([z, *cats], 1).float()

    def _to_encoded(self, y: np.ndarray) -> np.ndarray:
        """The network's space -> encoded table rows (inverse quantile transform, categories in place)."""
        out = np.zeros((len(y), self.layout_["dim"]))
        n_num = len(self.layout_["num"])
        if n_num:
            out[:, self.layout_["num"]] = self.qt_.inverse_transform(y[:, :n_num].astype(np.float64))
        pos = n_num
        for start, k, kind in self.layout_["cat"]:
            code = y[:, pos : pos + k].argmax(1)
            if kind == "binary":
                out[:, start] = code
            else:
                out[np.arange(len(y)), start + code] = 1.0
            pos += k
        return out

    # ------------------------------------------------------------------ state
    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = (
            {} if self.qt_ is None else {"quantiles": self.qt_.quantiles_, "references": self.qt_.references_}
        )
        return arrays, {"schedule": self.schedule_}

    def _set_extra_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from sklearn.preprocessing import QuantileTransformer

        self.schedule_ = dict(meta["schedule"])
        self._set_alphas()
        self.qt_ = None
        if "quantiles" in arrays:  # the fitted transform, rebuilt from its two arrays (no pickle)
            q = arrays["quantiles"].astype(np.float64)
            self.qt_ = QuantileTransformer(n_quantiles=len(q), output_distribution="normal")
            self.qt_.quantiles_, self.qt_.references_ = q, arrays["references"].astype(np.float64)
            self.qt_.n_quantiles_, self.qt_.n_features_in_ = len(q), q.shape[1]
            if q.shape[1] != len(self.layout_["num"]):
                raise ValueError("quantile transform does not match the numeric columns")


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One-hot draws (B, K) from row-wise category probabilities, by the inverse CDF of a uniform."""
    u = torch.rand((len(probs), 1), generator=generator, device=probs.device, dtype=probs.dtype)
    code = (probs.cumsum(1) < u * probs.sum(1, keepdim=True)).sum(1).clamp_max(probs.shape[1] - 1)
    return F.one_hot(code, probs.shape[1]).to(probs.dtype)
