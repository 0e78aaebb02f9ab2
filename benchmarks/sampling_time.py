"""Issue 13's sampling target: seconds to draw 2,000 Fashion-MNIST images, for every family, at the network
a 5-minute CPU budget sizes for them (the setting of the quality table).

    python benchmarks/sampling_time.py --fashion ../shared/data/fashion-mnist.npz
    python benchmarks/sampling_time.py --families diffusion --n 500

The time to sample depends on the network and the sampler, not on how well the network is trained, so
each family is fitted for a few steps only (`--fit-steps`), with the sizes that `genlab.models.sizing`
picks for a 300 s budget on this machine, then timed drawing `--n` images with its default sampler
(wall clock, torch's default threads: what a person running `genlab sample` waits). Target: under 30 s
for 2,000 images. Writes benchmarks/results/sampling_time.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import load  # noqa: E402

import genlab  # noqa: E402
from genlab.budget import parse_budget  # noqa: E402
from genlab.models.sizing import SIZING, choose  # noqa: E402

TARGET_S = 30.0
FAMILIES = ["gaussian", "gmm", "kde", "copula", "vae", "gan", "flow", "autoregressive", "diffusion", "ebm"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=FAMILIES)
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--budget", default="300s", help="the budget whose sizing is timed (default 300s)")
    ap.add_argument("--fit-steps", type=int, default=20)
    ap.add_argument("--out", default="sampling_time")
    args = ap.parse_args()
    ds = load("fashion-mnist", args.fashion, 5000)
    rows: list[dict[str, Any]] = []
    for fam in args.families:
        neural = fam in SIZING  # the sized (image) families; the baselines have no budget or watch
        sized = choose(fam, ds.shape, parse_budget(args.budget)) if neural else {}
        params = {k: v for k, v in sized.items() if k != "batch_size"}
        m = genlab.make_model(fam, **params)
        fit_budget = f"{args.fit_steps}steps" if neural else None
        m.fit(ds, budget=fit_budget, seed=0, **({"watch": "off", "progress": "off"} if neural else {}))
        m.sample(8, seed=1)  # warm-up: first-call allocations are not what a second draw costs
        t0 = time.perf_counter()
        m.sample(args.n, seed=2)
        s = time.perf_counter() - t0
        rows.append({"family": fam, "sizes": params, "n": args.n, "seconds": s, "ok": s < TARGET_S})
        print(rows[-1], file=sys.stderr, flush=True)
    md = markdown_table(
        ["family", f"sizes ({args.budget} budget)", "images", "sample s", f"< {TARGET_S:g} s"],
        [[r["family"], r["sizes"] or "-", r["n"], f"{r['seconds']:.1f}", "met" if r["ok"] else "missed"]
         for r in rows],
    )  # fmt: skip
    write_results(args.out, {"budget": args.budget, "rows": rows}, md)


if __name__ == "__main__":
    main()
