"""Autoregressive models with exact likelihoods: a gated PixelCNN for images, a MADE mixture for vectors.

Images: p(x) = prod_i p(x_i | x_<i) over pixels in raster order (channels in order within a pixel), each
conditional a categorical over the data's `levels` intensity levels (17 for `digits`, 256 for 8-bit images;
continuous images in [0, 1] are rounded to 256 levels, and `log_prob` then gives the mass of the rounded image).
`log_prob` is the exact natural-log probability MASS of the discrete image, not a density: to compare with
a continuous family, use bits per dimension, -log_prob / (D log 2) here (`bits_per_dim`), against the
continuous family's bits per dimension after uniform dequantisation (e.g. `Flow.bits_per_dim`), which
bounds the same discrete quantity from above.

Vectors: p(x) = prod_d p(x_d | x_<d), each conditional a mixture of Gaussians whose parameters come from a
MADE (zuko's MaskedMLP); data are standardised inside, so `log_prob` is an exact density in the data's units.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from zuko.nn import MaskedMLP

from genlab.arrays import is_lazy
from genlab.errors import DataError, GenlabError, NotSupported
from genlab.models.base import FitData, check_array
from genlab.models.neural import NeuralModel, seeded_init
from genlab.models.params import check_int

__all__ = ["Autoregressive", "MADEMixture", "PixelCNN", "infer_levels"]


def on_grid(values: np.ndarray, levels: int) -> bool:
    """Whether every value is k / (levels - 1) for an integer k in [0, levels - 1]."""
    k = np.asarray(values, dtype=np.float64) * (levels - 1)
    return bool(np.all((np.abs(k - np.round(k)) < 1e-3) & (k > -1e-3) & (k < levels - 1 + 1e-3)))


def infer_levels(x: np.ndarray, max_levels: int = 256) -> int | None:
    """Smallest L <= max_levels with every value of `x` on the grid k / (L - 1) of [0, 1]; None if none."""
    values = x.unique() if is_lazy(x) else np.unique(x)
    if len(values) > max_levels:
        return None
    return next((levels for levels in range(2, max_levels + 1) if on_grid(values, levels)), None)


def check_levels(x: np.ndarray, levels: int, what: str, *, rounding: bool) -> None:
    """DataError naming the first value outside [0, 1] or, unless `rounding`, off the grid k / (levels - 1)."""
    if is_lazy(x):  # stored integer pixels: checking the values that occur is checking them all
        x = x.unique()
    k = x.astype(np.float64) * (levels - 1)
    outside = (k < -1e-3) | (k > levels - 1 + 1e-3)
    off = outside if rounding else outside | (np.abs(k - np.round(k)) > 1e-3)
    if off.any():
        idx = tuple(int(i) for i in np.argwhere(off)[0])
        where = (
            "outside [0, 1]"
            if outside[idx]
            else f"not on the grid of {levels} levels k/{levels - 1} in [0, 1]"
        )
        raise DataError(
            f"{what}: value {x[idx]} at index {idx} is {where}; the autoregressive image model is a "
            "distribution over discrete images (set `levels` to match the data)"
        )


# ----------------------------------------------------------------------------- PixelCNN blocks
class MaskedConv2d(nn.Conv2d):
    """A 'same' convolution whose kernel is multiplied by a fixed 0/1 mask (broadcast to the weight)."""

    def __init__(self, c_in: int, c_out: int, mask: Tensor) -> None:
        kh, kw = mask.shape[-2:]
        super().__init__(c_in, c_out, (kh, kw), padding=(kh // 2, kw // 2))
        self.register_buffer("mask", mask.float().expand_as(self.weight).clone())

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def vertical_conv(c_in: int, c_out: int, k: int, first: bool) -> MaskedConv2d:
    """k x k kernel over the rows above (first layer) or the rows above and the current row (later layers,
    whose vertical-stack input already depends on rows above only)."""
    mask = torch.ones(k, k)
    mask[k // 2 + 1 :] = 0
    if first:
        mask[k // 2] = 0
    return MaskedConv2d(c_in, c_out, mask)


def horizontal_conv(c_in: int, c_out: int, k: int, first: bool) -> MaskedConv2d:
    """1 x k kernel over the pixels to the left (first layer) or the left and the current one (later)."""
    mask = torch.ones(1, k)
    mask[0, k // 2 + 1 :] = 0
    if first:
        mask[0, k // 2] = 0
    return MaskedConv2d(c_in, c_out, mask)


class GatedBlock(nn.Module):
    """Gated PixelCNN layer (van den Oord et al. 2016): a vertical stack feeding a horizontal stack, so the
    receptive field is the whole past in raster order (no blind spot)."""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.v = vertical_conv(c, 2 * c, k, first=False)
        self.h = horizontal_conv(c, 2 * c, k, first=False)
        self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_out = nn.Conv2d(c, c, 1)

    def forward(self, v: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        vf = self.v(v)  # (n, 2c, H, W)
        return gate(vf), self.h_step(h, vf)

    def h_step(self, h: Tensor, vf: Tensor) -> Tensor:
        """The horizontal stack's update, given this layer's vertical features at the same positions."""
        return h + self.h_out(gate(self.h(h) + self.v_to_h(vf)))


def gate(f: Tensor) -> Tensor:  # (n, 2c, ...) -> (n, c, ...)
    return torch.tanh(f[:, ::2]) * torch.sigmoid(f[:, 1::2])


class PixelCNN(nn.Module):
    """Gated PixelCNN over (C, H, W) images with `levels` levels; forward(x) is log p(x) of each image."""

    def __init__(
        self, channels: int, levels: int, hidden: int, layers: int, k: int, cond: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.channels, self.levels = channels, levels
        # conditional: the condition's embedding (width 2 * hidden + channels * hidden) is a per-image
        # bias on both input stacks and on the head; a constant bias keeps every pixel's field causal
        self.cond, self.hidden = cond, hidden
        self.v_in = vertical_conv(channels, hidden, k, first=True)
        self.h_in = horizontal_conv(channels, hidden, k, first=True)
        self.blocks = nn.ModuleList(GatedBlock(hidden, k) for _ in range(layers))
        # per-channel head: channel c of a pixel also sees channels < c of the same pixel
        self.head_h = nn.Conv2d(hidden, channels * hidden, 1)
        self.head_x = None
        if channels > 1:
            mask = torch.arange(channels).repeat_interleave(hidden)[:, None] > torch.arange(channels)[None]
            self.head_x = MaskedConv2d(channels, channels * hidden, mask[:, :, None, None])
        self.head_out = nn.Conv2d(channels * hidden, channels * levels, 1, groups=channels)

    def biases(self, c: Tensor | None) -> tuple[Any, Any, Any]:
        """The condition's biases (n, width, 1, 1) of the vertical stack, horizontal stack and head."""
        if self.cond is None:
            return 0, 0, 0
        e = self.cond(c)[:, :, None, None]
        k = self.hidden
        return e[:, :k], e[:, k : 2 * k], e[:, 2 * k :]

    def trunk(
        self, x: Tensor, c: Tensor | None = None
    ) -> Tensor:  # (n, C, H, W) in [0, 1] -> (n, hidden, H, W)
        x = 2 * x - 1
        bv, bh, _ = self.biases(c)
        v, h = self.v_in(x) + bv, self.h_in(x) + bh
        for block in self.blocks:
            v, h = block(v, h)
        return h

    def head(self, h: Tensor, x: Tensor, c: Tensor | None = None) -> Tensor:  # -> logits (n, C, levels, H, W)
        z = self.head_h(F.elu(h)) + self.biases(c)[2]
        if self.head_x is not None:
            z = z + self.head_x(2 * x - 1)
        n, _, hh, ww = z.shape
        return self.head_out(F.elu(z)).view(n, self.channels, self.levels, hh, ww)

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # (n, C, H, W) -> (n,) log mass
        k = torch.round(x * (self.levels - 1)).clamp(0, self.levels - 1)  # level index of each value
        x = k / (self.levels - 1)
        logp = F.log_softmax(self.head(self.trunk(x, c), x, c), dim=2)
        return logp.gather(2, k.long()[:, :, None]).flatten(1).sum(1)

    # Sampling goes pixel by pixel, so it computes only what a pixel needs. The vertical stack at row i sees
    # rows < i only: it is computed once per row, on the `reach` rows above. The horizontal stack at (i, j)
    # then needs row i's `reach` pixels to the left. Convolutions pad with zeros, so a window cut at the image
    # border computes exactly what the full image does, and values spoiled by padding inside the image stay
    # out of the field of (i, j). On 28x28 with 5 layers this is about 50x less work than a full pass per pixel.
    def reach(self) -> int:
        """How far the logits of one pixel see: this many rows up and columns to the left (k//2 per layer)."""
        return (len(self.blocks) + 1) * (self.v_in.weight.shape[-1] // 2)

    def row_features(self, x: Tensor, i: int, c: Tensor | None = None) -> list[Tensor]:
        """Each block's vertical features on row i, (n, 2 hidden, 1, W); they depend on rows < i only."""
        v = self.v_in(2 * x[:, :, max(0, i - self.reach()) : i + 1] - 1) + self.biases(c)[0]
        features = []
        for block in self.blocks:
            vf = block.v(v)
            features.append(vf[:, :, -1:])
            v = gate(vf)
        return features

    def logits_at(
        self, x: Tensor, i: int, j: int, features: list[Tensor], c: Tensor | None = None
    ) -> Tensor:  # -> (n, C, levels)
        """Logits of pixel (i, j) given `row_features(x, i)`; equal to head(trunk(x), x)[..., i, j]."""
        left = max(0, j - self.reach())
        h = (
            self.h_in(2 * x[:, :, i : i + 1, left : j + 1] - 1) + self.biases(c)[1]
        )  # (n, hidden, 1, j+1-left)
        for block, vf in zip(self.blocks, features, strict=True):
            h = block.h_step(h, vf[..., left : j + 1])
        return self.head(h[..., -1:], x[:, :, i : i + 1, j : j + 1], c)[..., 0, 0]

    @torch.no_grad()
    def sample(
        self, n: int, shape: tuple[int, ...], generator: torch.Generator, cond: Tensor | None = None
    ) -> Tensor:
        x = torch.zeros(n, *shape)
        for i in range(shape[1]):
            features = self.row_features(x, i, cond)
            for j in range(shape[2]):
                for c in range(shape[0]):  # channel c changes only the head's input, not the stacks'
                    probs = F.softmax(self.logits_at(x, i, j, features, cond)[:, c], dim=-1)  # (n, levels)
                    k = torch.multinomial(probs, 1, generator=generator)[:, 0]
                    x[:, c, i, j] = k / (self.levels - 1)
        return x


# ----------------------------------------------------------------------------- vector block
class MADEMixture(nn.Module):
    """MADE whose outputs parametrise a `components`-Gaussian mixture for each x_d given x_<d."""

    def __init__(
        self, dim: int, components: int, hidden: int, layers: int, cond: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.dim, self.k = dim, components
        self.cond = cond  # conditional: the condition's embedding is an input every output sees
        order = torch.arange(dim)
        adjacency = order[:, None] > order[None, :]  # output d sees inputs < d
        extra = 1 + (cond.dim if cond else 0)  # a constant input (+ the condition's embedding)
        adjacency = torch.cat([adjacency, torch.ones(dim, extra, dtype=torch.bool)], 1)
        self.made = MaskedMLP(adjacency.repeat_interleave(3 * components, dim=0), [hidden] * layers)
        # start every conditional as a spread of components over the standardised range, so that no
        # component starts (and stays) unused: means evenly in [-2, 2], widths about their spacing
        last = self.made[-1]
        with torch.no_grad():
            last.weight.mul_(0.1)
            bias = last.bias.view(dim, 3, components)  # (D, [logits, mu, log_sigma], K)
            bias[:, 0] = 0.0
            bias[:, 1] = torch.linspace(-2.0, 2.0, components) if components > 1 else 0.0
            bias[:, 2] = math.log(4.0 / components) if components > 1 else 0.0
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    def params(
        self, u: Tensor, c: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:  # (n, D) -> 3 x (n, D, K)
        extra = [u.new_ones(len(u), 1)] + ([] if self.cond is None else [self.cond(c)])
        out = self.made(torch.cat([u, *extra], -1)).unflatten(-1, (self.dim, 3 * self.k))
        logits, mu, log_sigma = out.chunk(3, dim=-1)
        return F.log_softmax(logits, -1), mu, log_sigma.clamp(-7.0, 5.0)

    def forward(
        self, x: Tensor, c: Tensor | None = None
    ) -> Tensor:  # (n, D) -> (n,) log density in data units
        u = (x - self.shift) / self.scale
        logw, mu, log_sigma = self.params(u, c)
        z = (u[..., None] - mu) * torch.exp(-log_sigma)
        lp = logw - 0.5 * z**2 - log_sigma - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(lp, -1).sum(-1) - torch.log(self.scale).sum()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, cond: Tensor | None = None) -> Tensor:
        u = torch.zeros(n, self.dim)
        for d in range(self.dim):
            logw, mu, log_sigma = (p[:, d] for p in self.params(u, cond))  # (n, K)
            c = torch.multinomial(logw.exp(), 1, generator=generator)  # (n, 1) component
            eps = torch.randn(n, generator=generator)
            u[:, d] = mu.gather(1, c)[:, 0] + log_sigma.gather(1, c)[:, 0].exp() * eps
        return u * self.scale + self.shift


# ----------------------------------------------------------------------------- model
class Autoregressive(NeuralModel):
    """Images: gated PixelCNN with a categorical over `levels` levels (None: the data's grid, or 256 for
    continuous images, which are then rounded to the grid).
    Vectors: MADE with a `components`-Gaussian mixture per conditional.

    `hidden` is the PixelCNN's channels or the MADE's hidden units (None: sized for the budget and device
    for images, `genlab.models.sizing`; 128 for vectors); `layers` the number of gated blocks or MADE
    hidden layers (None: sized for images, 2 for vectors);
    `kernel_size` the PixelCNN kernel (odd).
    `log_prob` of an image is an exact log probability MASS (see the module docstring); `bits_per_dim(x)`
    gives -log_prob / (D log 2) for comparison with continuous families after dequantisation.
    """

    name = "autoregressive"
    log_prob_kind = "exact"
    log_prob_note = (
        "images: exact natural-log probability MASS of the discrete image (values k/(levels-1); continuous "
        "images are rounded to the grid first); compare with "
        "continuous families in bits per dimension (bits_per_dim) after dequantisation. "
        "Vectors: natural-log density in the data's own units"
    )
    default_budget = "1500steps+5m"

    def __init__(
        self,
        hidden: int | None = None,
        layers: int | None = None,
        kernel_size: int = 3,
        components: int = 10,
        levels: int | None = None,
        *,
        lr: float = 2e-3,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, batch_size=batch_size, **kwargs)
        self.hidden = hidden
        self.layers = layers
        self.kernel_size = kernel_size
        self.components = components
        self.levels = levels

    # ------------------------------------------------------------------ training hooks
    def _check(self, data: FitData) -> None:
        super()._check(data)
        check_int(self, "hidden", none=True)
        check_int(self, "layers", none=True)
        check_int(self, "kernel_size", minimum=3)
        if self.kernel_size % 2 == 0:
            raise GenlabError(f"autoregressive: kernel_size must be odd, got {self.kernel_size}")
        check_int(self, "components")
        check_int(self, "levels", minimum=2, maximum=65536, none=True)

    def sized(self, data: FitData, budget: Any, device: str) -> dict[str, Any]:
        if data.kind != "image":
            return {"batch_size": 64}
        from genlab.models.sizing import choose

        return choose("autoregressive", data.shape, budget, device)

    def build(self, data: FitData, generator: torch.Generator) -> None:
        image = data.kind == "image"
        if "levels" not in self.data_meta_:  # a fresh fit; a loaded model has it from its file
            levels, rounding = None, False
            if image:
                check_levels(data.train, 2, "autoregressive training images", rounding=True)  # in [0, 1]
                values = data.train.unique() if is_lazy(data.train) else np.unique(data.train)
                levels = int(self.levels) if self.levels else (infer_levels(values) or 256)
                rounding = not on_grid(values, levels)  # continuous images: model the rounded ones
            self.data_meta_["levels"], self.data_meta_["rounding"] = levels, rounding
        self.levels_, self.rounding_ = self.data_meta_["levels"], self.data_meta_["rounding"]

        with seeded_init(generator):
            if image:
                if len(data.shape) != 3:
                    raise DataError(f"autoregressive: images must be (C, H, W), got shape {data.shape}")
                hidden, layers = int(self.hp("hidden", 32)), int(self.hp("layers", 5))
                cond = self._cond_embedding((2 + data.shape[0]) * hidden)  # see PixelCNN.biases
                self.net_ = PixelCNN(data.shape[0], self.levels_, hidden, layers, int(self.kernel_size), cond)
            else:
                hidden, layers = int(self.hidden or 128), int(self.layers or 2)
                cond = self._cond_embedding(16)
                self.net_ = MADEMixture(data.dim, int(self.components), hidden, layers, cond)
                x = torch.from_numpy(data.train)
                self.net_.shift.copy_(x.mean(0))
                self.net_.scale.copy_(x.std(0).clamp_min(1e-6))

    def modules(self) -> dict[str, nn.Module]:
        return {"net_": self.net_}

    def training_step(self, batch: Tensor, ctx: Any) -> dict[str, Tensor]:
        loss = self.validation_loss(batch)
        ctx.optimize("main", loss)
        return {"nll": loss.detach()}

    def validation_loss(self, batch: Tensor, generator: torch.Generator | None = None) -> Tensor:
        batch, c = self._unpack(batch)
        return -self.net_(batch, c).mean() / batch[0].numel()  # nats per dimension

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _log_prob(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        if self.kind_ == "image":
            check_levels(x, self.levels_, "autoregressive log_prob input", rounding=self.rounding_)
        t, c = torch.from_numpy(x), self._cond_tensor(cond)
        return torch.cat(
            [
                self.net_(t[i : i + 4096], None if c is None else c[i : i + 4096])
                for i in range(0, len(t), 4096)
            ]
        ).numpy()

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        g, c = self.generator(seed), self._cond_tensor(cond)
        if self.kind_ == "image":
            chunks = [
                self.net_.sample(min(2048, n - i), self.shape_, g, None if c is None else c[i : i + 2048])
                for i in range(0, n, 2048)
            ]
            return torch.cat(chunks).numpy()
        return self.net_.sample(n, g, c).numpy()

    def bits_per_dim(self, x: Any) -> np.ndarray:
        """Bits per dimension of each discrete image, (n,): -log_prob(x) / (D log 2)."""
        self._check_fitted("bits_per_dim")
        if self.kind_ != "image":
            raise NotSupported("autoregressive.bits_per_dim() is for discrete images; vectors have a density")
        x = check_array(x, what="bits_per_dim input", shape=self.shape_)
        return -self.log_prob(x) / (int(np.prod(self.shape_)) * math.log(2))
