"""How tabddpm's defaults were chosen: timesteps T and training steps, on a 5,000-row subsample of diamonds.

    python benchmarks/tabddpm_defaults.py [--data DIR]

Each setting is fitted once (seed 0) and judged by `genlab.evaluate` on n = 1,000 held-out rows; the
table gives the table scores beside their held-out references, fit and sampling seconds.
Results: benchmarks/results/tabddpm_defaults.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [  # (timesteps, training steps)
    (100, 2000), (200, 2000), (1000, 2000), (200, 1000), (200, 4000),
]  # fmt: skip
N = 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data")
    args = p.parse_args()
    if not (args.data / "diamonds.csv").is_file():
        args.data = Path("/work/shared/data")
    import torch

    torch.set_num_threads(1)
    sub = pd.read_csv(args.data / "diamonds.csv").sample(5000, random_state=0).reset_index(drop=True)
    ds = genlab.load_dataset(sub)
    rows = []
    for timesteps, steps in SETTINGS:
        m = genlab.make_model("tabddpm", timesteps=timesteps)
        t0 = time.perf_counter()
        m.fit(ds, budget=f"{steps}steps", seed=0, progress="off")
        fit_s = time.perf_counter() - t0
        ev = genlab.evaluate(m, ds, n=N, seed=0)
        r1 = ev.rule1
        rows.append({
            "timesteps": timesteps, "steps": steps, "fit_s": fit_s, "sample_s": ev.sample_seconds,
            **{k: r1[k]["value"] for k in ("column_shapes", "pair_trends", "tstr", "c2st_accuracy")},
            **{f"{k}_ref": r1[k]["reference"] for k in ("column_shapes", "pair_trends", "tstr")},
            "dcr": ev.rule2["dcr"]["value"], "rule1": ev.verdict["rule1"], "rule2": ev.verdict["rule2"],
        })  # fmt: skip
        print(rows[-1], flush=True)
    header = [
        "T",
        "steps",
        "fit s",
        "sample s (n=1000)",
        "col shapes",
        "pair trends",
        "TSTR",
        "C2ST",
        "rule 1",
        "rule 2",
    ]
    table = [
        [r["timesteps"], r["steps"], round(r["fit_s"], 1), round(r["sample_s"], 1),
         f"{r['column_shapes']:.3f} ({r['column_shapes_ref']:.3f})", f"{r['pair_trends']:.3f} ({r['pair_trends_ref']:.3f})",
         f"{r['tstr']:.3f} ({r['tstr_ref']:.3f})", round(r["c2st_accuracy"], 3), r["rule1"], r["rule2"]]
        for r in rows
    ]  # fmt: skip
    write_results("tabddpm_defaults", {"rows": rows, "n": N}, markdown_table(header, table))


if __name__ == "__main__":
    main()
