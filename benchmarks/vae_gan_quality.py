"""Quality figures behind the VAE and GAN defaults (slow; prints, asserts nothing).

- 8gaussians: share of samples within 3 sd of a mode, for the VAE with the "gmm" and the "prior" latent
  sampler, with and without KL warm-up, and for the GAN.
- Rule 1 (genlab.evaluate) on 8gaussians and digits for the two latent samplers of one trained VAE,
  and for the Gaussian and Bernoulli image likelihoods.

    .venv/bin/python benchmarks/vae_gan_quality.py [--steps 3000] [--digits-steps 1500]

Writes benchmarks/results/vae_gan_quality.{json,md} and prints the table last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, near_mode, write_results  # noqa: E402

import genlab  # noqa: E402

RULE1 = ("frechet_distance", "precision", "recall", "coverage", "c2st_accuracy")


def rule1(model, ds) -> dict[str, float]:
    from genlab.judge import evaluate

    r = evaluate(model, ds).to_dict()["rule1"]
    return {k: r[k]["value"] for k in RULE1 if k in r}


def with_prior(model):
    """The same VAE, sampling its latents from N(0, I)."""
    twin = genlab.make_model("vae", **{**model.get_params(), "latent_sampler": "prior"})
    twin.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    twin.gmm_ = None
    return twin


def row(data: str, model: str, sampler: str, budget: str, **figures: Any) -> dict[str, Any]:
    r = {"data": data, "model": model, "latent sampler": sampler, "budget": budget, **figures}
    print(r, file=sys.stderr, flush=True)
    return r


def table(rows: list[dict[str, Any]]) -> str:
    header = ["data", "model", "latent sampler", "budget", "near a mode (modes hit)", *RULE1, "note"]

    def cell(r: dict[str, Any], k: str) -> str:
        return f"{r['rule1'][k]:.3g}" if "rule1" in r and k in r["rule1"] else "–"

    out = []
    for r in rows:
        near = f"{r['near_mode']:.3f} ({r['modes']})" if "near_mode" in r else "–"
        fixed = [r["data"], r["model"], r["latent sampler"], r["budget"], near]
        out.append([*fixed, *[cell(r, k) for k in RULE1], r.get("note", "")])
    return markdown_table(header, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--digits-steps", type=int, default=1500)
    args = ap.parse_args()
    eight = genlab.load_dataset("8gaussians")
    budget = f"{args.steps}steps"
    rows: list[dict[str, Any]] = []

    for label, params in [
        ("vae defaults", {}),
        ("vae latent_dim=2", {"latent_dim": 2}),
        ("vae no KL warm-up", {"kl_warmup_steps": 0}),
    ]:
        t = time.time()
        m = genlab.make_model("vae", **params).fit(eight, budget=budget, seed=0, progress="off")
        sd = [round(float(v), 3) for v in np.exp(m.decoder_.log_sd.detach().numpy())]
        note = f"decoder noise sd {sd}, {time.time() - t:.0f}s"
        for sampler, model in (("gmm", m), ("prior", with_prior(m))):
            share, modes = near_mode(model.sample(5000, seed=1))
            extra = {"rule1": rule1(model, eight)} if not params else {}
            rows.append(
                row("8gaussians", label, sampler, budget, near_mode=share, modes=modes, note=note, **extra)
            )
    t = time.time()
    gan = genlab.make_model("gan").fit(eight, budget=budget, seed=0, progress="off")
    share, modes = near_mode(gan.sample(5000, seed=1))
    rows.append(
        row(
            "8gaussians",
            "gan defaults",
            "–",
            budget,
            near_mode=share,
            modes=modes,
            note=f"{time.time() - t:.0f}s",
        )
    )

    digits = genlab.load_dataset("digits")
    budget = f"{args.digits_steps}steps"
    for lik in ("gaussian", "bernoulli"):
        m = genlab.make_model("vae", likelihood=lik).fit(digits, budget=budget, seed=0, progress="off")
        kl = [r for r in m.train_result_.history if "losses" in r][-1]["losses"]["kl"]
        for sampler, model in (("gmm", m), ("prior", with_prior(m))):
            rows.append(
                row(
                    "digits",
                    f"vae likelihood={lik}",
                    sampler,
                    budget,
                    rule1=rule1(model, digits),
                    note=f"KL {kl:.1f} nats",
                )
            )
    write_results("vae_gan_quality", {"rows": rows}, table(rows))


if __name__ == "__main__":
    main()
