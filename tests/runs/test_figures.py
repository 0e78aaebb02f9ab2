"""The report's latent figures keep a slow encoder or decoder (a diffusion model's DDIM) to seconds."""

from __future__ import annotations

import time

import genlab
from genlab.runs import figures


def test_latent_budget_follows_the_models_speed(monkeypatch):
    ds = genlab.load_dataset("8gaussians", n=400)
    vae = genlab.make_model("vae").fit(ds, budget="30steps", seed=0, progress="off")
    full = (figures.LATENT_ENCODE_CAP, figures.LATENT_GRID, 6)
    assert figures.latent_budget(vae, ds) == full  # a fast model: the whole figures
    monkeypatch.setattr(figures, "LATENT_SECONDS", 2.0)
    enc, dec = type(vae)._encode, type(vae)._decode

    def slow(fn, per_row):
        def wrapped(self, x, *args, **kwargs):
            time.sleep(per_row * len(x))
            return fn(self, x, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(type(vae), "_encode", slow(enc, 0.01))  # 100 rows/s: about 100 in 1 s (half of 2)
    monkeypatch.setattr(type(vae), "_decode", slow(dec, 0.02))  # 50 rows/s: 100 decodes in 2 s, a 10 x 10 map
    max_encode, grid, pairs = figures.latent_budget(vae, ds)
    assert (
        70 <= max_encode <= 100 and 8 <= grid <= 10
    )  # at most the sleeps allow; the real work costs a little
    assert pairs == (6 if max_encode >= 100 else 3)  # fewer interpolation pairs for a slow encoder
    monkeypatch.setattr(figures, "LATENT_SECONDS", 0.0)
    floors = (figures.LATENT_MIN_ENCODE, figures.LATENT_MIN_GRID, 3)
    assert figures.latent_budget(vae, ds) == floors
    gan = genlab.make_model("gan").fit(ds, budget="5steps", seed=0, progress="off")  # a decoder, no encoder
    monkeypatch.setattr(figures, "LATENT_SECONDS", 10.0)
    assert figures.latent_budget(gan, ds) == full
