"""The judge on known degradations of real images (issue 14): every case's verdicts beside the right ones.

    python benchmarks/judge.py --fashion ../shared/data/fashion-mnist.npz      # digits + all of Fashion-MNIST
    python benchmarks/judge.py --fashion-train 5000 --fashion-test 2000        # a Fashion-MNIST subset
    python benchmarks/judge.py --quick                                         # digits only

Each case of `genlab.judge.degradations.DEGRADATIONS` (fresh held-out images, blurred, noised, contrast
halved, classes dropped, training copies plain / noised / mirrored / half, collapsed samples) is judged
with the default "auto" features at their default training length, all metrics computed (diagnostics
too), n = half the test split (the other half gives the fresh images). Also: the calibration of the copy
shares over fresh samples with several seeds (`--seeds`), the numbers docs/metrics.md quotes.

Writes benchmarks/results/judge.{json,md}.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402
from genlab.judge.degradations import DEGRADATIONS, judge_cases  # noqa: E402
from genlab.judge.features import make_extractor  # noqa: E402


def fashion(path: str, n_train: int | None, n_test: int | None) -> Any:
    full = genlab.load_dataset(path)
    if not n_train and not n_test:
        return full
    out = copy.copy(full)
    a, b = n_train or len(full.train), n_test or len(full.test)
    out.train, out.train_labels = full.train[:a], full.train_labels[:a]
    out.test, out.test_labels = full.test[:b], full.test_labels[:b]
    out.fingerprint = f"{full.fingerprint}-{a}-{b}"
    return out


def row(case: Any, ev: Any, data: str, seconds: float) -> dict[str, Any]:
    v, g = ev.verdict, ev.verdict["graded"]
    r1, r2 = ev.rule1, ev.rule2
    out = {
        "data": data,
        "case": case.name,
        "n": ev.n,
        "rule1": v["rule1"],
        "rule1_right": case.expected("rule1", data),
        "rule1_graded": g["rule1"],
        "rule2": v["rule2"],
        "rule2_right": case.expected("rule2", data),
        "rule2_graded": g["rule2"],
        "seconds": round(seconds, 2),
    }
    for key in ("frechet_distance", "precision", "recall", "coverage", "c2st_accuracy"):
        out[key] = (r1[key]["value"], r1[key]["reference"])
    for key in (
        "copy_share",
        "near_copy_share",
        "ct",
        "memorization_rate",
        "authenticity",
        "closer_to_train_share",
    ):
        out[key] = (r2[key]["value"], r2[key]["reference"])
    out["n_eff"] = r2["copy_share"]["n_eff"]
    return out


def run_table(ds: Any, data: str, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    t = time.perf_counter()
    ext = make_extractor("auto", ds)
    info = {**ext.info, "build_seconds": round(time.perf_counter() - t, 1)}
    rows = []
    for case in DEGRADATIONS:
        t = time.perf_counter()
        [(c, ev)] = judge_cases(ds, [case], features=ext, seed=seed)
        rows.append(row(c, ev, data, time.perf_counter() - t))
        r = rows[-1]
        print(f"{data:14s} {c.name:24s} rule1 {r['rule1']:4s} (right {r['rule1_right']}) rule2 {r['rule2']:4s} "
              f"(right {r['rule2_right']}) {r['seconds']:.1f}s", flush=True)  # fmt: skip
    return rows, info


def calibrate(ds: Any, data: str, seeds: int) -> dict[str, Any]:
    """Fresh samples with `seeds` different evaluation seeds (different reference rows and fresh pools):
    the standardised differences (value - reference) / sigma of the copy shares, and any false failure."""
    ext = make_extractor("auto", ds)
    fresh = [c for c in DEGRADATIONS if c.name == "fresh"]
    z: dict[str, list[float]] = {"copy_share": [], "near_copy_share": []}
    fails = {"rule1": 0, "rule2": 0}
    for s in range(seeds):
        [(_, ev)] = judge_cases(ds, fresh, features=ext, seed=s)
        for k in z:
            e, c = ev.rule2[k], ev.verdict["checks"][k]
            sigma = c.get("sigma")
            if sigma:
                z[k].append((e["value"] - e["reference"]) / sigma)
        for rule in fails:
            fails[rule] += ev.verdict[rule] == "fail"
    return {
        "data": data,
        "seeds": seeds,
        "false_fails": fails,
        **{f"{k}_z_mean": float(np.mean(v)) for k, v in z.items()},
        **{f"{k}_z_sd": float(np.std(v, ddof=1)) for k, v in z.items()},
        **{f"{k}_z_max": float(np.max(v)) for k, v in z.items()},
    }


def _cell(verdict: str, right: str, g: dict[str, Any]) -> str:
    score = g.get("score")
    text = f"{verdict} ({g['answer']}{'' if score is None else f', {score:.3g}'})"
    return text if verdict == right else f"**{text} WRONG**"


def markdown(rows: list[dict[str, Any]], info: dict[str, Any], calib: list[dict[str, Any]], load: str) -> str:
    out = [f"Load average at the start: {load}. Verdict (graded answer, score); the right verdicts beside.\n"]
    for data in dict.fromkeys(r["data"] for r in rows):
        part = [r for r in rows if r["data"] == data]
        f = info[data]
        out.append(f"### {data}: n = {part[0]['n']} samples per case; features {f['kind']} ({f['dim']}-d, "
                   f"{f.get('quality')}, built in {f['build_seconds']} s{' from the cache' if f.get('cached') else ''})\n")  # fmt: skip
        wrong = sum((r["rule1"] != r["rule1_right"]) + (r["rule2"] != r["rule2_right"]) for r in part)
        out.append(markdown_table(
            ["case", "Rule 1", "right", "Rule 2", "right", "FD (ref)", "recall (ref)", "copy share (ref)",
             "near-copy (ref)", "n_eff", "C_T (ref)"],
            [[r["case"], _cell(r["rule1"], r["rule1_right"], r["rule1_graded"]), r["rule1_right"],
              _cell(r["rule2"], r["rule2_right"], r["rule2_graded"]), r["rule2_right"],
              f"{r['frechet_distance'][0]:.3g} ({r['frechet_distance'][1]:.3g})",
              f"{r['recall'][0]:.2f} ({r['recall'][1]:.2f})",
              f"{r['copy_share'][0]:.3f} ({r['copy_share'][1]:.3f})",
              f"{r['near_copy_share'][0]:.3f} ({r['near_copy_share'][1]:.3f})", r["n_eff"],
              f"{r['ct'][0]:.3g} ({r['ct'][1]:.3g})"] for r in part],
        ))  # fmt: skip
        out.append(f"\n{wrong} wrong verdicts of {2 * len(part)}.\n")
    if calib:
        out.append("### Calibration of the copy shares: fresh samples, one evaluation seed each\n")
        out.append(markdown_table(
            ["data", "seeds", "false fails (rule1, rule2)", "copy z mean / sd / max", "near-copy z mean / sd / max"],
            [[c["data"], c["seeds"], f"{c['false_fails']['rule1']}, {c['false_fails']['rule2']}",
              f"{c['copy_share_z_mean']:.2f} / {c['copy_share_z_sd']:.2f} / {c['copy_share_z_max']:.2f}",
              f"{c['near_copy_share_z_mean']:.2f} / {c['near_copy_share_z_sd']:.2f} / "
              f"{c['near_copy_share_z_max']:.2f}"] for c in calib],
        ))  # fmt: skip
        out.append(
            "\nz = (value - reference) / sigma with the effective-sample-size sigma; the limit is z = 4."
        )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    p.add_argument("--fashion-train", type=int, default=None, help="use the first N training images")
    p.add_argument("--fashion-test", type=int, default=None, help="use the first N test images")
    p.add_argument(
        "--seeds", type=int, default=10, help="calibration evaluations of fresh samples per data set"
    )
    p.add_argument("--quick", action="store_true", help="digits only, 3 calibration seeds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="judge")
    args = p.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    sets = [("digits", genlab.load_dataset("digits", test_fraction=0.5))]
    if not args.quick and Path(args.fashion).is_file():
        sets.append(("fashion-mnist", fashion(args.fashion, args.fashion_train, args.fashion_test)))
    elif not args.quick:
        print(f"skipping fashion-mnist: {args.fashion} not found (pass --fashion PATH)", file=sys.stderr)
    rows, info, calib = [], {}, []
    for name, ds in sets:
        r, info[name] = run_table(ds, name, args.seed)
        rows += r
    for name, ds in sets:
        calib.append(calibrate(ds, name, 3 if args.quick else args.seeds))
    write_results(args.out, {"load": load, "rows": rows, "features": info, "calibration": calib},
                  markdown(rows, info, calib, load))  # fmt: skip


if __name__ == "__main__":
    main()
