"""The report's latent figures keep a slow encoder or decoder (a diffusion model's DDIM) to seconds."""

from __future__ import annotations

import genlab
from genlab.runs import figures


class Clock:
    """A stand-in for the `time` module: perf_counter moves only when a patched network says it worked, so
    the budget follows the declared speeds exactly, whatever the machine's load (sleeps did not: on a busy
    CI machine the real work added enough to move the figures)."""

    def __init__(self) -> None:
        self.t = 0.0

    def perf_counter(self) -> float:
        return self.t


def test_latent_budget_follows_the_models_speed(monkeypatch):
    ds = genlab.load_dataset("8gaussians", n=400)
    vae = genlab.make_model("vae").fit(ds, budget="30steps", seed=0, progress="off")
    clock = Clock()
    monkeypatch.setattr(figures, "time", clock)
    full = (figures.LATENT_ENCODE_CAP, figures.LATENT_GRID, 6)
    assert figures.latent_budget(vae, ds) == full  # a fast model (no time passes): the whole figures
    monkeypatch.setattr(figures, "LATENT_SECONDS", 2.0)
    enc, dec = type(vae)._encode, type(vae)._decode

    def slow(fn, per_row):
        def wrapped(self, x, *args, **kwargs):
            clock.t += per_row * len(x)
            return fn(self, x, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(type(vae), "_encode", slow(enc, 0.01))  # 100 rows/s: 100 in 1 s (half of 2)
    monkeypatch.setattr(type(vae), "_decode", slow(dec, 0.02))  # 50 rows/s: 100 decodes in 2 s, a 10 x 10 map
    # at most what the declared speeds allow; the pilot's shape probes (a row or two) may cost a little more
    max_encode, grid, pairs = figures.latent_budget(vae, ds)
    assert 60 <= max_encode <= 100 and 8 <= grid <= 10 and pairs == (6 if max_encode >= 100 else 3)
    monkeypatch.setattr(type(vae), "_encode", slow(enc, 0.02))  # 50 rows/s: at most 50 encoded, so 3 pairs
    monkeypatch.setattr(type(vae), "_decode", slow(dec, 0.08))  # 12.5 rows/s: at most 25 decodes, a 5 x 5 map
    max_encode, grid, pairs = figures.latent_budget(vae, ds)
    assert 30 <= max_encode <= 50 and grid == 5 and pairs == 3
    monkeypatch.setattr(figures, "LATENT_SECONDS", 0.0)
    floors = (figures.LATENT_MIN_ENCODE, figures.LATENT_MIN_GRID, 3)
    assert figures.latent_budget(vae, ds) == floors
    gan = genlab.make_model("gan").fit(ds, budget="5steps", seed=0, progress="off")  # a decoder, no encoder
    monkeypatch.setattr(figures, "LATENT_SECONDS", 10.0)
    assert figures.latent_budget(gan, ds) == full
