"""The report's latent figures keep a slow encoder (a diffusion model's DDIM inversion) to seconds."""

from __future__ import annotations

import time

import genlab
from genlab.runs import figures


def test_latent_encode_cap_follows_the_encoders_speed(monkeypatch):
    ds = genlab.load_dataset("8gaussians", n=400)
    vae = genlab.make_model("vae").fit(ds, budget="30steps", seed=0, progress="off")
    assert figures.latent_encode_cap(vae, ds) == figures.LATENT_ENCODE_CAP  # a fast encoder: the whole cap
    monkeypatch.setattr(figures, "LATENT_ENCODE_SECONDS", 1.0)
    slow = type(vae)._encode

    def sleepy(self, x, cond=None):  # 10 ms an observation: about 100 of them in a second
        time.sleep(0.01 * len(x))
        return slow(self, x, cond) if cond is not None else slow(self, x)

    monkeypatch.setattr(type(vae), "_encode", sleepy)
    assert 100 <= figures.latent_encode_cap(vae, ds) <= 110
    monkeypatch.setattr(figures, "LATENT_ENCODE_SECONDS", 0.0)
    assert figures.latent_encode_cap(vae, ds) == 100  # never fewer than 100 for the figures
    gan = genlab.make_model("gan").fit(ds, budget="5steps", seed=0, progress="off")  # a decoder, no encoder
    assert figures.latent_encode_cap(gan, ds) == figures.LATENT_ENCODE_CAP
