"""Tiny fitted models for the explorer tests: a few training steps each, so the suite stays fast. The
page decodes whatever the weights are, so the tests need no well-trained model."""

from __future__ import annotations

import pytest

import genlab


@pytest.fixture(scope="session")
def tins16():
    return genlab.load_dataset("tins", n=200, size=16)


@pytest.fixture(scope="session")
def moons():
    return genlab.load_dataset("moons", n=400)


@pytest.fixture(scope="session")
def tins_vae(tins16):
    """The issue's tiny tins VAE: 2-D latent, conv decoder, Gaussian likelihood (its decode clamps)."""
    return genlab.make_model("vae", latent_dim=2, channels=(8, 16)).fit(tins16, budget="20steps")


@pytest.fixture(scope="session")
def demo_like_vae():
    """The demo's tins VAE architecture (32x32, channels 8-16-32, Bernoulli: decode is a sigmoid), few steps."""
    data = genlab.load_dataset("tins", n=200, size=32)
    model = genlab.make_model(
        "vae", latent_dim=2, channels=(8, 16, 32), likelihood="bernoulli", beta=4.0, batch_size=32
    ).fit(data, budget="10steps")
    return model, data


@pytest.fixture(scope="session")
def tins_gan(tins16):
    return genlab.make_model("gan", latent_dim=3, channels=(8, 16), batch_size=32).fit(
        tins16, budget="3steps"
    )


@pytest.fixture(scope="session")
def digits():
    return genlab.load_dataset("digits")


@pytest.fixture(scope="session")
def digits_cvae(digits):
    """A class-conditional VAE on digits (8x8, 2-D latent), a few steps: its decoder takes the class."""
    return genlab.make_model("vae", latent_dim=2, conditional=True).fit(digits, budget="20steps")
