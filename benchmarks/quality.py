"""Every family on every benchmark data set at a fixed CPU budget, judged by Rule 1 and Rule 2.

    python benchmarks/quality.py                      # full budgets: 60 s per toy, 5 min per small set, 20 min FMNIST
    python benchmarks/quality.py --scale 0.1          # a quick pass (budgets x 0.1)
    python benchmarks/quality.py --datasets digits --families gmm vae

Writes benchmarks/results/quality.{json,md} and prints the table last, and a picture of every family's
samples beside held-out data per data set: benchmarks/results/samples_<data>.png. Closed-form families (gaussian, gmm, kde)
ignore the budget. Each metric is shown as value (reference), the reference being held-out real data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, markdown_table, near_mode, pixel_prdc, run_header, write_results  # noqa: E402

import genlab  # noqa: E402

TOYS = ("8gaussians", "checkerboard")
BUDGET_S = {"toy": 60.0, "small": 300.0, "fashion-mnist": 1200.0}
# Settings a user would pick per data kind; everything else is the family's default.
IMAGE_SETTINGS: dict[str, dict[str, Any]] = {
    "kde": {"pca": 32},
    "gmm": {"n_components": 10, "covariance_type": "diag"},
}
VECTOR_SETTINGS: dict[str, dict[str, Any]] = {"gmm": {"n_components": 8}}


def load(name: str, fashion: str, fashion_n: int | None, fashion_test: int | None = None) -> Any:
    if name == "fashion-mnist":
        ds = genlab.load_dataset(fashion)
        if fashion_n:  # a subsample for quick passes, same split for every family
            n_test = fashion_test or fashion_n // 5
            ds.train, ds.train_labels = ds.train[:fashion_n], ds.train_labels[:fashion_n]
            ds.test, ds.test_labels = ds.test[:n_test], ds.test_labels[:n_test]
            ds.fingerprint = f"{ds.fingerprint}-{fashion_n}-{n_test}"  # the subset's own feature cache
        ds.name = "fashion-mnist"
        return ds
    return genlab.load_dataset(name, **({"n": 5000} if name == "tins" else {}))


def budget_for(name: str, scale: float, override: dict[str, float] | None = None) -> str:
    """The fit budget on data set `name`: `override` by the data set's name or its group (toy, small,
    fashion-mnist), as given, else the group's full budget times `scale`."""
    key = "toy" if name in TOYS else ("fashion-mnist" if name == "fashion-mnist" else "small")
    for k in (name, key):
        if override and k in override:
            return f"{override[k]:.0f}s"
    return f"{max(2.0, BUDGET_S[key] * scale):.0f}s"


def parse_budgets(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--budget {item!r}: expected NAME=SECONDS (e.g. digits=60)")
        out[name] = float(value)
    return out


def run_one(
    family: str, ds: Any, budget: str, n_eval: int, seed: int, root: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit through `genlab.runs.fit_run` into a run folder under `root`, judged by the same evaluation a
    user gets; the judged samples are reused for the picture (nothing is sampled twice)."""
    from genlab.runs import fit_run

    settings = (IMAGE_SETTINGS if ds.kind == "image" else VECTOR_SETTINGS).get(family, {})
    res = fit_run(ds, family, hyper=settings, out=root / f"{ds.name}-{family}", budget=budget, seed=seed,
                  evaluate=False, force=True, progress="off")  # fmt: skip
    model = res.model
    n = min(n_eval, len(ds.test))
    t0 = time.perf_counter()
    ev = genlab.evaluate(model, ds, n=n, seed=seed)
    eval_s = time.perf_counter() - t0
    row: dict[str, Any] = {
        "family": family,
        "settings": settings,
        "budget": budget,
        "fit_s": res.seconds,
        "sample_s": ev.sample_seconds,
        "eval_s": eval_s,
        "n": n,
        "evaluation": ev.to_dict(),
    }
    if ds.name == "8gaussians":  # issue 13: the share within 3 sd of a mode, and the modes reached
        row["near_mode_share"], row["modes_reached"] = near_mode(ev.samples)
    if ds.name == "digits":  # issue 13: prdc on standardised pixels (the reference package)
        row["pixel_prdc"] = pixel_prdc(ds, ev.samples)
    if ds.log_density is not None and model.log_prob_kind is not None:
        row["kl_gap_nats"] = float(np.mean(ds.log_density(ds.test) - model.log_prob(ds.test)))
    return row, ev.samples


def sample_picture(name: str, ds: Any, samples: dict[str, np.ndarray]) -> Path:
    """Images: one row of 12 samples per family under a row of held-out data. Vectors: one scatter each."""
    from genlab.viz.images import image_grid
    from genlab.viz.plots import new_panels, save_figure

    shown = {"held-out data": ds.test, **samples}
    if ds.kind == "image":
        fig, axes = new_panels(1, width=9.0, height=0.85, nrows=len(shown))
        for ax, (label, x) in zip(axes[:, 0], shown.items(), strict=True):
            grid = image_grid(np.clip(x[:12], 0, 1), nrow=12)
            ax.imshow(grid[..., 0] if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    else:
        cols = min(5, len(shown))
        rows = -(-len(shown) // cols)
        fig, axes = new_panels(cols, width=2.6, height=2.6, nrows=rows)
        lo, hi = np.percentile(ds.test[:, :2], [0.5, 99.5], axis=0)
        pad = 0.1 * (hi - lo)
        for ax in axes.ravel()[len(shown) :]:
            ax.axis("off")
        for ax, (label, x) in zip(axes.ravel(), shown.items(), strict=False):
            ax.scatter(*x[:2000, :2].T, s=1, alpha=0.4, color="C0" if label != "held-out data" else "0.3")
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0]), ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(label, fontsize=10)
    return save_figure(fig, RESULTS / f"samples_{name}.png")


def _vr(ev: dict[str, Any], rule: str, key: str) -> str:
    m = ev.get(rule, {}).get(key)
    if not isinstance(m, dict) or m.get("value") is None:
        return "–"
    ref = m.get("reference")
    return f"{m['value']:.3g}" + (f" ({ref:.3g})" if isinstance(ref, int | float) else "")


def _graded(ev: dict[str, Any], rule: str) -> str:
    """The strict verdict with the graded score beside it (tolerances off the reference; docs/metrics.md)."""
    g = (ev["verdict"].get("graded") or {}).get(rule) or {}
    score = g.get("score")
    return ev["verdict"][rule] + (f" ({score:.3g})" if isinstance(score, int | float) else "")


NEURAL = ("vae", "gan", "flow", "autoregressive", "diffusion", "ebm", "tabddpm")


def fashion_targets(rows: list[dict[str, Any]]) -> str:
    """Issue 13's Fashion-MNIST targets: every neural family recall and coverage >= 0.3; the best neural
    family ahead of the KDE on FD; at least three families with FD below 10."""
    fm = {
        r["family"]: r["evaluation"]["rule1"]
        for r in rows
        if r.get("data") == "fashion-mnist" and "error" not in r
    }
    if not fm:
        return ""
    body = [[f, f"{m['recall']['value']:.3f}", "yes" if m["recall"]["value"] >= 0.3 else "no",
             f"{m['coverage']['value']:.3f}", "yes" if m["coverage"]["value"] >= 0.3 else "no",
             f"{m['frechet_distance']['value']:.3g}", "yes" if m["frechet_distance"]["value"] < 10 else "no"]
            for f, m in fm.items() if f in NEURAL]  # fmt: skip
    fd = {f: m["frechet_distance"]["value"] for f, m in fm.items()}
    neural = [f for f in fd if f in NEURAL]
    best = min(neural, key=fd.get) if neural else None
    lines = [markdown_table(["family", "recall", ">= 0.3", "coverage", ">= 0.3", "FD", "< 10"], body)]
    if best and "kde" in fd:
        ahead = "ahead of" if fd[best] < fd["kde"] else "behind"
        lines.append(f"Best neural family on FD: {best} ({fd[best]:.3g}), {ahead} the KDE ({fd['kde']:.3g}); "
                     f"families with FD below 10: {sum(v < 10 for v in fd.values())} (target: at least 3).")  # fmt: skip
    return "\n\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    header = [
        "data",
        "family",
        "fit s",
        "sample s",
        "FD",
        "precision",
        "recall",
        "coverage",
        "C2ST acc",
        "NLL/dim",
        "KL gap",
        "copy share",
        "C_T",
        "Rule 1",
        "Rule 2",
    ]
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["data"], r["family"], "error", r["error"][:60], *["–"] * 11])
            continue
        ev = r["evaluation"]
        out.append(
            [
                r["data"],
                r["family"],
                f"{r['fit_s']:.0f}",
                f"{r['sample_s']:.2f}",
                _vr(ev, "rule1", "frechet_distance"),
                _vr(ev, "rule1", "precision"),
                _vr(ev, "rule1", "recall"),
                _vr(ev, "rule1", "coverage"),
                _vr(ev, "rule1", "c2st_accuracy"),
                _vr(ev, "rule1", "nll_per_dim"),
                f"{r['kl_gap_nats']:.3f}" if "kl_gap_nats" in r else "–",
                _vr(ev, "rule2", "copy_share"),
                _vr(ev, "rule2", "ct"),
                _graded(ev, "rule1"),
                _graded(ev, "rule2"),
            ]
        )
    extra = [
        [r["data"], r["family"], f"{r['near_mode_share']:.3f}", r["modes_reached"]]
        for r in rows
        if "near_mode_share" in r
    ]
    prdc_rows = [
        [r["data"], r["family"], *(f"{r['pixel_prdc'][k]:.3f}" for k in ("precision", "recall", "density", "coverage"))]
        for r in rows
        if "pixel_prdc" in r
    ]  # fmt: skip
    parts = [markdown_table(header, out)]
    if extra:
        parts.append(
            markdown_table(["data", "family", "share within 3 sd of a mode", "modes reached (of 8)"], extra)
        )
    if prdc_rows:
        parts.append(markdown_table(["data", "family", "pixel precision", "pixel recall", "pixel density",
                                     "pixel coverage"], prdc_rows))  # fmt: skip
    targets = fashion_targets(rows)
    if targets:
        parts.append(targets)
    return "\n\n".join(parts)


def retable(name: str) -> None:
    """Rewrite benchmarks/results/NAME.md from NAME.json with the current table layout (no refitting);
    the header keeps the run's own date, machine and command."""
    payload = json.loads((RESULTS / f"{name}.json").read_text())
    (RESULTS / f"{name}.md").write_text(run_header(payload["machine"]) + table(payload["rows"]) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--datasets", nargs="+", default=["8gaussians", "checkerboard", "digits", "tins", "fashion-mnist"]
    )
    p.add_argument("--families", nargs="+", default=genlab.list_models())
    p.add_argument("--scale", type=float, default=1.0, help="multiply every budget by this")
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz", help="path to fashion-mnist.npz")
    p.add_argument("--fashion-n", type=int, default=None, help="use only this many training images")
    p.add_argument("--fashion-test", type=int, default=None, help="and this many test images (default n / 5)")
    p.add_argument("--budget", nargs="*", default=[], metavar="NAME=SECONDS",
                   help="budget per data set or group (toy, small, fashion-mnist), e.g. digits=60 tins=120")  # fmt: skip
    p.add_argument("--n-eval", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="quality")
    p.add_argument("--retable", metavar="NAME", help="only rewrite results/NAME.md from NAME.json")
    args = p.parse_args()
    if args.retable:
        retable(args.retable)
        return

    import tempfile

    root = Path(tempfile.mkdtemp(prefix="genlab-quality-"))
    rows: list[dict[str, Any]] = []
    budgets = parse_budgets(args.budget)
    for name in args.datasets:
        if name == "fashion-mnist" and not Path(args.fashion).is_file():
            print(f"skipping fashion-mnist: {args.fashion} not found (pass --fashion PATH)", file=sys.stderr)
            continue
        ds = load(name, args.fashion, args.fashion_n, args.fashion_test)
        budget = budget_for(name, args.scale, budgets)
        samples: dict[str, np.ndarray] = {}
        for family in args.families:
            print(f"[{name}] {family} (budget {budget}) ...", file=sys.stderr, flush=True)
            try:
                row, samples[family] = run_one(family, ds, budget, args.n_eval, args.seed, root)
                sample_picture(name, ds, samples)
            except Exception as e:  # a benchmark reports a failure and goes on
                traceback.print_exc()
                row = {"family": family, "error": f"{type(e).__name__}: {e}"}
            row["data"] = name
            rows.append(row)
            write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows), quiet=True)  # partial
    write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows))


if __name__ == "__main__":
    main()
