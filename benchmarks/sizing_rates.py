"""Measure the cost of every sizing rung (genlab.models.sizing.SIZING): milliseconds per training step on
28x28x1 Fashion-MNIST images at the CPU batch size, through the ordinary `fit` (engine, EMA, logging).

    python benchmarks/sizing_rates.py                     # every family, 10 s per rung
    python benchmarks/sizing_rates.py --families gan vae --seconds 20
    python benchmarks/sizing_rates.py --families flow --out sizing_rates_flow   # one family added later

Each figure is the steady rate: the per-step log's time from step 2 to the last step over the steps
between, so the first step's set-up and the closing validation do not count (the first run of this
script divided wall time by steps, which on 1-5-step fits measured mostly the set-up). Writes
benchmarks/results/sizing_rates.{json,md} with the load average beside the figures (the costs in
sizing.py are these figures, rounded; on a loaded machine they run high, which makes sizing choose
smaller networks, the safe side).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import load  # noqa: E402

import genlab  # noqa: E402
from genlab.models.sizing import SIZING  # noqa: E402

WARM = 2  # steps left out of the rate: the first step's set-up (allocations, Fabric wrappers)


def steady_rate(
    fam: str, params: dict[str, Any], batch: int, ds: Any, seconds: float
) -> tuple[int, float, float]:
    """(steps, wall seconds, ms per step) of one fit: the rate from the per-step log between step WARM and
    the last step, so neither the set-up nor the closing validation counts. A fit that takes fewer than
    WARM + 4 steps in `seconds` is rerun for exactly that many."""
    for budget in (f"{seconds:g}s", f"{WARM + 4}steps"):
        m = genlab.make_model(fam, **params, batch_size=batch)
        m.fit(ds, budget=budget, seed=0, watch="off", progress="off", val_every=10**6, log_every=1)
        r = m.train_result_
        log = [h for h in r.history if "event" not in h and "time" in h]
        if len(log) >= WARM + 4:
            a, b = log[WARM - 1], log[-1]
            return r.steps, r.seconds, 1000.0 * (b["time"] - a["time"]) / (b["step"] - a["step"])
    raise SystemExit(f"{fam} {params}: the log has too few steps to measure a rate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=list(SIZING))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--out", default="sizing_rates", help="results name (a family measured alone: its own)")
    args = ap.parse_args()
    ds = load("fashion-mnist", args.fashion, 5000)
    rows: list[dict[str, Any]] = []
    for fam in args.families:
        spec = SIZING[fam]
        for k, rung in enumerate(spec.rungs):
            load1 = os.getloadavg()[0]
            steps, seconds, ms = steady_rate(fam, rung.params, spec.batch_cpu, ds, args.seconds)
            rows.append({"family": fam, "rung": k, "params": rung.params, "steps": steps,
                         "seconds": seconds, "ms_per_step": ms, "table_ms": rung.ms_per_step,
                         "load1": load1})  # fmt: skip
            print(rows[-1], file=sys.stderr, flush=True)
    md = markdown_table(
        ["family", "rung", "params", "steps", "s", "ms/step measured", "ms/step in sizing.py", "load (1 min)"],
        [[r["family"], r["rung"], r["params"], r["steps"], f"{r['seconds']:.1f}", f"{r['ms_per_step']:.0f}",
          f"{r['table_ms']:g}", f"{r['load1']:.1f}"] for r in rows],
    )  # fmt: skip
    write_results(args.out, {"seconds": args.seconds, "rows": rows}, md)


if __name__ == "__main__":
    main()
