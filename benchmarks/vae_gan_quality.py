"""Quality figures behind the VAE and GAN defaults (slow; prints, asserts nothing).

- 8gaussians: share of samples within 3 sd of a mode, for the VAE with the "gmm" and the "prior" latent
  sampler, with and without KL warm-up, and for the GAN.
- Rule 1 (genlab.evaluate) on 8gaussians and digits for the two latent samplers of one trained VAE,
  and for the Gaussian and Bernoulli image likelihoods.

    .venv/bin/python benchmarks/vae_gan_quality.py [--steps 3000] [--digits-steps 1500]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import genlab  # noqa: E402
from genlab.data.toys import CENTERS8, SD8  # noqa: E402

RULE1 = ("frechet_distance", "precision", "recall", "coverage", "c2st_accuracy")


def near_mode(x: np.ndarray) -> tuple[float, int]:
    d = np.sqrt(((x[:, None, :] - CENTERS8[None]) ** 2).sum(-1))
    near = d.min(1) < 3 * SD8
    return float(near.mean()), int((np.bincount(d.argmin(1)[near], minlength=8) > 0).sum())


def rule1(model, ds) -> str:
    from genlab.evaluate import evaluate

    r = evaluate(model, ds).to_dict()["rule1"]
    return "  ".join(f"{k} {r[k]['value']:.3f}" for k in RULE1 if k in r)


def with_prior(model):
    """The same VAE, sampling its latents from N(0, I)."""
    twin = genlab.make_model("vae", **{**model.get_params(), "latent_sampler": "prior"})
    twin.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    twin.gmm_ = None
    return twin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--digits-steps", type=int, default=1500)
    args = ap.parse_args()
    eight = genlab.load_dataset("8gaussians")
    budget = f"{args.steps}steps"

    print(f"== 8gaussians, {budget}: share of samples within 3 sd of a mode (modes hit)")
    for label, params in [
        ("vae defaults", {}),
        ("vae latent_dim=2", {"latent_dim": 2}),
        ("vae no KL warm-up", {"kl_warmup_steps": 0}),
    ]:
        t = time.time()
        m = genlab.make_model("vae", **params).fit(eight, budget=budget, seed=0, progress="off")
        sd = np.exp(m.decoder_.log_sd.detach().numpy()).round(3)
        g, p = near_mode(m.sample(5000, seed=1)), near_mode(with_prior(m).sample(5000, seed=1))
        print(
            f"{label:<22} gmm {g[0]:.3f} ({g[1]})  prior {p[0]:.3f} ({p[1]})  noise sd {sd}  {time.time() - t:.0f}s"
        )
        if not params:
            print(f"   rule 1, gmm:   {rule1(m, eight)}")
            print(f"   rule 1, prior: {rule1(with_prior(m), eight)}")
    t = time.time()
    gan = genlab.make_model("gan").fit(eight, budget=budget, seed=0, progress="off")
    s = near_mode(gan.sample(5000, seed=1))
    print(f"{'gan defaults':<22} {s[0]:.3f} ({s[1]})  {time.time() - t:.0f}s")

    digits = genlab.load_dataset("digits")
    budget = f"{args.digits_steps}steps"
    print(f"== digits, {budget}: rule 1")
    for lik in ("gaussian", "bernoulli"):
        m = genlab.make_model("vae", likelihood=lik).fit(digits, budget=budget, seed=0, progress="off")
        kl = [r for r in m.train_result_.history if "losses" in r][-1]["losses"]["kl"]
        print(f"vae {lik:<9} gmm:   {rule1(m, digits)}  (KL {kl:.1f} nats)")
        print(f"vae {lik:<9} prior: {rule1(with_prior(m), digits)}")


if __name__ == "__main__":
    main()
