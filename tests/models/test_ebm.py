"""Energy-based family: Langevin lowers the energy, samples of 8gaussians cover the modes, the replay
buffer is saved, and there is no log_prob (the density is unnormalised). One model per module."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import genlab
from genlab.data.toys import CENTERS8, SD8


@pytest.fixture(scope="module")
def data():
    return genlab.load_dataset("8gaussians", n=3000, seed=0)


@pytest.fixture(scope="module")
def model(data):
    m = genlab.make_model("ebm", hidden=128, depth=3, batch_size=128, buffer_size=2000)
    return m.fit(data, budget="400steps", seed=0, progress=False)


def mode_stats(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Share of points within 3 sd of their nearest mode, and each mode's share of those."""
    d = np.linalg.norm(x[:, None] - CENTERS8[None], axis=-1)  # (n, 8)
    near = d.min(1) < 3 * SD8
    return float(near.mean()), np.bincount(d.argmin(1)[near], minlength=8) / len(x)


def test_langevin_lowers_the_energy(model, data) -> None:
    m = copy.copy(model)
    start = m.set_params(sample_steps=0).sample(500, seed=3)  # the uniform noise the chains start from
    end = m.set_params(sample_steps=100).sample(500, seed=3)
    e_start, e_end = m.energy(start), m.energy(end)
    assert e_start.shape == (500,) and e_start.dtype == np.float64
    assert e_end.mean() < e_start.mean() - 0.1, (e_start.mean(), e_end.mean())
    assert m.energy(data.test[:500]).mean() < e_start.mean() - 0.1  # data sits lower than noise


@pytest.mark.parametrize("init", ["noise", "buffer"])
def test_samples_cover_the_8gaussians_modes(model, init: str) -> None:
    x = copy.copy(model).set_params(init=init).sample(1000, seed=1)
    near, share = mode_stats(x)
    assert near >= 0.85, f"init={init}: only {near:.3f} of samples within 3 sd of a mode"
    assert share.min() >= 0.05, f"init={init}: a mode is (nearly) missing: shares {share.round(3)}"


def test_replay_buffer_is_saved(model, tmp_path) -> None:
    assert model.replay_.shape == (2000, 2)
    m = copy.copy(model).set_params(init="buffer", sample_steps=10)
    m.save(tmp_path / "m")
    loaded = genlab.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.replay_.numpy(), model.replay_.numpy())
    np.testing.assert_array_equal(loaded.sample(50, seed=4), m.sample(50, seed=4))
    np.testing.assert_array_equal(
        loaded.energy(np.zeros((3, 2), np.float32)), m.energy(np.zeros((3, 2), np.float32))
    )


def test_no_log_prob_but_energy(model) -> None:
    with pytest.raises(genlab.NotSupported, match=r"unnormalised.*energy\(x\)"):
        model.log_prob(np.zeros((2, 2), np.float32))
    with pytest.raises(genlab.DataError, match="shape"):
        model.energy(np.zeros((2, 3), np.float32))
    with pytest.raises(genlab.NotFittedError):
        genlab.make_model("ebm").energy(np.zeros((2, 2), np.float32))


def test_bad_settings_are_named(model) -> None:
    with pytest.raises(genlab.GenlabError, match="init"):
        copy.copy(model).set_params(init="data").sample(3)
    with pytest.raises(genlab.GenlabError, match="sample_steps"):
        copy.copy(model).set_params(sample_steps=-1).sample(3)
    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    with pytest.raises(genlab.GenlabError, match="reinit"):
        genlab.make_model("ebm", hidden=8, reinit=2.0).fit(x, budget="2steps", progress=False)


def test_images_stay_in_the_pixel_range() -> None:
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 17, size=(40, 1, 7, 6)) / 16).astype(np.float32)  # odd sizes on purpose
    m = genlab.make_model("ebm", channels=8, batch_size=20, langevin_steps=3, sample_steps=5, buffer_size=64)
    m.fit(x, budget="3steps", progress=False)
    s = m.sample(4, seed=0)
    assert s.shape == (4, 1, 7, 6) and s.min() >= 0 and s.max() <= 1
    assert m.energy(x[:3]).shape == (3,)


def test_spectral_norm_round_trip(tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    m = genlab.make_model("ebm", hidden=16, depth=2, spectral_norm=True, batch_size=32, buffer_size=64)
    m.fit(x, budget="5steps", progress=False).save(tmp_path / "sn")
    loaded = genlab.load(tmp_path / "sn")
    np.testing.assert_array_equal(loaded.energy(x[:8]), m.energy(x[:8]))
    np.testing.assert_array_equal(loaded.sample(8, seed=1), m.sample(8, seed=1))
