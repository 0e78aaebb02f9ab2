"""Denoising diffusion (Ho et al. 2020): a network learns to predict the noise (or v) added to data.

The denoiser is a small U-Net for images (time embedding, GroupNorm residual blocks, self-attention
only at the lowest resolution) and a residual MLP with a time embedding for vectors. It works in a
standardised space (vectors: per-feature mean/std; images: [0, 1] -> [-1, 1]) held in buffers.
Sampling is done by diffusers schedulers (see `samplers.py`), chosen at sampling time:
`model.set_params(sampler="ddim", steps=50)` or `model.sample(n, sampler="ddim", steps=50)`.
`encode` is deterministic DDIM inversion and `decode` runs DDIM back, so latents are noise-shaped
points of the data's own dimension. `log_prob` of vectors is the variational lower bound of the
discrete-time chain (Ho et al. eq. 5), in data units.

Conditional (`conditional=true`): the condition's embedding is added to the time embedding; training
drops it with probability `label_dropout` (the null class, stored as index K), so one network is both
conditional and unconditional, and sampling uses classifier-free guidance (Ho & Salimans 2022):
out = out_null + guidance * (out_cond - out_null); guidance 1 is the plain conditional model, 0 the
unconditional one, larger trades diversity for class fidelity. `encode`/`decode`/`log_prob` use the
plain conditional network (guidance 1).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import DataError, GenlabError, NotSupported
from genlab.models.base import FitData, GenerativeModel
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_choice, check_float, check_int, check_sizes
from genlab.models.samplers import SAMPLERS, ddim_invert, make_scheduler, run_sampler, schedule_config

__all__ = ["Diffusion", "MLPDenoiser", "UNet", "timestep_embedding"]


# ----------------------------------------------------------------------------- blocks
def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (B,) -> (B, dim), as in the Transformer/DDPM."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim - 2 * half))  # odd dim: one zero column


class MLPBlock(nn.Module):
    """Pre-norm residual block; the time embedding is added to the hidden layer."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.temb = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.silu(self.fc1(F.silu(self.norm(h))) + self.temb(temb)))


class MLPDenoiser(nn.Module):
    """(B, D) noisy vectors and (B,) timesteps -> (B, D) prediction."""

    def __init__(self, dim: int, hidden: int, depth: int, cond: nn.Module | None = None) -> None:
        super().__init__()
        self.hidden = hidden
        self.cond = cond  # conditional: its embedding (width hidden) is added to the time embedding
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        # sin/cos features of x at 1, 2, 4, 8 rad per standard deviation: plain MLPs learn smooth
        # functions first, which blurs sharp modes; these let the denoiser resolve them (x3 fewer misses
        # off the modes of 8gaussians after the same training)
        self.register_buffer("freqs", 2.0 ** torch.arange(4.0), persistent=False)  # (F,)
        self.inp = nn.Linear(dim * (1 + 2 * len(self.freqs)), hidden)
        self.blocks = nn.ModuleList(MLPBlock(hidden) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        c: torch.Tensor | None = None,
        null: torch.Tensor | None = None,
    ) -> torch.Tensor:
        temb = self.time(timestep_embedding(t, self.hidden))  # (B, hidden)
        if self.cond is not None:
            temb = temb + self.cond(c, null)
        ang = (x[:, :, None] * self.freqs).flatten(1)  # (B, D*F)
        h = self.inp(torch.cat([x, torch.sin(ang), torch.cos(ang)], dim=1))  # (B, hidden)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h)


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if ch % 8 == 0 else 1, ch)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, time embedding added in between, 1x1 skip when widths differ."""

    def __init__(self, cin: int, cout: int, tdim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, H, W)
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Single-head self-attention over pixels; used only at the lowest resolution, where it is cheap."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.norm = _norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        qkv = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).transpose(-1, -2)  # (B, 3, HW, C)
        h = F.scaled_dot_product_attention(qkv[:, 0], qkv[:, 1], qkv[:, 2])  # (B, HW, C)
        return x + self.proj(h.transpose(1, 2).reshape(B, C, H, W))


class UNet(nn.Module):
    """(B, C, H, W) noisy images and (B,) timesteps -> (B, C, H, W) prediction.

    One residual block per level on the way down (stride-2 conv between levels), a middle of
    block-attention-block, and one block per level on the way up on [h, skip]. Upsampling goes to the
    skip's size, so odd image sizes work.
    """

    def __init__(
        self, in_ch: int, channels: int, channel_mult: tuple[int, ...], cond: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.channels = channels
        tdim = 4 * channels
        self.time = nn.Sequential(nn.Linear(channels, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.cond = cond  # conditional: its embedding (width 4 * channels) is added to the time embedding
        self.conv_in = nn.Conv2d(in_ch, channels, 3, padding=1)
        widths = [channels * m for m in channel_mult]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c = channels
        for i, w in enumerate(widths):
            self.down.append(ResBlock(c, w, tdim))
            c = w
            last = i == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid1, self.attn, self.mid2 = ResBlock(c, c, tdim), SelfAttention(c), ResBlock(c, c, tdim)
        self.up, self.upconv = nn.ModuleList(), nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            self.up.append(ResBlock(c + w, w, tdim))
            c = w
            self.upconv.append(nn.Conv2d(c, c, 3, padding=1) if i > 0 else nn.Identity())
        self.norm_out, self.conv_out = _norm(c), nn.Conv2d(c, in_ch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # start as "predict zero": a stable beginning
        nn.init.zeros_(self.conv_out.bias)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        c: torch.Tensor | None = None,
        null: torch.Tensor | None = None,
    ) -> torch.Tensor:
        temb = self.time(timestep_embedding(t, self.channels))  # (B, 4*channels)
        if self.cond is not None:
            temb = temb + self.cond(c, null)
        h = self.conv_in(x)
        skips = []
        for block, down in zip(self.down, self.downsample, strict=True):
            h = block(h, temb)
            skips.append(h)
            h = down(h)
        h = self.mid2(self.attn(self.mid1(h, temb)), temb)  # lowest resolution
        for block, conv in zip(self.up, self.upconv, strict=True):
            h = block(torch.cat([h, skips.pop()], dim=1), temb)
            if skips:
                h = conv(F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class Denoiser(nn.Module):
    """A backbone plus the standardisation of the data (buffers, so they are saved with the weights)."""

    def __init__(self, backbone: nn.Module, shift: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("shift", shift)  # (1, *shape): z = (x - shift) / scale
        self.register_buffer("scale", scale)

    def forward(
        self,
        z_t: torch.Tensor,
        t: torch.Tensor,
        c: torch.Tensor | None = None,
        null: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if c is None:
            return self.backbone(z_t, t)
        return self.backbone(z_t, t, c, null)


# ----------------------------------------------------------------------------- model
class Diffusion(NeuralModel):
    """Denoising diffusion with DDPM/DDIM/DPM-Solver++ samplers chosen at sampling time.

    Network: `hidden`, `depth` (vector MLP); `channels`, `channel_mult` (image U-Net; None: sized for
    the budget and device by `genlab.models.sizing`).
    Training: `timesteps` (T), `schedule` ("linear" | "cosine"), `prediction` ("eps" | "v").
    Sampling (settable after fit): `sampler` ("ddpm" | "ddim" | "dpmsolver"), `steps`;
    `inversion_steps` (DDIM steps of encode/decode) and `inversion_refine` (fixed-point iterations
    per inversion step, which make decode(encode(x)) close to exact). EMA is on by default.
    Conditional: `guidance` (classifier-free guidance scale at sampling, settable after fit or per
    call: `sample(n, labels=7, guidance=3.0)`), `label_dropout` (share of training rows whose condition
    is replaced by the null one).
    """

    name = "diffusion"
    log_prob_kind = "lower_bound"
    log_prob_note = "variational lower bound (ELBO) on the natural-log density, vectors only"

    def __init__(
        self,
        *,
        hidden: int = 256,
        depth: int = 3,
        channels: int | None = None,
        channel_mult: tuple[int, ...] | None = None,
        timesteps: int = 1000,
        schedule: str = "linear",
        prediction: str = "eps",
        sampler: str = "dpmsolver",
        steps: int = 20,
        inversion_steps: int = 50,
        inversion_refine: int = 2,
        guidance: float = 2.0,
        label_dropout: float = 0.1,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.guidance = guidance
        self.label_dropout = label_dropout
        self.hidden = hidden
        self.depth = depth
        self.channels = channels
        self.channel_mult = channel_mult
        self.timesteps = timesteps
        self.schedule = schedule
        self.prediction = prediction
        self.sampler = sampler
        self.steps = steps
        self.inversion_steps = inversion_steps
        self.inversion_refine = inversion_refine

    # ------------------------------------------------------------------ engine hooks
    def _check(self, data: FitData) -> None:
        super()._check(data)
        if data.kind == "image" and len(data.shape) != 3:
            raise DataError(f"diffusion: images must have shape (C, H, W), got {data.shape}")
        check_int(self, "hidden")
        check_int(self, "depth")
        check_int(self, "channels", none=True)
        check_sizes(self, "channel_mult", none=True)
        schedule_config(self.timesteps, self.schedule, self.prediction, clip=1.0)  # checks all three
        check_choice(self, "sampler", SAMPLERS)
        check_int(self, "steps", maximum=int(self.timesteps))
        check_int(self, "inversion_steps", maximum=int(self.timesteps))
        check_int(self, "inversion_refine", minimum=0)
        check_float(self, "guidance", low=0.0)
        check_float(self, "label_dropout", low=0.0, high=1.0, high_strict=True)

    def sized(self, data: FitData, budget: Any, device: str) -> dict[str, Any]:
        if data.kind != "image":
            return {"batch_size": 128}
        from genlab.models.sizing import choose

        return choose("diffusion", data.shape, budget, device)

    def build(self, data: FitData, generator: torch.Generator) -> None:
        if data.kind == "image":  # map [lo, hi] (at least [0, 1]) to [-1, 1]
            lo, hi = min(0.0, float(data.train.min())), max(1.0, float(data.train.max()))
            shift = torch.full((1, *data.shape), (lo + hi) / 2)
            scale = torch.full((1, *data.shape), (hi - lo) / 2)
            clip = 1.0
        else:
            x = torch.from_numpy(data.train)
            shift = x.mean(0, keepdim=True)
            std = x.std(0, keepdim=True)
            scale = torch.where(std > 1e-8, std, torch.ones_like(std))
            clip = max(2.0, 1.5 * float(((x - shift) / scale).abs().max()))  # far outside the data
        # fix the schedule once, at fit time: sampling uses this, whatever set_params does later
        self.schedule_ = schedule_config(self.timesteps, self.schedule, self.prediction, clip=clip)
        with seeded_init(generator, high=2**31 - 1):
            if data.kind == "image":
                channels = int(self.hp("channels", 32))
                mult = tuple(int(m) for m in self.hp("channel_mult", (1, 2, 2)))
                cond = self._cond_embedding(4 * channels)
                backbone: nn.Module = UNet(data.shape[0], channels, mult, cond)
            else:
                cond = self._cond_embedding(int(self.hidden))
                backbone = MLPDenoiser(data.dim, self.hidden, self.depth, cond)
        self.net_ = Denoiser(backbone, shift.float(), scale.float())
        self._set_alphas()

    def _set_alphas(self) -> None:
        # the cumulative products come from diffusers, so training and every sampler share one schedule
        sched = make_scheduler("ddpm", self.schedule_)
        self.alphas_cumprod_ = sched.alphas_cumprod.to(torch.float64)  # (T,)

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_}

    def training_step(self, batch: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        loss = self._loss(batch, ctx.generator)
        ctx.optimize("main", loss)
        return {"loss": loss.detach()}

    def validation_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        with torch.no_grad():  # the engine's fixed draw of (t, noise): comparable between validations
            return self._loss(batch, generator)

    def _loss(self, batch: Any, generator: torch.Generator) -> torch.Tensor:
        x, c = self._unpack(batch)
        z0 = (x - self.net_.shift) / self.net_.scale  # (B, *shape)
        T = self.schedule_["num_train_timesteps"]
        t = torch.randint(0, T, (len(z0),), generator=generator, device=z0.device)
        eps = torch.randn(z0.shape, generator=generator, device=z0.device)
        null = None
        if c is not None:  # label dropout: these rows train the unconditional (null-class) model
            null = torch.rand(len(z0), generator=generator, device=z0.device) < float(self.label_dropout)
        a = self._alpha_bar(t, z0)
        z_t = a.sqrt() * z0 + (1 - a).sqrt() * eps
        target = (
            eps if self.schedule_["prediction_type"] == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * z0
        )
        return F.mse_loss(self.net_(z_t, t, c, null), target)

    def _alpha_bar(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        a = self.alphas_cumprod_.to(like.device)[t].to(like.dtype)  # (B,)
        return a.view(-1, *[1] * (like.dim() - 1))

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"schedule": self.schedule_}

    def _set_extra_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.schedule_ = dict(meta["schedule"])
        self._set_alphas()

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Any = None,
        factors: Any = None,
        return_labels: bool = False,
        sampler: str | None = None,
        steps: int | None = None,
        guidance: float | None = None,
    ) -> Any:
        """Draw `n` observations; `sampler`, `steps` and `guidance` (conditional models) override the
        model's settings for this call. `labels`/`factors`/`return_labels`: see `GenerativeModel.sample`."""
        cond = {"labels": labels, "factors": factors, "return_labels": return_labels}
        if sampler is None and steps is None and guidance is None:
            return super().sample(n, seed=seed, **cond)
        other = copy.copy(self)  # shares the networks; only the sampling settings differ
        other.set_params(
            sampler=self.sampler if sampler is None else sampler,
            steps=self.steps if steps is None else steps,
            guidance=self.guidance if guidance is None else guidance,
        )
        if guidance is not None:
            check_float(other, "guidance", low=0.0)
        return GenerativeModel.sample(other, n, seed=seed, **cond)

    def _denoise(self, z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net_(z_t, t)

    def _guided(self, c: torch.Tensor | None, w: float) -> Any:
        """The denoiser for a batch with conditions `c`: classifier-free guidance with scale w."""
        if c is None:
            return self._denoise
        if w == 1.0:
            return lambda z_t, t: self.net_(z_t, t, c)
        null = torch.cat([torch.zeros(len(c), dtype=torch.bool), torch.ones(len(c), dtype=torch.bool)])
        cc = torch.cat([c, c])

        def guided(z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out_c, out_u = self.net_(torch.cat([z_t, z_t]), torch.cat([t, t]), cc, null).chunk(2)
            return out_u + w * (out_c - out_u)

        return guided

    def _to_data(self, z: torch.Tensor) -> np.ndarray:
        x = z * self.net_.scale + self.net_.shift
        if self.kind_ == "image":  # back into the pixel range the data came from
            x = torch.minimum(
                torch.maximum(x, self.net_.shift - self.net_.scale), self.net_.shift + self.net_.scale
            )
        return x.numpy()

    def _to_z(self, x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(x) - self.net_.shift) / self.net_.scale

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        if self.sampler not in SAMPLERS:
            raise GenlabError(
                f"diffusion: unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}"
            )
        gen, c = self.generator(seed), self._cond_tensor(cond)
        out = []
        for start in range(0, n, 1024):  # chunks bound memory; the generator runs on across chunks
            x_T = torch.randn((min(1024, n - start), *self.shape_), generator=gen)
            denoise = self._guided(None if c is None else c[start : start + 1024], float(self.guidance))
            out.append(run_sampler(denoise, self.sampler, self.schedule_, self.steps, x_T, gen))
        return self._to_data(torch.cat(out))

    # ------------------------------------------------------------------ latents: DDIM inversion
    @property
    def latent_dim(self) -> int | None:
        return int(np.prod(self.shape_)) if self.is_fitted else None

    def _encode(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        z_0 = self._to_z(x)
        denoise = self._guided(self._cond_tensor(cond), 1.0)
        z_T = ddim_invert(denoise, self.schedule_, self.inversion_steps, z_0, refine=self.inversion_refine)
        return z_T.reshape(len(x), -1).numpy()

    def _decode(self, z: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        z_T = torch.from_numpy(z).reshape(len(z), *self.shape_)
        denoise = self._guided(self._cond_tensor(cond), 1.0)
        z_0 = run_sampler(denoise, "ddim", self.schedule_, self.inversion_steps, z_T, clip=False)
        return self._to_data(z_0)

    # ------------------------------------------------------------------ likelihood bound
    @torch.no_grad()
    def _log_prob(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        """ELBO of the T-step chain: prior KL + sum of Gaussian KLs (fixed variance beta~_t) + decoder term.

        The decoder p(x_0 | x_1) is N(mu_theta(x_1, 1), beta_1 I). Each KL uses one noise draw from a
        fixed-seed generator (so the bound is deterministic); the standardisation's Jacobian is subtracted.
        """
        if self.kind_ == "image":
            raise NotSupported(
                "diffusion: log_prob (a variational bound) is computed for vector data only; for images use "
                "sample-based metrics, or a family with an image likelihood (flow, autoregressive, vae)"
            )
        a = self.alphas_cumprod_  # (T,) float64
        T = len(a)
        a_prev = torch.cat([a.new_ones(1), a[:-1]])
        beta = 1 - a / a_prev  # (T,)
        # weight of ||eps - eps_theta||^2 in each term: beta_t / (2 alpha_t (1 - abar_{t-1})); t = 0 is the decoder
        weight = beta / (2 * (1 - beta) * (1 - a_prev).clamp_min(1e-300))
        weight[0] = 1 / (2 * (1 - beta[0]))
        z0 = self._to_z(x).double()  # (n, D)
        n, D = z0.shape
        gen = self.generator(0)
        aT = a[-1]
        bound = -0.5 * ((1 - aT) + aT * z0**2 - 1 - torch.log1p(-aT)).sum(1)  # prior KL, (n,)
        bound -= 0.5 * D * math.log(2 * math.pi * float(beta[0]))  # decoder normaliser
        chunk = max(1, 32768 // T)
        t = torch.arange(T)
        c_all = self._cond_tensor(cond)
        for s in range(0, n, chunk):
            z = z0[s : s + chunk]  # (m, D)
            m = len(z)
            eps = torch.randn((m, T, D), generator=gen, dtype=torch.float64)
            at = a[None, :, None]
            z_t = at.sqrt() * z[:, None] + (1 - at).sqrt() * eps  # (m, T, D)
            c = None if c_all is None else c_all[s : s + m].repeat_interleave(T, 0)  # row i*T + j: row i
            out = self.net_(z_t.reshape(m * T, D).float(), t.repeat(m), c).double().reshape(m, T, D)
            if self.schedule_["prediction_type"] == "v_prediction":
                out = at.sqrt() * out + (1 - at).sqrt() * z_t  # v -> eps
            bound[s : s + m] -= (weight[None] * ((eps - out) ** 2).sum(-1)).sum(1)
        return (bound - torch.log(self.net_.scale.double()).sum()).numpy()
