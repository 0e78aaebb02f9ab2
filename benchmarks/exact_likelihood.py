"""Exact-likelihood families (issue 4): how close flows get to the truth, and PixelCNN bits per dimension.

On toy sets with a known density the held-out gap mean_x[log_density(x) - log_prob(x)] over test points
estimates KL(p_data || p_model) >= 0 in nats: no model can beat the data's entropy, so the gap is exact up to
sampling error (printed as +- one standard error). Targets: flow within 0.05 nats on `8gaussians` and 0.06
on `checkerboard`, each in at most 2 minutes on the CPU. The autoregressive family reports bits per
dimension on `digits` (an exact probability mass of the 17-level images).

Budgets are in steps so runs are reproducible; wall-clock and CPU seconds are printed (on a shared machine
the CPU seconds of this process are the fairer figure). Prints, never asserts.

    python benchmarks/exact_likelihood.py                 # everything (about 6-8 CPU minutes)
    python benchmarks/exact_likelihood.py --only flow     # one family
    python benchmarks/exact_likelihood.py --quick         # a smoke run with a tenth of the steps
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402

# (family, dataset, hyperparameters, steps, target gap in nats or None)
TOY_RUNS = [
    ("flow", "8gaussians", {}, 3000, 0.05),
    ("flow", "checkerboard", {}, 3000, 0.06),
    ("autoregressive", "8gaussians", {}, 1500, None),
    ("autoregressive", "checkerboard", {}, 1500, None),
]
# (family, hyperparameters, steps) on digits, scored in bits per dimension
DIGITS_RUNS = [
    ("autoregressive", {}, 1500),
    ("flow", {}, 600),
]


def timed_fit(model, data, steps: int, seed: int):
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(data, budget=f"{steps}steps", seed=seed, progress="off")
    return time.perf_counter() - wall, time.process_time() - cpu


def toy_run(family: str, dataset: str, params: dict, steps: int, target: float | None, seed: int) -> dict:
    ds = genlab.load_dataset(dataset, seed=seed)
    model = genlab.make_model(family, **params)
    wall, cpu = timed_fit(model, ds, steps, seed)
    truth = ds.log_density(ds.test)
    gap = truth - model.log_prob(ds.test)  # per test point; its mean estimates KL(p_data || p_model)
    kl, se = float(gap.mean()), float(gap.std(ddof=1) / math.sqrt(len(gap)))
    verdict = (
        "" if target is None else ("  target {:.2f}: {}".format(target, "MET" if kl <= target else "missed"))
    )
    print(
        f"{family:15s} {dataset:13s} {steps:5d} steps  entropy {-truth.mean():.3f}  "
        f"KL {kl:.4f} +- {se:.4f} nats  wall {wall:6.1f}s  cpu {cpu:6.1f}s{verdict}",
        flush=True,
    )
    return {
        "family": family,
        "data": dataset,
        "steps": steps,
        "kl_nats": kl,
        "kl_se": se,
        "target": target,
        "wall_s": wall,
        "cpu_s": cpu,
    }


def digits_run(family: str, params: dict, steps: int, seed: int) -> dict:
    ds = genlab.load_dataset("digits", seed=seed)
    model = genlab.make_model(family, **params)
    wall, cpu = timed_fit(model, ds, steps, seed)
    if family == "flow":  # continuous density: bits per dimension after dequantisation (an upper bound)
        test, train = model.bits_per_dim(ds.test, seed=seed), model.bits_per_dim(ds.train[:1000], seed=seed)
    else:  # exact discrete mass
        test, train = model.bits_per_dim(ds.test), model.bits_per_dim(ds.train[:1000])
    t = time.perf_counter()
    model.sample(64, seed=seed)
    print(
        f"{family:15s} digits        {steps:5d} steps  levels {model.levels_}  bits/dim test {test.mean():.4f} "
        f"(train {train.mean():.4f}; uniform {math.log2(model.levels_):.4f})  "
        f"nats/image test {test.mean() * 64 * math.log(2):.2f}  wall {wall:6.1f}s  cpu {cpu:6.1f}s  "
        f"64 samples {time.perf_counter() - t:.1f}s",
        flush=True,
    )
    return {
        "family": family,
        "data": "digits",
        "steps": steps,
        "bits_per_dim_test": float(test.mean()),
        "bits_per_dim_train": float(train.mean()),
        "wall_s": wall,
        "cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["flow", "autoregressive"], help="run one family")
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: comparable CPU seconds)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scale = 0.1 if args.quick else 1.0
    print(
        f"genlab {genlab.__version__}, torch {torch.__version__}, {args.threads} thread(s), seed {args.seed}"
    )
    rows = []
    for family, dataset, params, steps, target in TOY_RUNS:
        if args.only in (None, family):
            rows.append(toy_run(family, dataset, params, max(1, int(steps * scale)), target, args.seed))
    for family, params, steps in DIGITS_RUNS:
        if args.only in (None, family):
            rows.append(digits_run(family, params, max(1, int(steps * scale)), args.seed))
    table = markdown_table(
        ["family", "data", "steps", "result", "target", "CPU s", "wall s"],
        [
            [
                r["family"],
                r["data"],
                r["steps"],
                f"KL {r['kl_nats']:.3f} ± {r['kl_se']:.3f} nats"
                if "kl_nats" in r
                else f"{r['bits_per_dim_test']:.3f} bits/dim (train {r['bits_per_dim_train']:.3f})",
                "–" if r.get("target") is None else f"<= {r['target']}",
                f"{r['cpu_s']:.0f}",
                f"{r['wall_s']:.0f}",
            ]
            for r in rows
        ],
    )
    write_results("exact_likelihood_quick" if args.quick else "exact_likelihood", {"rows": rows}, table)


if __name__ == "__main__":
    main()
