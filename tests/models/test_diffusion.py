"""Diffusion family: samples of 8gaussians with each sampler, DDIM inversion, the ELBO, sampler settings.

One model is trained per module (a step budget); the sampler and bound checks that must not depend on
training quality use the exact denoiser of a Gaussian mixture, written out below.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import genlab
from genlab.data.toys import CENTERS8, SD8
from genlab.models.diffusion import Denoiser

SAMPLERS = [("ddpm", 100), ("ddim", 50), ("dpmsolver", 20)]


@pytest.fixture(scope="module")
def data():
    return genlab.load_dataset("8gaussians", n=3000, seed=0)


@pytest.fixture(scope="module")
def model(data):
    m = genlab.make_model("diffusion", hidden=128, depth=2, batch_size=256)
    return m.fit(data, budget="800steps", seed=0, progress=False)


def mode_stats(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Share of points within 3 sd of their nearest 8gaussians mode, and each mode's share of those."""
    d = np.linalg.norm(x[:, None] - CENTERS8[None], axis=-1)  # (n, 8)
    near = d.min(1) < 3 * SD8
    return float(near.mean()), np.bincount(d.argmin(1)[near], minlength=8) / len(x)


class MixtureDenoiser(nn.Module):
    """The exact E[eps | z_t] (or v) when standardised data is a mixture of N(mean_k, diag(var))."""

    def __init__(self, means: torch.Tensor, var: torch.Tensor, alphas_cumprod: torch.Tensor, v: bool) -> None:
        super().__init__()
        self.means, self.var, self.abar, self.v = means.double(), var.double(), alphas_cumprod.double(), v

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.abar[t][:, None]  # (B, 1)
        z = z.double()
        s2 = a * self.var + (1 - a)  # (B, D): variance of z_t given the component
        d = z[:, None] - a.sqrt()[:, None] * self.means[None]  # (B, K, D)
        w = torch.softmax(-0.5 * (d**2 / s2[:, None]).sum(-1), dim=1)  # (B, K), equal weights
        x0 = self.means[None] + (a.sqrt() * self.var / s2)[:, None] * d  # E[x0 | z_t, k]
        x0 = (w[..., None] * x0).sum(1)
        eps = (z - a.sqrt() * x0) / (1 - a).sqrt()
        out = a.sqrt() * eps - (1 - a).sqrt() * x0 if self.v else eps
        return out.float()


def with_exact_denoiser(model, centers: np.ndarray, sd: float | np.ndarray):
    """A copy of a fitted model whose network is the exact denoiser of the mixture (centers (K, D), sd)."""
    m = copy.copy(model)
    shift, scale = model.net_.shift, model.net_.scale
    means = (torch.from_numpy(centers) - shift) / scale
    var = (torch.as_tensor(sd) / scale[0]) ** 2
    v = model.schedule_["prediction_type"] == "v_prediction"
    m.net_ = Denoiser(MixtureDenoiser(means, var, model.alphas_cumprod_, v), shift, scale)
    return m


# ----------------------------------------------------------------------------- trained model
@pytest.mark.parametrize("sampler,steps", SAMPLERS)
def test_8gaussians_samples_cover_every_mode(model, sampler: str, steps: int) -> None:
    x = model.sample(1000, seed=1, sampler=sampler, steps=steps)
    near, share = mode_stats(x)
    assert near >= 0.90, f"{sampler}-{steps}: only {near:.3f} of samples within 3 sd of a mode"
    assert share.min() >= 0.06, f"{sampler}-{steps}: a mode is (nearly) missing: shares {share.round(3)}"


def test_ddim_inversion_round_trip(model, data) -> None:
    x = data.test[:200]
    z = model.encode(x)
    assert z.shape == (200, 2) and model.latent_dim == 2
    # DDIM inversion maps data to the prior: roughly standard normal latents
    assert np.abs(z.mean(0)).max() < 0.25 and np.all(np.abs(z.std(0) - 1) < 0.25), (z.mean(0), z.std(0))
    err = np.linalg.norm(model.decode(z) - x, axis=1)
    # tolerance in data units (the modes' sd is 0.354): a seventh of it at worst, 1/70 on average
    assert err.max() < 0.05 and err.mean() < 0.005, (
        f"round-trip error: max {err.max():.4f}, mean {err.mean():.4f}"
    )
    # interpolating two latents decodes to finite points near the data
    mid = model.decode(np.sqrt(0.5) * (z[:1] + z[1:2]))
    assert np.isfinite(mid).all() and np.linalg.norm(mid, axis=1).max() < 6


def test_elbo_is_below_the_true_log_density(model, data) -> None:
    x = data.test[:60]
    elbo = model.log_prob(x)
    true = data.log_density(x)
    assert elbo.shape == (60,) and np.isfinite(elbo).all()
    assert elbo.mean() < true.mean()  # a bound on the model's density, which cannot beat the truth on average
    assert elbo.mean() > true.mean() - 3.0  # and not a vacuous one
    far = model.log_prob(np.array([[0.0, 0.0], [6.0, 6.0]], np.float32))  # between the modes; far outside
    assert far[0] < elbo.mean() - 5 and far[1] < far[0] - 20, far
    np.testing.assert_array_equal(model.log_prob(x[:5]), elbo[:5])  # deterministic


# ----------------------------------------------------------------------------- exact denoiser
@pytest.fixture(scope="module", params=[("linear", "eps"), ("cosine", "v")], ids=["linear-eps", "cosine-v"])
def exact(request, data):
    schedule, prediction = request.param
    m = genlab.make_model("diffusion", hidden=8, depth=1, schedule=schedule, prediction=prediction)
    m.fit(data, budget="2steps", seed=0, progress=False)
    return with_exact_denoiser(m, CENTERS8, SD8)


@pytest.mark.parametrize("sampler,steps", SAMPLERS)
def test_samplers_with_the_exact_denoiser(exact, sampler: str, steps: int) -> None:
    near, share = mode_stats(exact.sample(800, seed=0, sampler=sampler, steps=steps))
    assert near >= 0.97 and share.min() >= 0.09, (near, share)  # the data itself: 0.989 and 0.125


def test_elbo_with_the_exact_denoiser_of_a_gaussian(data) -> None:
    rng = np.random.default_rng(0)
    mean, sd = np.array([1.0, -2.0]), np.array([0.5, 2.0])
    x = (mean + sd * rng.standard_normal((2000, 2))).astype(np.float32)
    true = (-0.5 * ((x - mean) / sd) ** 2 - np.log(sd) - 0.5 * math.log(2 * math.pi)).sum(1)
    bounds = []
    for prediction in ("eps", "v"):
        m = genlab.make_model("diffusion", hidden=8, depth=1, prediction=prediction)
        m.fit(x, budget="2steps", seed=0, progress=False)
        bounds.append(with_exact_denoiser(m, mean[None], sd).log_prob(x[:300]))
    # the same denoiser in either parameterisation gives the same bound
    np.testing.assert_allclose(bounds[0], bounds[1], rtol=0, atol=1e-3)
    gap = true[:300] - bounds[0]
    # fixed reverse variances (beta~_t) make even the exact denoiser's bound loose by ~0.4 nat per dimension
    assert 0.0 < gap.mean() < 1.5, gap.mean()


# ----------------------------------------------------------------------------- settings and errors
def test_sampler_is_chosen_at_sampling_time(model) -> None:
    a = model.sample(20, seed=5, sampler="ddim", steps=10)
    m = copy.copy(model).set_params(sampler="ddim", steps=10)
    np.testing.assert_array_equal(m.sample(20, seed=5), a)
    assert model.sampler == "dpmsolver" and model.steps == 20  # the call's override did not stick
    assert not np.array_equal(model.sample(20, seed=5, sampler="ddpm", steps=10), a)
    with pytest.raises(genlab.GenlabError, match="ddpm, ddim, dpmsolver"):
        model.sample(5, sampler="euler")
    with pytest.raises(genlab.GenlabError, match="steps"):
        model.sample(5, steps=5000)


def test_schedule_is_fixed_at_fit_and_saved(model, tmp_path) -> None:
    m = copy.copy(model).set_params(timesteps=10, schedule="cosine", sampler="ddpm", steps=30)
    x = m.sample(10, seed=2)  # the training schedule, not the changed hyperparameters
    assert np.isfinite(x).all() and m.schedule_["num_train_timesteps"] == 1000
    m.save(tmp_path / "m")
    loaded = genlab.load(tmp_path / "m")
    assert loaded.schedule_ == m.schedule_ and loaded.sampler == "ddpm"
    np.testing.assert_array_equal(loaded.sample(10, seed=2), x)


def test_bad_hyperparameters_are_named() -> None:
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    for bad, match in [({"schedule": "sigmoid"}, "schedule"), ({"prediction": "x0"}, "prediction")]:
        with pytest.raises(genlab.GenlabError, match=match):
            genlab.make_model("diffusion", hidden=8, **bad).fit(x, budget="2steps", progress=False)


def test_images_train_sample_and_refuse_log_prob() -> None:
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 17, size=(40, 1, 7, 6)) / 16).astype(np.float32)  # odd sizes on purpose
    m = genlab.make_model("diffusion", channels=8, batch_size=20, inversion_steps=5)
    m.fit(x, budget="3steps", progress=False)
    s = m.sample(3, seed=0, steps=4)
    assert s.shape == (3, 1, 7, 6) and s.min() >= 0 and s.max() <= 1
    z = m.encode(x[:2])
    assert z.shape == (2, 42) and np.isfinite(m.decode(z)).all()
    with pytest.raises(genlab.NotSupported, match="vector"):
        m.log_prob(x[:2])


@pytest.mark.parametrize("prediction", ["eps", "v"])
@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmsolver"])
def test_every_sampler_clips_predicted_x0_of_vectors(sampler: str, prediction: str) -> None:
    """A badly trained network must not throw samples far outside the data: every sampler clips x0."""
    from genlab.models.samplers import run_sampler, schedule_config

    config = schedule_config(1000, "linear", prediction, clip=3.0)
    g = torch.Generator().manual_seed(0)

    def wild(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # outputs 30 times too large
        return 30 * torch.randn(x.shape, generator=g)

    x = run_sampler(wild, sampler, config, 20, torch.randn(500, 2, generator=g), g)
    assert torch.isfinite(x).all() and x.abs().max() <= 3.0 + 1e-3, x.abs().max()
    assert x.abs().max() > 2.5  # the wild network does push samples to the bound
