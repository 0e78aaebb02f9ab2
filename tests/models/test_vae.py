"""The VAE family: mode coverage on 8gaussians, the IWAE bound, units of log_prob, images of any size."""

from __future__ import annotations

import numpy as np
import pytest

import genlab
from genlab.data.toys import CENTERS8, SD8

# settings that fit 8gaussians in a short CPU budget (measured: ~95% near a mode with the GMM sampler)
FAST8 = {"latent_dim": 2, "hidden": (64, 64), "lr": 2e-2, "batch_size": 256, "kl_warmup_steps": 300}


def near_mode(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Share of samples within 3 sd of a mode, and each mode's share of those."""
    d = np.sqrt(((x[:, None, :] - CENTERS8[None]) ** 2).sum(-1))  # (n, 8)
    near = d.min(1) < 3 * SD8
    return float(near.mean()), np.bincount(d.argmin(1)[near], minlength=8) / max(near.sum(), 1)


@pytest.fixture(scope="module")
def eight() -> object:
    return genlab.load_dataset("8gaussians")


@pytest.fixture(scope="module")
def vae8(eight):
    return genlab.make_model("vae", **FAST8).fit(eight, budget="600steps", seed=0, progress="off")


def test_covers_all_modes_and_gmm_sampler_beats_prior(vae8) -> None:
    share, modes = near_mode(vae8.sample(4000, seed=1))
    assert share >= 0.9 and modes.min() >= 0.05, (share, modes)
    gmm = vae8.gmm_
    try:
        vae8.gmm_ = None  # the same model sampling its latents from the N(0, I) prior
        share_prior, _ = near_mode(vae8.sample(4000, seed=1))
    finally:
        vae8.gmm_ = gmm
    assert share_prior < share - 0.1  # why "gmm" is the default latent sampler


def test_no_posterior_collapse(vae8, eight) -> None:
    # learned noise sd well below the data's (collapse drives it to ~1 data sd) ...
    sd = np.exp(vae8.decoder_.log_sd.detach().numpy())
    assert (sd < 0.3).all(), sd
    # ... and the posterior means tell the modes apart
    x = eight.test[:1000]
    z = vae8.encode(x)
    assert z.shape == (1000, 2)
    label = np.argmin(((x[:, None] - CENTERS8[None]) ** 2).sum(-1), 1)
    centroids = np.stack([z[label == k].mean(0) for k in range(8)])
    pred = np.argmin(((z[:, None] - centroids[None]) ** 2).sum(-1), 1)
    assert (pred == label).mean() > 0.9


def test_iwae_bound_tightens_with_k_and_stays_below_the_truth(vae8, eight) -> None:
    x = eight.test[:1000]
    lp1 = vae8._log_prob(x, k=1).mean()
    lp10 = vae8._log_prob(x, k=10).mean()
    lp100 = vae8._log_prob(x, k=100).mean()
    assert lp1 < lp10 < lp100 + 1e-3
    assert vae8.log_prob(x[:50]).mean() == pytest.approx(
        vae8._log_prob(x[:50], k=10).mean()
    )  # default k = 10
    true = eight.log_density(x).mean()
    # cross-entropy >= entropy: a model's mean log density cannot beat the true density's (up to noise)
    assert true - 1.0 < lp100 < true + 0.05, (lp100, true)
    np.testing.assert_array_equal(vae8.log_prob(x[:50]), vae8.log_prob(x[:50]))  # fixed noise


def test_log_prob_is_in_the_data_units() -> None:
    x = genlab.load_dataset("8gaussians", n=600).train
    kw = {**FAST8, "latent_sampler": "prior", "iwae_k": 20}
    a = genlab.make_model("vae", **kw).fit(x, budget="30steps", seed=0, progress="off")
    b = genlab.make_model("vae", **kw).fit(x * 10.0, budget="30steps", seed=0, progress="off")
    # data standardised inside: the same network, and log p(10 x) = log p(x) - 2 log 10
    np.testing.assert_allclose(b.log_prob(x[:100] * 10.0), a.log_prob(x[:100]) - 2 * np.log(10.0), atol=2e-3)
    np.testing.assert_allclose(b.sample(100, seed=0), 10.0 * a.sample(100, seed=0), rtol=1e-3, atol=1e-3)


def test_digits_bound_improves_and_samples_look_like_the_data() -> None:
    ds = genlab.load_dataset("digits")
    kw = {"latent_dim": 8, "batch_size": 64, "iwae_k": 10, "latent_sampler": "prior"}
    short = genlab.make_model("vae", **kw).fit(ds, budget="10steps", seed=0, progress="off")
    long = genlab.make_model("vae", **kw).fit(ds, budget="120steps", seed=0, progress="off")
    test = ds.test[:200]
    assert long.log_prob(test).mean() > short.log_prob(test).mean() + 10.0  # nats per image
    x = long.sample(32, seed=0)
    assert x.shape == (32, 1, 8, 8) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert abs(x.mean() - ds.train.mean()) < 0.1  # the right amount of ink
    assert long.encode(test[:5]).shape == (5, 8) and long.decode(np.zeros((3, 8))).shape == (3, 1, 8, 8)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 12, 10)])
def test_conv_networks_fit_any_image_size(shape, tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, *shape)).astype(np.float32)
    m = genlab.make_model(
        "vae", latent_dim=4, channels=(8, 8, 8, 8), batch_size=8, iwae_k=2, likelihood="bernoulli"
    )
    m.fit(x, budget="2steps", seed=0, progress="off")
    s = m.sample(3, seed=0)
    assert s.shape == (3, *shape) and s.min() >= 0.0 and s.max() <= 1.0
    assert np.isfinite(m.log_prob(x[:2])).all()
    m.save(tmp_path / "m")
    np.testing.assert_array_equal(genlab.load(tmp_path / "m").sample(3, seed=0), s)


def test_bad_settings_are_named() -> None:
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    with pytest.raises(genlab.GenlabError, match="bernoulli"):
        genlab.make_model("vae", likelihood="bernoulli").fit(x, budget="1steps")
    with pytest.raises(genlab.GenlabError, match="latent_sampler"):
        genlab.make_model("vae", latent_sampler="flow").fit(x, budget="1steps")
    with pytest.raises(genlab.GenlabError, match="latent_dim"):
        genlab.make_model("vae", latent_dim=0).fit(x, budget="1steps")


def test_conditional_latent_gmm_is_one_per_class() -> None:
    """Conditioned on labels, latents are drawn from a GMM fitted to that class's posterior means: the
    mixture mean of an EM fit is its data's mean, so each class's draws average to its own encodings' mean.
    A model saved with one GMM for all classes (before this change) still samples."""
    import torch

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 80)
    x = (rng.normal(size=(240, 2)) * 0.5 + np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])[y]).astype(
        np.float32
    )
    m = genlab.make_model("vae", conditional=True, latent_dim=2, hidden=(32, 32), gmm_components=3)
    m.fit(x, labels=y, budget="200steps", seed=0, progress="off")
    w = m.gmm_["weights"]
    assert w.shape == (3, 3) and m.gmm_["means"].shape == (3, 3, 2) and np.allclose(w.sum(1), 1.0, atol=1e-5)
    z = m._encode(x, cond=y)
    g = torch.Generator().manual_seed(0)
    for j in range(3):
        draws = m._latents(4000, g, torch.full((4000,), j)).numpy()
        zj = z[y == j]
        se = np.sqrt(np.cov(draws.T).diagonal() / 4000)
        assert (np.abs(draws.mean(0) - zj.mean(0)) < 4 * se + 1e-3).all(), (j, draws.mean(0), zj.mean(0))
    old = {k: v[1] for k, v in m.gmm_.items()}  # one GMM (class 1's), as an older model stored it
    m.gmm_ = old
    assert np.isfinite(m.sample(50, seed=0, labels=0)).all()
