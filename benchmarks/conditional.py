"""Conditional models judged per class (issue 17): label accuracy and per-class Frechet distance of every
conditional family on digits and Fashion-MNIST (a 20,000-image subset), beside the real reference and the
same family fitted unconditioned at the same budget (slow; prints, asserts nothing).

    .venv/bin/python benchmarks/conditional.py [--datasets digits fashion-mnist] [--families vae diffusion ...]
        [--budget-digits 60s] [--budget-fashion 600s] [--fashion ../shared/data/fashion-mnist.npz]
        [--fashion-n 20000] [--guidance-n 200] [--stand-in]

Each family is built with `genlab.make_model(name, conditional=True)`; a family that refuses (not
conditional, or not for this data) is listed as skipped with its error. `--stand-in` replaces the families
with stand-in samplers (held-out images of the asked class, with 0% and 20% label noise; unconditioned:
the class ignored), to exercise the pipeline without fitting anything.

The goals of the issue, shown in the table: label accuracy within 5 points of the real reference for the
best family; every conditional family above 80% on digits; the unconditional metrics (FD, precision,
recall) no worse than the same family unconditioned.

Writes benchmarks/results/conditional.{json,md} (or conditional_standin.* with --stand-in).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402
from genlab.judge.perclass import accepts_guidance, guidance_sweep  # noqa: E402

IMAGE_FAMILIES = ("vae", "gan", "flow", "autoregressive", "diffusion", "ebm", "gaussian", "gmm", "kde")
UNCOND = ("frechet_distance", "precision", "recall")


class StandIn:
    """Held-out images of the class asked for, with label noise; `ignore=True`: the class is ignored."""

    name = "stand-in"

    def __init__(self, data: Any, *, noise: float = 0.0, ignore: bool = False) -> None:
        self.pool, self.pool_y = np.asarray(data.test), np.asarray(data.test_labels)
        self.freq = np.bincount(data.train_labels) / len(data.train_labels)
        self.class_names_ = list(data.class_names)
        self.n_classes_ = len(self.class_names_)
        self.shape_, self.is_fitted, self.noise = tuple(data.shape), True, noise
        self.conditional_ = False if ignore else "labels"

    def sample(self, n: int, *, seed: int | None = None, labels: Any = None) -> np.ndarray:
        rng = np.random.default_rng(seed)
        y = rng.choice(self.n_classes_, n, p=self.freq) if labels is None else np.asarray(labels).copy()
        flip = rng.random(n) < self.noise
        y[flip] = rng.integers(0, self.n_classes_, int(flip.sum()))
        out = np.empty((n, *self.shape_), np.float32)
        for c in np.unique(y):
            where, src = np.flatnonzero(y == c), np.flatnonzero(self.pool_y == c)
            reps = -(-len(where) // len(src))  # every image once before any twice
            out[where] = self.pool[np.concatenate([rng.permutation(src) for _ in range(reps)])[: len(where)]]
        return out


def load(name: str, fashion: str, fashion_n: int) -> Any:
    if name != "fashion-mnist":
        return genlab.load_dataset(name)
    ds = genlab.load_dataset(fashion)
    if fashion_n and fashion_n < len(ds.train):  # a subset, the same for every family; its own cache key
        ds.train, ds.train_labels = ds.train[:fashion_n], ds.train_labels[:fashion_n]
        ds.test, ds.test_labels = ds.test[: fashion_n // 5], ds.test_labels[: fashion_n // 5]
        ds.fingerprint = f"{ds.fingerprint}-first{fashion_n}"
    ds.name = "fashion-mnist"
    return ds


def summary(ev: Any) -> dict[str, Any]:
    d = ev.to_dict()
    out: dict[str, Any] = {k: d["rule1"][k]["value"] for k in UNCOND if k in d["rule1"]}
    out.update({f"{k}_reference": d["rule1"][k]["reference"] for k in UNCOND if k in d["rule1"]})
    out["verdict"] = {r: d["verdict"][r] for r in ("rule1", "rule2")}
    if "label_accuracy" in d["rule1"]:
        la = d["rule1"]["label_accuracy"]
        out["label_accuracy"], out["label_accuracy_reference"] = la["value"], la["reference"]
    pc = d.get("per_class")
    if pc:
        rows = pc["classes"]
        out["per_class"] = [
            {"name": r["name"], "fd": (r.get("frechet_distance") or {}).get("value"),
             "fd_reference": (r.get("frechet_distance") or {}).get("reference"),
             "label_accuracy": r["label_accuracy"]["value"], "copies": r["copies"], "failed": r["failed"]}
            for r in rows
        ]  # fmt: skip
        ratios = [
            r["fd"] / r["fd_reference"] for r in out["per_class"] if r["fd"] is not None and r["fd_reference"]
        ]
        out["per_class_fd_ratio_mean"] = float(np.mean(ratios)) if ratios else None
        out["worst_class"] = (pc.get("worst") or {}).get("name")
        out["failing_classes"] = [r["name"] for r in rows if r["failed"]]
    return out


def fit(name: str, ds: Any, budget: str, conditional: bool) -> tuple[Any, float]:
    model = genlab.make_model(name, conditional=True) if conditional else genlab.make_model(name)
    t = time.perf_counter()
    model.fit(ds, budget=budget, seed=0)
    return model, time.perf_counter() - t


def run_family(name: str, ds: Any, budget: str, args: argparse.Namespace) -> dict[str, Any]:
    row: dict[str, Any] = {"data": ds.name, "family": name, "budget": budget}
    try:
        if args.stand_in:
            noise = float(name.split("noise")[-1]) if "noise" in name else 0.0
            cond, uncond, t_c, t_u = StandIn(ds, noise=noise), StandIn(ds, ignore=True), 0.0, 0.0
        else:
            cond, t_c = fit(name, ds, budget, True)
            uncond, t_u = fit(name, ds, budget, False)
        ev = genlab.evaluate(cond, ds, seed=0)
        row["conditional"] = {**summary(ev), "fit_seconds": t_c}
        if accepts_guidance(cond) and args.guidance_n > 0:
            row["guidance"] = guidance_sweep(cond, ds, ev, n=args.guidance_n, seed=0)
        row["unconditioned"] = {**summary(genlab.evaluate(uncond, ds, seed=0)), "fit_seconds": t_u}
    except Exception as e:  # a family that is not conditional (yet) or fails here: recorded, not fatal
        row["skipped"] = f"{type(e).__name__}: {e}"
        print(traceback.format_exc(), file=sys.stderr)
    print({k: v for k, v in row.items() if k != "guidance"}, file=sys.stderr, flush=True)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    header = ["data", "family", "label acc", "real ref", "within 5 pts", "mean per-class FD / ref", "worst class",
              "failing classes", "FD cond / uncond", "recall cond / uncond", "Rule 1", "Rule 2"]  # fmt: skip
    out = []
    for r in rows:
        if "skipped" in r:
            out.append([r["data"], r["family"], "skipped: " + r["skipped"][:60], *[""] * (len(header) - 3)])
            continue
        c, u = r["conditional"], r["unconditioned"]
        la, ref = c.get("label_accuracy"), c.get("label_accuracy_reference")
        within = "yes" if la is not None and ref is not None and la >= ref - 0.05 else "no"
        out.append([
            r["data"], r["family"], f"{la:.1%}" if la is not None else "-", f"{ref:.1%}" if ref is not None else "-",
            within, c.get("per_class_fd_ratio_mean") or "-", c.get("worst_class") or "-",
            ", ".join(c.get("failing_classes") or []) or "none",
            f"{c['frechet_distance']:.3g} / {u['frechet_distance']:.3g}", f"{c['recall']:.3g} / {u['recall']:.3g}",
            c["verdict"]["rule1"], c["verdict"]["rule2"],
        ])  # fmt: skip
    return markdown_table(header, out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    p.add_argument("--families", nargs="+", default=None)
    p.add_argument("--budget-digits", default="60s")
    p.add_argument("--budget-fashion", default="600s")
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz", help="path to fashion-mnist.npz")
    p.add_argument("--fashion-n", type=int, default=20_000, help="training images of Fashion-MNIST used")
    p.add_argument("--guidance-n", type=int, default=200, help="samples per guidance scale (0: no sweep)")
    p.add_argument("--stand-in", action="store_true", help="stand-in samplers instead of the families")
    args = p.parse_args()
    families = args.families or (
        ["stand-in-noise0", "stand-in-noise0.2"] if args.stand_in else list(IMAGE_FAMILIES)
    )
    rows = []
    started = time.perf_counter()
    for name in args.datasets:
        if name == "fashion-mnist" and not Path(args.fashion).is_file():
            print(f"skipping fashion-mnist: {args.fashion} not found (pass --fashion PATH)", file=sys.stderr)
            continue
        ds = load(name, args.fashion, args.fashion_n)
        budget = args.budget_fashion if name == "fashion-mnist" else args.budget_digits
        rows += [run_family(f, ds, budget, args) for f in families]
    md = table(rows)
    sweeps = [r for r in rows if r.get("guidance")]
    for r in sweeps:
        g = r["guidance"]
        md += (
            f"\n\nGuidance sweep, {r['family']} on {r['data']} (n = {g['n']} per scale; reference "
            f"label accuracy {g['reference']['label_accuracy']:.1%}, recall {g['reference']['recall']:.3g}):\n\n"
        )
        md += markdown_table(["scale", "label accuracy", "precision", "recall"],
                             [[s, a, pr, rc] for s, a, pr, rc in zip(g["scales"], g["label_accuracy"], g["precision"],
                                                                     g["recall"], strict=True)])  # fmt: skip
    name = "conditional_standin" if args.stand_in else "conditional"
    write_results(name, {"rows": rows, "seconds": time.perf_counter() - started, "args": vars(args)}, md)


if __name__ == "__main__":
    main()
