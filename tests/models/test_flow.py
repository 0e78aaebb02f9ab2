"""Flow family: exact normalisation, change of variables, sampling agrees with log_prob, images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import genlab
from genlab.models.flow import Flow

SMALL = {"transforms": 2, "hidden": (32, 32), "bins": 8, "batch_size": 128}


def _blobs(n: int = 1500, seed: int = 0) -> np.ndarray:
    """Three anisotropic 2-D Gaussian blobs: a multimodal target a short run half-learns."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    k = rng.integers(0, 3, n)
    return (centres[k] + rng.normal(size=(n, 2)) * [0.6, 0.3]).astype(np.float32)


@pytest.fixture(scope="module")
def flow2d() -> Flow:
    return genlab.make_model("flow", **SMALL).fit(_blobs(), budget="150steps", seed=0, progress="off")


def _grid(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, float, tuple[np.ndarray, np.ndarray]]:
    """Cell centres of an n x n grid on [lo, hi], the cell area, and the edges."""
    ex, ey = np.linspace(lo[0], hi[0], n + 1), np.linspace(lo[1], hi[1], n + 1)
    cx, cy = (ex[1:] + ex[:-1]) / 2, (ey[1:] + ey[:-1]) / 2
    pts = np.stack(np.meshgrid(cx, cy, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    return pts, float((ex[1] - ex[0]) * (ey[1] - ey[0])), (ex, ey)


def _integral(model: Flow, lo, hi, n: int = 400) -> float:
    pts, area, _ = _grid(np.asarray(lo, float), np.asarray(hi, float), n)
    return float(np.exp(model.log_prob(pts)).sum() * area)


@pytest.mark.parametrize("arch", ["nsf", "maf", "realnvp"])
def test_density_integrates_to_one(arch: str, flow2d: Flow) -> None:
    model = (
        flow2d
        if arch == "nsf"
        else Flow(arch=arch, **SMALL).fit(_blobs(), budget="60steps", seed=1, progress="off")
    )
    assert model.log_prob_kind == "exact" and model.latent_dim == 2
    total = _integral(model, [-9.0, -6.0], [9.0, 9.0])
    assert abs(total - 1.0) < 0.02, total


def test_log_prob_is_in_data_units_under_rescaling() -> None:
    x = _blobs(800)
    a = Flow(**SMALL).fit(x, budget="60steps", seed=3, progress="off")
    b = Flow(**SMALL).fit(x * 10 + 3, budget="60steps", seed=3, progress="off")
    lp_a, lp_b = a.log_prob(x[:200]), b.log_prob(x[:200] * 10 + 3)
    np.testing.assert_allclose(lp_b, lp_a - 2 * math.log(10), atol=1e-3)


def test_change_of_variables_and_inverse(flow2d: Flow) -> None:
    x = _blobs(50, seed=5)
    z = flow2d.encode(x)
    np.testing.assert_allclose(flow2d.decode(z), x, atol=1e-4)
    # log p(x) = log N(z; 0, I) + log|det dz/dx|, the Jacobian by autograd
    net = flow2d.net_
    logdet = []
    for xi in torch.from_numpy(x):
        jac = torch.autograd.functional.jacobian(lambda v: net.encode(v[None])[0], xi)
        logdet.append(torch.linalg.slogdet(jac)[1].item())
    expected = -0.5 * (z.astype(np.float64) ** 2).sum(1) - math.log(2 * math.pi) + np.array(logdet)
    np.testing.assert_allclose(flow2d.log_prob(x), expected, atol=1e-3)


def test_samples_follow_log_prob(flow2d: Flow) -> None:
    """Histogram of 100,000 samples against the bin masses got by integrating exp(log_prob)."""
    lo, hi, bins = np.array([-4.5, -2.0]), np.array([4.5, 5.0]), 12
    fine, area, _ = _grid(lo, hi, bins * 20)
    mass = (np.exp(flow2d.log_prob(fine)) * area).reshape(bins, 20, bins, 20).sum((1, 3)).ravel()
    s = flow2d.sample(100_000, seed=11)
    assert s.shape == (100_000, 2) and np.isfinite(s).all()
    _, _, (ex, ey) = _grid(lo, hi, bins)
    hist = np.histogram2d(s[:, 0], s[:, 1], bins=[ex, ey])[0].ravel() / len(s)
    p = np.append(mass, max(0.0, 1 - mass.sum()))  # the rest of the plane is one more bin
    q = np.append(hist, 1 - hist.sum())
    tv = 0.5 * np.abs(p - q).sum()
    assert tv < 0.03, tv


def test_images_dequantised_density_and_grid_samples() -> None:
    """Two-pixel 'images' on 5 levels: the logit/dequantisation Jacobians make a normalised density."""
    rng = np.random.default_rng(0)
    k = np.clip(rng.binomial(4, [0.3, 0.6], size=(600, 2)), 0, 4)
    x = (k / 4.0).astype(np.float32).reshape(600, 1, 1, 2)
    model = Flow(**SMALL).fit(x, budget="60steps", seed=0, progress="off")
    assert model.levels_ == 5
    # the support is where alpha + (1 - 2 alpha)(a x + b) lies in (0, 1)
    a, b, alpha = 4 / 5, 0.5 / 5, model.alpha
    lo, hi = (-alpha / (1 - 2 * alpha) - b) / a, ((1 - alpha) / (1 - 2 * alpha) - b) / a
    pts, area, _ = _grid(np.array([lo, lo]), np.array([hi, hi]), 400)
    total = float(np.exp(model.log_prob(pts.reshape(-1, 1, 1, 2))).sum() * area)
    assert abs(total - 1.0) < 0.02, total
    s = model.sample(200, seed=0)
    assert s.shape == (200, 1, 1, 2)
    np.testing.assert_allclose(s * 4, np.round(s * 4), atol=1e-5)  # on the data's grid
    bpd = model.bits_per_dim(x[:50], seed=0)
    assert bpd.shape == (50,) and np.isfinite(bpd).all()
    assert 0 < bpd.mean() < math.log2(5) + 0.3  # near or below the uniform code length of 5 levels


def test_bad_hyperparameters_are_named() -> None:
    with pytest.raises(genlab.GenlabError, match="arch"):
        Flow(arch="glow").fit(_blobs(50), budget="2steps", progress="off")
    with pytest.raises(genlab.GenlabError, match="alpha"):
        Flow(alpha=0.7).fit(_blobs(50), budget="2steps", progress="off")


def test_save_load_keeps_density(flow2d: Flow, tmp_path) -> None:
    flow2d.save(tmp_path / "f")
    loaded = genlab.load(tmp_path / "f")
    x = _blobs(40, seed=9)
    np.testing.assert_allclose(loaded.log_prob(x), flow2d.log_prob(x), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(loaded.encode(x), flow2d.encode(x))


def test_fit_is_seeded() -> None:
    x = _blobs(300)
    a, b, c = (Flow(**SMALL).fit(x, budget="10steps", seed=s, progress="off") for s in (4, 4, 5))
    np.testing.assert_array_equal(a.log_prob(x[:20]), b.log_prob(x[:20]))
    assert not np.array_equal(a.log_prob(x[:20]), c.log_prob(x[:20]))
