"""Speed and memory of genlab's evaluation (issue 6), in one run on one machine. Prints figures and
pass/fail against the targets; asserts nothing.

    python benchmarks/eval_speed.py            # the issue's sizes (the 70k evaluation takes a while on a CPU)
    python benchmarks/eval_speed.py --quick    # small sizes, a smoke run

1. precision/recall/density/coverage, 10,000 vs 10,000 64-d features: genlab vs the `prdc` package
   (target: genlab at least 3x faster), with their largest disagreement.
2. Frechet distance of 2,048-d features: genlab's symmetric eigen route vs the usual `scipy.linalg.sqrtm`
   route (as in pytorch-fid), both from the same means and covariances (target: at least 3x faster).
3. A full `evaluate_features` of 70,000 generated vs 70,000 test (and 70,000 training) 64-d features in
   a fresh subprocess; its peak resident memory (VmHWM, or getrusage's ru_maxrss where /proc is
   missing; torch allocations are invisible to tracemalloc) (target: within 2 GB).
4. `--families`: what `genlab evaluate RUN` does (`genlab.runs.evaluate_run`: the evaluation, its record
   and the report's figures) for a run of every image family on Fashion-MNIST (each fitted for a short
   budget first; the "auto" features built once beforehand and cached, as after any fit), timed per family
   with its sampling, held-out NLL and figures shares (target: at most 60 s each). Records the load.

    python benchmarks/eval_speed.py --only families --fashion ../shared/data/fashion-mnist.npz
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def make_features(n: int, d: int, seed: int) -> np.ndarray:
    """n draws (by `seed`) from one fixed distribution of correlated, non-Gaussian features: a random
    linear map of a 10-component Gaussian mixture."""
    fixed = np.random.default_rng(12345)
    centers, mix = fixed.normal(size=(10, d)) * 2, fixed.normal(size=(d, d)) / np.sqrt(d)
    rng = np.random.default_rng(seed)
    z = centers[rng.integers(0, 10, n)] + rng.normal(size=(n, d))
    return (z @ mix).astype(np.float32)


def _best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_prdc(n: int, d: int, k: int = 5) -> dict:
    from prdc import compute_prdc

    from genlab.judge.metrics import manifold_stats

    real, fake = make_features(n, d, 0).astype(np.float64), make_features(n, d, 1).astype(np.float64)
    t_ours, ours = _best_of(lambda: manifold_stats(real, fake, k_pr=k, k_dc=k), 2)  # float64, as prdc
    r32, f32 = real.astype(np.float32), fake.astype(np.float32)
    t_ours32, _ = _best_of(lambda: manifold_stats(r32, f32, k_pr=k, k_dc=k), 2)

    def theirs_fn():
        with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
            return compute_prdc(real, fake, k)

    t_theirs, theirs = _best_of(theirs_fn, 1)
    diff = max(
        abs(getattr(ours, key) - float(theirs[key])) for key in ("precision", "recall", "density", "coverage")
    )
    return {
        "n": n,
        "d": d,
        "genlab_s": t_ours,
        "genlab32_s": t_ours32,
        "prdc_s": t_theirs,
        "ratio": t_theirs / t_ours,
        "max_abs_diff": diff,
    }


def bench_fd(n: int, d: int) -> dict:
    import scipy.linalg

    from genlab.judge.metrics import frechet_distance_from_moments, moments

    t0 = time.perf_counter()
    (mu1, s1), (mu2, s2) = moments(make_features(n, d, 2)), moments(make_features(n, d, 3))
    t_moments = time.perf_counter() - t0

    def sqrtm_route() -> float:
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        covmean = covmean.real if np.iscomplexobj(covmean) else covmean
        diff = mu1 - mu2
        return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

    t_ours, ours = _best_of(lambda: frechet_distance_from_moments(mu1, s1, mu2, s2), 2)
    t_theirs, theirs = _best_of(sqrtm_route, 1)
    return {
        "n": n,
        "d": d,
        "moments_s": t_moments,
        "genlab_s": t_ours,
        "sqrtm_s": t_theirs,
        "ratio": t_theirs / t_ours,
        "fd": ours,
        "rel_diff": abs(ours - theirs) / abs(theirs),
    }


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process image, so unlike ru_maxrss it
    does not inherit the parent's peak across fork and exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_memory(n: int, d: int) -> None:
    """Runs in a fresh process: a full evaluation on features, then report peak memory as JSON."""
    from genlab.judge import evaluate_features

    train, test, gen = make_features(n, d, 4), make_features(n, d, 5), make_features(n, d, 6)
    base = _peak_mb()
    t = time.perf_counter()
    ev = evaluate_features(train, test, gen, seed=0)
    seconds = time.perf_counter() - t
    out = {"n": n, "d": d, "seconds": seconds, "peak_mb": _peak_mb(), "before_eval_mb": base}
    print(json.dumps({**out, "rule1": ev.verdict["rule1"], "rule2": ev.verdict["rule2"]}))


def bench_memory(n: int, d: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child-memory", str(n), str(d)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


IMAGE_FAMILIES = ("gaussian", "vae", "gan", "flow", "autoregressive", "diffusion", "ebm")


def bench_families(fashion: str, families: list[str], budget: str, n: int | None) -> list[dict]:
    """Fit each family for `budget` into a run folder, then time what `genlab evaluate RUN` does
    (`genlab.runs.evaluate_run`: the evaluation, evaluation.json and the report's figures) on Fashion-MNIST,
    with the "auto" features cached first, as after any fit."""
    import tempfile

    import genlab
    from genlab.judge import measures
    from genlab.judge.features import make_extractor
    from genlab.runs import evaluate_run, fit_run

    ds = genlab.load_dataset(fashion)
    t = time.perf_counter()
    make_extractor("auto", ds)  # the feature network, built once and cached (as after the first fit)
    print(f"features built (or loaded) in {time.perf_counter() - t:.1f}s", flush=True)
    root = Path(tempfile.mkdtemp(prefix="genlab-evalspeed-"))
    rows = []
    for name in families:
        t = time.perf_counter()
        res = fit_run(ds, name, out=root / name, budget=budget, seed=0, evaluate=False, progress="off")
        fit_s = time.perf_counter() - t
        nll_s = [0.0]
        orig = measures.nll_per_dim

        def timed(ctx, _orig=orig, _acc=nll_s):
            t0 = time.perf_counter()
            try:
                return _orig(ctx)
            finally:
                _acc[0] += time.perf_counter() - t0

        measures.nll_per_dim = timed  # the spec loads the function by name, so this times it
        try:
            load = os.getloadavg()[0]
            t = time.perf_counter()
            ev = evaluate_run(res.run_dir, n=n, model=res.model, dataset=ds)
            total = time.perf_counter() - t
        finally:
            measures.nll_per_dim = orig
        nll = ev.rule1.get("nll_per_dim") or {}
        row = {
            "family": name,
            "fit_budget": budget,
            "fit_s": round(fit_s, 1),
            "evaluate_s": round(total, 1),
            "judging_s": round(ev.seconds, 1),
            "figures_s": round(total - ev.seconds, 1),
            "sampling_s": round(ev.sample_seconds, 1),
            "nll_s": round(nll_s[0], 1),
            "nll_points": nll.get("n"),
            "n": ev.n,
            "n_choice": ev.n_choice,
            "load": round(load, 2),
            "ok": total <= 60.0,
        }
        rows.append(row)
        print(f"[{'PASS' if row['ok'] else 'FAIL'}] genlab evaluate {name}: {total:.1f}s (judging {row['judging_s']}s "
              f"of which sampling {row['sampling_s']}s and NLL {row['nll_s']}s on {row['nll_points']} points; "
              f"figures {row['figures_s']}s; n = {ev.n}; load {load:.1f}; target <= 60 s)", flush=True)  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=("prdc", "fd", "memory", "families"),
        default=("prdc", "fd", "memory"),
        help="parts to run",
    )
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument(
        "--families", nargs="+", default=list(IMAGE_FAMILIES), help="families for --only families"
    )
    ap.add_argument("--family-budget", default="30s", help="fit budget of each family before its evaluation")
    ap.add_argument("--family-n", type=int, default=None, help="evaluate with this n (default: 10,000)")
    ap.add_argument(
        "--memory-n", type=int, default=None, help="size of the full-evaluation part (default 70,000)"
    )
    ap.add_argument("--out", default=None, help="results name (default eval_speed, eval_speed_quick)")
    ap.add_argument("--child-memory", nargs=2, type=int, metavar=("N", "D"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_memory:
        child_memory(*args.child_memory)
        return

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import markdown_table, write_results

    sizes = (2_000, 512, 10_000) if args.quick else (10_000, 2_048, 70_000)
    rows: list[list] = []
    payload: dict = {}
    print(f"cpu cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, torch {torch.__version__}")

    if "prdc" in args.only:
        p = bench_prdc(sizes[0], 64)
        ok = p["ratio"] >= 3 and p["max_abs_diff"] <= 1e-6
        print(
            f"[{'PASS' if ok else 'FAIL'}] precision/recall/density/coverage {p['n']:,} vs {p['n']:,} x {p['d']}-d: "
            f"genlab {p['genlab_s']:.2f}s (float64; {p['genlab32_s']:.2f}s in float32), prdc {p['prdc_s']:.2f}s -> "
            f"{p['ratio']:.1f}x faster in float64 (target >= 3x); largest difference {p['max_abs_diff']:.1e} "
            f"(target <= 1e-6)",
            flush=True,
        )
        payload["prdc"] = p
        rows.append(
            [
                f"precision/recall/density/coverage, {p['n']:,} vs {p['n']:,} x {p['d']}-d",
                f"{p['genlab_s']:.2f}s",
                f"prdc {p['prdc_s']:.2f}s",
                f"{p['ratio']:.1f}x faster",
                ">= 3x",
                "PASS" if ok else "FAIL",
            ]
        )

    if "fd" in args.only:
        f = bench_fd(5_000, sizes[1])
        ok = f["ratio"] >= 3 and f["rel_diff"] < 1e-6
        print(
            f"[{'PASS' if ok else 'FAIL'}] Frechet distance {f['d']}-d (from moments of {f['n']:,} features, "
            f"{f['moments_s']:.2f}s for both): eigen {f['genlab_s']:.2f}s, sqrtm {f['sqrtm_s']:.2f}s -> "
            f"{f['ratio']:.1f}x faster (target >= 3x); relative difference {f['rel_diff']:.1e}",
            flush=True,
        )
        payload["fd"] = f
        rows.append(
            [
                f"Frechet distance, {f['d']}-d",
                f"{f['genlab_s']:.2f}s",
                f"sqrtm {f['sqrtm_s']:.2f}s",
                f"{f['ratio']:.1f}x faster",
                ">= 3x",
                "PASS" if ok else "FAIL",
            ]
        )

    if "memory" in args.only:
        m = bench_memory(args.memory_n or sizes[2], 64)
        ok = m["peak_mb"] <= 2048
        print(
            f"[{'PASS' if ok else 'FAIL'}] full evaluation {m['n']:,} vs {m['n']:,} (and {m['n']:,} train) x "
            f"{m['d']}-d: {m['seconds']:.0f}s, peak memory {m['peak_mb']:.0f} MB (after making the features, "
            f"before evaluating: {m['before_eval_mb']:.0f} MB; target <= 2048 MB); "
            f"verdicts rule1={m['rule1']}, rule2={m['rule2']}",
            flush=True,
        )
        payload["memory"] = m
        rows.append(
            [
                f"full evaluation, {m['n']:,} vs {m['n']:,} x {m['d']}-d",
                f"{m['seconds']:.0f}s",
                "–",
                f"peak {m['peak_mb']:.0f} MB",
                "<= 2048 MB",
                "PASS" if ok else "FAIL",
            ]
        )

    if "families" in args.only:
        fam = bench_families(args.fashion, args.families, args.family_budget, args.family_n)
        payload["families"] = fam
        payload["load_at_start"] = os.getloadavg()
        for r in fam:
            rows.append(
                [
                    f"genlab evaluate RUN, {r['family']} on Fashion-MNIST (n = {r['n']:,}; load {r['load']})",
                    f"{r['evaluate_s']:.1f}s",
                    f"judging {r['judging_s']}s (sampling {r['sampling_s']}s, NLL {r['nll_s']}s on "
                    f"{r['nll_points']} points), figures {r['figures_s']}s",
                    f"{r['evaluate_s']:.1f}s",
                    "<= 60 s",
                    "PASS" if r["ok"] else "FAIL",
                ]
            )

    table = markdown_table(["measurement", "genlab", "reference", "result", "target", "verdict"], rows)
    write_results(args.out or ("eval_speed_quick" if args.quick else "eval_speed"), payload, table)


if __name__ == "__main__":
    main()
