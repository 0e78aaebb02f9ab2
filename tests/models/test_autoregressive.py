"""Autoregressive family: exact normalisation (PixelCNN masses, MADE densities), causality, sampling."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import genlab
from genlab.models.autoregressive import Autoregressive, PixelCNN, infer_levels

SMALL_IMG = {"hidden": 16, "layers": 2, "batch_size": 32}
SMALL_VEC = {"hidden": 32, "components": 5, "batch_size": 128}


def _binary_images(n: int = 256, seed: int = 0) -> np.ndarray:
    """3x3 binary images with structure: a bright centre column, noisy elsewhere."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 1, 3, 3)) < 0.3).astype(np.float32)
    x[:, :, :, 1] = (rng.random((n, 1, 3)) < 0.9).astype(np.float32)
    return x


def _ring(n: int = 1500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    return (np.stack([np.cos(t), np.sin(t)], 1) * 3 + rng.normal(size=(n, 2)) * 0.3 + [1.0, -2.0]).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def pixelcnn() -> Autoregressive:
    return Autoregressive(**SMALL_IMG).fit(_binary_images(), budget="80steps", seed=0, progress="off")


@pytest.fixture(scope="module")
def made() -> Autoregressive:
    return Autoregressive(**SMALL_VEC).fit(_ring(), budget="150steps", seed=0, progress="off")


def test_binary_3x3_masses_sum_to_one(pixelcnn: Autoregressive) -> None:
    every = np.array(list(itertools.product([0.0, 1.0], repeat=9)), np.float32).reshape(512, 1, 3, 3)
    p = np.exp(pixelcnn.log_prob(every))
    assert pixelcnn.levels_ == 2 and pixelcnn.log_prob_kind == "exact"
    assert abs(p.sum() - 1.0) < 1e-4, p.sum()
    # it learnt something: the training images are likelier than under the uniform 2^-9
    train_bpd = pixelcnn.bits_per_dim(_binary_images(100, seed=1)).mean()
    assert train_bpd < 0.95, train_bpd
    np.testing.assert_allclose(
        pixelcnn.bits_per_dim(every[:5]), -pixelcnn.log_prob(every[:5]) / (9 * math.log(2)), rtol=1e-6
    )


def test_multichannel_masses_sum_to_one() -> None:
    """3 channels, 1x2 pixels, binary: the 64 images sum to 1 (channels are ordered within a pixel)."""
    rng = np.random.default_rng(0)
    x = (rng.random((64, 3, 1, 2)) < 0.4).astype(np.float32)
    x[:, 1] = x[:, 0]  # green copies red: only a model that conditions across channels can learn it
    model = Autoregressive(**SMALL_IMG).fit(x, budget="60steps", seed=0, progress="off")
    every = np.array(list(itertools.product([0.0, 1.0], repeat=6)), np.float32).reshape(64, 3, 1, 2)
    assert abs(np.exp(model.log_prob(every)).sum() - 1.0) < 1e-4
    s = model.sample(8, seed=0)
    assert s.shape == (8, 3, 1, 2) and set(np.unique(s)) <= {0.0, 1.0}


@pytest.mark.parametrize("channels", [1, 2])
def test_pixelcnn_sees_exactly_the_past(channels: int) -> None:
    """No blind spot and no leak: logits at (c, i, j) depend on every earlier pixel and nothing later."""
    torch.manual_seed(0)
    net = PixelCNN(channels, levels=4, hidden=8, layers=3, k=3)
    H = W = 4
    x = (torch.randint(0, 4, (1, channels, H, W)) / 3.0).requires_grad_(True)
    logits = net.head(net.trunk(x), x)  # (1, C, L, H, W)
    for c, i, j in itertools.product(range(channels), range(H), range(W)):
        (g,) = torch.autograd.grad(logits[0, c, :, i, j].sum(), x, retain_graph=True)
        dep = g[0].abs() > 0
        allowed = torch.zeros_like(dep)
        allowed[:, :i] = True
        allowed[:, i, :j] = True
        allowed[:c, i, j] = True
        assert torch.equal(dep, allowed), (c, i, j)


@pytest.mark.parametrize(("channels", "layers", "k"), [(1, 2, 3), (2, 1, 5)])
def test_sampling_window_gives_the_full_image_logits(channels: int, layers: int, k: int) -> None:
    """Sampling computes each pixel's logits from a window of rows above and pixels to the left only; they
    must equal the full pass everywhere."""
    torch.manual_seed(0)
    net = PixelCNN(channels, levels=5, hidden=8, layers=layers, k=k)
    for p in net.parameters():  # non-zero biases everywhere, so padding inside the image would show
        p.data.normal_(0, 0.5)
    H, W = 11, 13
    assert net.reach() < min(H, W) // 2  # windows really are cut inside the image
    x = torch.randint(0, 5, (3, channels, H, W)) / 4.0
    full = net.head(net.trunk(x), x)  # (3, C, L, H, W)
    for i in range(H):
        features = net.row_features(x, i)
        for j in range(W):
            torch.testing.assert_close(
                net.logits_at(x, i, j, features), full[..., i, j], rtol=1e-5, atol=1e-5
            )


def test_log_prob_is_a_mass_on_the_grid_only(pixelcnn: Autoregressive) -> None:
    x = _binary_images(4)
    x[2, 0, 1, 1] = 0.5
    with pytest.raises(genlab.DataError, match=r"index \(2, 0, 1, 1\).*grid of 2 levels"):
        pixelcnn.log_prob(x)


def test_pixel_by_pixel_samples_follow_the_masses(pixelcnn: Autoregressive) -> None:
    every = np.array(list(itertools.product([0.0, 1.0], repeat=9)), np.float32).reshape(512, 1, 3, 3)
    p = np.exp(pixelcnn.log_prob(every))
    n = 6000
    s = pixelcnn.sample(n, seed=2)
    assert set(np.unique(s)) <= {0.0, 1.0}
    # per-pixel marginals (sd <= 0.0065) and the whole 512-image distribution
    np.testing.assert_allclose(s.mean(0).ravel(), (p[:, None] * every.reshape(512, 9)).sum(0), atol=0.03)
    codes = (s.reshape(n, 9) @ (2 ** np.arange(8, -1, -1))).astype(int)  # row index in `every`
    freq = np.bincount(codes, minlength=512) / n
    noise = 0.5 * np.sqrt(2 * p * (1 - p) / (np.pi * n)).sum()  # expected TV from sampling alone
    assert 0.5 * np.abs(freq - p).sum() < 2 * noise, (0.5 * np.abs(freq - p).sum(), noise)


def test_infer_levels_and_continuous_images() -> None:
    assert infer_levels(np.arange(17) / 16.0) == 17
    assert infer_levels(np.array([0.0, 1.0])) == 2
    assert infer_levels(np.arange(256, dtype=np.float32) / 255.0) == 256
    assert infer_levels(np.random.default_rng(0).random(1000)) is None
    # continuous images are modelled rounded to 256 levels: log_prob is the mass of the rounded image
    x = np.random.default_rng(0).random((40, 1, 2, 2)).astype(np.float32)
    model = Autoregressive(**SMALL_IMG).fit(x, budget="5steps", seed=0, progress="off")
    assert model.levels_ == 256 and model.rounding_
    np.testing.assert_allclose(model.log_prob(x[:5]), model.log_prob(np.round(x[:5] * 255) / 255), rtol=1e-6)
    with pytest.raises(genlab.DataError, match=r"index \(0, 0, 0, 1\) is outside \[0, 1\]"):
        model.log_prob(np.array([[[[0.5, 1.5], [0.0, 0.0]]]], np.float32))
    with pytest.raises(genlab.DataError, match="outside"):
        Autoregressive(**SMALL_IMG).fit(x * 255, budget="2steps", progress="off")


# ----------------------------------------------------------------------------- vectors
def test_made_density_integrates_to_one(made: Autoregressive) -> None:
    ex, ey = np.linspace(-5, 7, 401), np.linspace(-8, 4, 401)
    cx, cy = (ex[1:] + ex[:-1]) / 2, (ey[1:] + ey[:-1]) / 2
    pts = np.stack(np.meshgrid(cx, cy, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    total = np.exp(made.log_prob(pts)).sum() * (ex[1] - ex[0]) * (ey[1] - ey[0])
    assert abs(total - 1.0) < 0.02, total
    with pytest.raises(genlab.NotSupported):
        made.bits_per_dim(pts[:3])


def test_made_samples_follow_log_prob(made: Autoregressive) -> None:
    bins = 10
    ex, ey = np.linspace(-3.5, 5.5, bins * 20 + 1), np.linspace(-6.5, 2.5, bins * 20 + 1)
    cx, cy = (ex[1:] + ex[:-1]) / 2, (ey[1:] + ey[:-1]) / 2
    fine = np.stack(np.meshgrid(cx, cy, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    mass = (
        (np.exp(made.log_prob(fine)) * (ex[1] - ex[0]) ** 2).reshape(bins, 20, bins, 20).sum((1, 3)).ravel()
    )
    s = made.sample(100_000, seed=4)
    hist = np.histogram2d(s[:, 0], s[:, 1], bins=[ex[::20], ey[::20]])[0].ravel() / len(s)
    p, q = np.append(mass, max(0.0, 1 - mass.sum())), np.append(hist, 1 - hist.sum())
    assert 0.5 * np.abs(p - q).sum() < 0.03


def test_made_log_prob_in_data_units() -> None:
    x = _ring(600)
    a = Autoregressive(**SMALL_VEC).fit(x, budget="40steps", seed=1, progress="off")
    b = Autoregressive(**SMALL_VEC).fit(x * 10 + 3, budget="40steps", seed=1, progress="off")
    np.testing.assert_allclose(
        b.log_prob(x[:100] * 10 + 3), a.log_prob(x[:100]) - 2 * math.log(10), atol=1e-3
    )


def test_made_is_autoregressive_in_one_dimension() -> None:
    x = np.random.default_rng(0).normal(2.0, 0.5, size=(300, 1)).astype(np.float32)
    model = Autoregressive(**SMALL_VEC).fit(x, budget="100steps", seed=0, progress="off")
    grid = np.linspace(-3, 7, 2001, dtype=np.float32)[:, None]
    assert abs(np.exp(model.log_prob(grid)).sum() * 0.005 - 1) < 0.01
    assert abs(model.sample(5000, seed=0).mean() - 2.0) < 0.1
