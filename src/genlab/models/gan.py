"""Generative adversarial network (Goodfellow et al. 2014): MLPs for vectors, DCGAN-style convolutional
networks for images (Radford et al. 2016).

    z ~ N(0, I) --generator--> x_fake        x_real, x_fake --discriminator--> score

Losses (`loss`): "nonsaturating" (the original GAN with the non-saturating generator loss, default),
"hinge" (Miyato et al. 2018) and "wgan-gp" (Gulrajani et al. 2017, gradient penalty weight
`gp_weight`). Each training step updates the discriminator `n_critic` times on the batch (fresh noise
each time; default 5 for wgan-gp, else 1), then the generator once. `spectral_norm` puts spectral
normalisation on the discriminator's layers. The engine keeps an EMA of the weights, and sampling uses
the EMA generator, which is smoother than the last iterate.

Defaults depend on the data's kind (hyperparameters left at None are filled at fit time):
- vectors: lr 1e-3, Adam betas (0.5, 0.9), batch 128, MLPs of `hidden`. Measured here (seed 0): on
  `8gaussians` (3000 steps) lr 2e-4 collapsed onto one mode (5% of samples within 3 sd of a mode) while
  1e-3 covered all 8 (96%).
- images: the DCGAN recipe (Radford et al. 2016): BatchNorm in the generator, lr 2e-4, betas (0.5, 0.999),
  with the widths `channels` and the batch chosen for the budget and device by `genlab.models.sizing`
  (the GPU-sized (64, 128, 256, 256) of earlier versions took 1.8 s a step on 2 CPU cores; see
  docs/images.md for the measurement).

A GAN has no encoder and no density: `decode` is the generator, `encode` and `log_prob` raise
`NotSupported`. Vector data is standardised inside the networks (buffers); images are in [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.errors import GenlabError
from genlab.models.base import FitData
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_bool, check_choice, check_float, check_int, check_sizes
from genlab.models.vae import conv_levels
from genlab.train import TrainConfig

__all__ = ["GAN", "MLPGenerator", "MLPDiscriminator", "ConvGenerator", "ConvDiscriminator"]

LOSSES = ("nonsaturating", "hinge", "wgan-gp")


# ----------------------------------------------------------------------------- blocks
def _sn(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


class MLPGenerator(nn.Module):
    """(n, latent) -> (n, D) in the data's own units."""

    def __init__(self, latent: int, hidden: tuple[int, ...], dim: int, cond: nn.Module | None = None) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.cond = cond  # conditional: the condition's embedding is concatenated to z
        sizes = [latent + (cond.dim if cond else 0), *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], dim))

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        if self.cond is not None:
            z = torch.cat([z, self.cond(c)], 1)
        return self.net(z) * self.scale + self.shift


class MLPDiscriminator(nn.Module):
    """(n, D) data -> (n,) scores; standardises its input with the training statistics."""

    def __init__(self, dim: int, hidden: tuple[int, ...], sn: bool, cond: nn.Module | None = None) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.cond = cond  # conditional: projection discriminator (Miyato & Koyama 2018), width hidden[-1]
        sizes = [dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [_sn(nn.Linear(a, b), sn), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, _sn(nn.Linear(sizes[-1], 1), sn))

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        return _project(self.net, (x - self.shift) / self.scale, self.cond, c)


class ConvGenerator(nn.Module):
    """(n, latent) -> (n, C, H, W) in [0, 1]: a dense layer to a small map, then stride-2 up-convolutions."""

    def __init__(
        self,
        latent: int,
        channels: tuple[int, ...],
        shape: tuple[int, ...],
        cond: nn.Module | None = None,
        batchnorm: bool = False,
    ) -> None:
        super().__init__()
        c, h, w = shape
        n = conv_levels(h, w, len(channels) - 1)
        self.start = (channels[n], h >> n, w >> n)
        self.cond = cond  # conditional: the condition's embedding is concatenated to z
        self.head = nn.Linear(latent + (cond.dim if cond else 0), channels[n] * (h >> n) * (w >> n))

        def norm(ch: int) -> list[nn.Module]:  # DCGAN: BatchNorm after every generator layer but the last
            return [nn.BatchNorm2d(ch)] if batchnorm else []

        layers: list[nn.Module] = [*norm(channels[n]), nn.LeakyReLU(0.2)]
        for i in reversed(range(n)):
            layers += [
                nn.ConvTranspose2d(channels[i + 1], channels[i], 4, stride=2, padding=1),
                *norm(channels[i]),
                nn.LeakyReLU(0.2),
            ]
        layers += [nn.Conv2d(channels[0], c, 3, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        if self.cond is not None:
            z = torch.cat([z, self.cond(c)], 1)
        return self.net(self.head(z).view(len(z), *self.start))


class ConvDiscriminator(nn.Module):
    """(n, C, H, W) images -> (n,) scores: stride-2 convolutions, then a dense layer."""

    def __init__(
        self, shape: tuple[int, ...], channels: tuple[int, ...], sn: bool, cond: nn.Module | None = None
    ) -> None:
        super().__init__()
        c, h, w = shape
        self.cond = cond  # conditional: projection discriminator, on the flattened features
        n = conv_levels(h, w, len(channels) - 1)
        layers: list[nn.Module] = [_sn(nn.Conv2d(c, channels[0], 3, padding=1), sn), nn.LeakyReLU(0.2)]
        for i in range(n):
            layers += [
                _sn(nn.Conv2d(channels[i], channels[i + 1], 4, stride=2, padding=1), sn),
                nn.LeakyReLU(0.2),
            ]
        self.net = nn.Sequential(
            *layers, nn.Flatten(), _sn(nn.Linear(channels[n] * (h >> n) * (w >> n), 1), sn)
        )

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        return _project(self.net, x * 2.0 - 1.0, self.cond, c)


def _project(net: nn.Sequential, x: Tensor, cond: nn.Module | None, c: Tensor | None) -> Tensor:
    """Scores (n,): net's last (linear) layer on its features phi(x), plus <embed(c), phi(x)> when
    conditional (the projection discriminator)."""
    if cond is None:
        return net(x)[:, 0]
    phi = net[:-1](x)  # (n, F)
    return net[-1](phi)[:, 0] + (cond(c) * phi).sum(1)


# ----------------------------------------------------------------------------- model
class GAN(NeuralModel):
    """GAN; networks chosen from the data's kind (MLP for vectors, DCGAN-style conv for images).

    latent_dim: size of z. hidden: MLP widths (vectors). channels: conv widths per resolution level
    (images; None: sized for the budget). loss: "nonsaturating", "hinge" or "wgan-gp". n_critic:
    discriminator updates per step (None: 5 for wgan-gp, else 1). spectral_norm: on the discriminator.
    gp_weight: wgan-gp penalty. betas: Adam's (beta1, beta2) (None: (0.5, 0.9) for vectors, DCGAN's
    (0.5, 0.999) for images). lr, batch_size: None picks per kind (module docstring).
    """

    name = "gan"
    log_prob_kind = None
    default_budget = "60s"

    def __init__(
        self,
        latent_dim: int = 32,
        hidden: tuple[int, ...] = (256, 256),
        channels: tuple[int, ...] | None = None,
        loss: str = "nonsaturating",
        n_critic: int | None = None,
        spectral_norm: bool = False,
        gp_weight: float = 10.0,
        betas: tuple[float, float] | None = None,
        *,
        lr: float | None = None,
        batch_size: int | None = None,
        warmup_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, warmup_steps=warmup_steps, **kwargs)
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.channels = channels
        self.loss = loss
        self.n_critic = n_critic
        self.spectral_norm = spectral_norm
        self.gp_weight = gp_weight
        self.betas = betas

    # a hyperparameter here, shadowing `GenerativeModel.latent_dim` (a read-only property)
    latent_dim: int = 32  # type: ignore[assignment]

    # ------------------------------------------------------------------ training hooks
    def _check(self, data: FitData) -> None:
        super()._check(data)
        check_int(self, "latent_dim")
        check_choice(self, "loss", LOSSES)
        check_int(self, "n_critic", none=True)
        check_sizes(self, "hidden")
        check_sizes(self, "channels", none=True)
        check_bool(self, "spectral_norm")
        check_float(self, "gp_weight", low=0.0)
        betas = self.betas
        if betas is not None and not (
            isinstance(betas, tuple | list)
            and len(betas) == 2
            and all(isinstance(b, int | float) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)
        ):
            raise GenlabError(f"gan: betas must be two numbers in [0, 1), got {betas!r}")

    def sized(self, data: FitData, budget: Any, device: str) -> dict[str, Any]:
        if data.kind != "image":  # the toy-tuned vector settings
            return {"lr": 1e-3, "betas": (0.5, 0.9), "batch_size": 128}
        from genlab.models.sizing import choose

        return {
            "lr": 2e-4,
            "betas": (0.5, 0.999),
            "batchnorm": True,
            **choose("gan", data.shape, budget, device),
        }

    def build(self, data: FitData, generator: torch.Generator) -> None:
        latent, sn = int(self.latent_dim), bool(self.spectral_norm)
        with seeded_init(generator):
            if data.kind == "image":
                channels = tuple(int(c) for c in self.hp("channels", (64, 128, 256, 256)))
                bn = bool(self.hp("batchnorm", False))  # models saved before sizing: no BatchNorm
                n = conv_levels(data.shape[1], data.shape[2], len(channels) - 1)
                flat = channels[n] * (data.shape[1] >> n) * (data.shape[2] >> n)  # the projection's width
                self.generator_ = ConvGenerator(
                    latent, channels, data.shape, self._cond_embedding(32), batchnorm=bn
                )
                self.discriminator_ = ConvDiscriminator(data.shape, channels, sn, self._cond_embedding(flat))
            else:
                hidden = tuple(int(h) for h in self.hidden)
                self.generator_ = MLPGenerator(latent, hidden, data.dim, self._cond_embedding(16))
                self.discriminator_ = MLPDiscriminator(data.dim, hidden, sn, self._cond_embedding(hidden[-1]))
                x = torch.from_numpy(data.train).double()
                for net in (self.generator_, self.discriminator_):
                    net.shift.copy_(x.mean(0))
                    net.scale.copy_(x.std(0).clamp_min(1e-6))

    def modules(self) -> dict[str, nn.Module]:
        return {"generator_": self.generator_, "discriminator_": self.discriminator_}

    def configure_optimizers(self, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        b = self.hp("betas", (0.5, 0.9))
        betas = (float(b[0]), float(b[1]))
        return {
            "d": torch.optim.Adam(self.discriminator_.parameters(), lr=config.lr, betas=betas),
            "g": torch.optim.Adam(self.generator_.parameters(), lr=config.lr, betas=betas),
        }

    def _noise(self, n: int, g: torch.Generator) -> Tensor:
        return torch.randn(n, int(self.latent_dim), generator=g, device=g.device)

    def d_loss(self, real: Tensor, g: torch.Generator, c: Tensor | None = None) -> Tensor:
        """Discriminator loss on a real batch and as many fakes; one D forward for both (DDP-friendly).
        Conditional: the fakes are drawn for the real batch's conditions `c`."""
        n = len(real)
        with torch.no_grad():
            fake = self.generator_(self._noise(n, g), c)
        if self.loss == "wgan-gp":  # interpolates go through the same forward
            a = torch.rand(n, *([1] * (real.ndim - 1)), generator=g, device=real.device)
            mix = (a * real + (1 - a) * fake).requires_grad_(True)
            scores = self.discriminator_(torch.cat([real, fake, mix]), _rep(c, 3))
            s_real, s_fake, s_mix = scores.split(n)
            (grad,) = torch.autograd.grad(s_mix.sum(), mix, create_graph=True)
            gp = ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
            return s_fake.mean() - s_real.mean() + float(self.gp_weight) * gp
        s_real, s_fake = self.discriminator_(torch.cat([real, fake]), _rep(c, 2)).split(n)
        if self.loss == "hinge":
            return F.relu(1.0 - s_real).mean() + F.relu(1.0 + s_fake).mean()
        return F.softplus(-s_real).mean() + F.softplus(s_fake).mean()

    def g_loss(self, n: int, g: torch.Generator, c: Tensor | None = None) -> Tensor:
        s_fake = self.discriminator_(self.generator_(self._noise(n, g), c), c)
        if self.loss == "nonsaturating":
            return F.softplus(-s_fake).mean()
        return -s_fake.mean()  # hinge and wgan-gp

    def training_step(self, batch: Tensor, ctx: Any) -> dict[str, Tensor]:
        batch, c = self._unpack(batch)
        n_critic = int(self.n_critic) if self.n_critic is not None else (5 if self.loss == "wgan-gp" else 1)
        for _ in range(n_critic):
            d = self.d_loss(batch, ctx.generator, c)
            ctx.optimize("d", d)
        g = self.g_loss(len(batch), ctx.generator, c)
        ctx.optimize("g", g)
        return {"d": d.detach(), "g": g.detach()}

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _decode(self, z: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        c = self._cond_tensor(cond)
        cs = c.split(4096) if c is not None else [None] * len(torch.from_numpy(z).split(4096))
        return torch.cat(
            [self.generator_(b, cb) for b, cb in zip(torch.from_numpy(z).split(4096), cs, strict=False)]
        ).numpy()

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        z = torch.randn(n, int(self.latent_dim), generator=self.generator(seed))
        return self._decode(z.numpy(), cond)


def _rep(c: Tensor | None, k: int) -> Tensor | None:
    """A batch's conditions for k stacked copies of the batch."""
    return None if c is None else torch.cat([c] * k)
