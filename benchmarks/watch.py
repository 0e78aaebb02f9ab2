"""The Rule 2 watch on real images: when does a diffusion model start copying, and what does watching cost?

    python benchmarks/watch.py --fashion ../shared/data/fashion-mnist.npz                # 256, 1024, 4096 images
    python benchmarks/watch.py --sizes 256 --steps 3000 --quick                          # a short smoke run
    python benchmarks/watch.py --false-stops                                             # every family on digits

For each training-set size, diffusion is trained for a fixed number of steps twice, through the same
`genlab.runs.fit_run` a user gets: once with the watch warning only (so the run goes to the end: the
checks give the whole curve, the step where copying starts is the first failing check, and the final model
is the unwatched one), and once with the watch stopping (the kept model). Both are judged by
`genlab.evaluate` on held-out images. `--false-stops` fits every neural family on all of digits at its
default budget with the watch on and reports whether any was stopped.

Writes benchmarks/results/watch.{json,md} and benchmarks/results/watch_curves.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402
from genlab.runs import fit_run  # noqa: E402

#: what the benchmark keeps of each watch check (genlab.judge.watch.Rule2Watch.check): the stop rule's copy
#: shares with their limits, the diagnostics C_T and memorisation, and fidelity (FD beside its reference)
CHECK_KEYS = ("step", "fail", "copy_share", "copy_share_reference", "copy_share_limit", "near_copy_share",
              "near_copy_share_reference", "near_copy_share_limit", "ct", "ct_reference", "memorization_rate",
              "memorization_reference", "frechet_distance", "frechet_reference", "check_seconds")  # fmt: skip


def subset(ds: Any, n: int, n_test: int) -> Any:
    """The first n training and n_test test images of Fashion-MNIST (its file order is already shuffled)."""
    import copy

    out = copy.copy(ds)
    out.train, out.train_labels = ds.train[:n], ds.train_labels[:n]
    out.test, out.test_labels = ds.test[:n_test], ds.test_labels[:n_test]
    out.name = f"fashion-mnist-{n}"
    out.fingerprint = f"{ds.fingerprint}-{n}-{n_test}"
    return out


def first_fail(log: list[dict[str, Any]]) -> int | None:
    return next((r["step"] for r in log if r.get("event") == "watch" and r.get("fail")), None)


def summary(ev: Any) -> dict[str, Any]:
    d = ev.to_dict()
    pick = {
        f"{r}.{k}": d[r][k]["value"] for r in ("rule1", "rule2") for k in d[r] if isinstance(d[r][k], dict)
    }
    return {"rule1": d["verdict"]["rule1"], "rule2": d["verdict"]["rule2"], **pick}


def sizes_part(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    full = genlab.load_dataset(args.fashion)
    rows = []
    for n in args.sizes:
        ds = subset(full, n, args.n_test)
        row: dict[str, Any] = {"n_train": n, "steps": args.steps}
        for action in ("warn", "stop"):
            t0 = time.perf_counter()
            res = fit_run(ds, "diffusion", out=root / f"{n}-{action}", budget=f"{args.steps}steps", seed=0,
                          watch="rule2", watch_action=action, progress="plain" if args.verbose else "off",
                          evaluate=False)  # fmt: skip
            fit_s = time.perf_counter() - t0
            ev = genlab.evaluate(res.model, ds, n=min(args.n_test, 1000), seed=0)
            w = res.model.train_result_.watch
            log = res.model.train_result_.history
            row[action] = {
                "fit_s": fit_s,
                "steps_done": res.model.train_result_.steps,
                "watch_checks": w["checks"],
                "watch_s": w["seconds"],
                "watch_share": w["seconds"] / max(fit_s, 1e-9),
                "first_failing_check": first_fail(log),
                "stopped": w["stopped"],
                "evaluation": summary(ev),
                "checks": [
                    {k: r.get(k) for k in CHECK_KEYS}
                    for r in log if r.get("event") == "watch"
                ],
            }  # fmt: skip
            print(f"[{n}] {action}: {row[action]['steps_done']} steps, first failing check "
                  f"{row[action]['first_failing_check']}, Rule 2 {row[action]['evaluation']['rule2']}", flush=True)  # fmt: skip
        rows.append(row)
    return rows


def false_stops_part(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    ds = genlab.load_dataset("digits")
    rows = []
    for family in ("vae", "gan", "flow", "autoregressive", "diffusion", "ebm"):
        t0 = time.perf_counter()
        res = fit_run(ds, family, out=root / f"digits-{family}", seed=0, watch="rule2", evaluate=False,
                      progress="off", budget=args.digits_budget)  # fmt: skip
        r = res.model.train_result_
        rows.append({"family": family, "budget": args.digits_budget or "default", "fit_s": time.perf_counter() - t0,
                     "steps": r.steps, "stopped_by": r.stopped_by, "watch_checks": r.watch["checks"],
                     "watch_s": r.watch["seconds"]})  # fmt: skip
        print(f"[digits] {family}: {r.steps} steps, stopped by {r.stopped_by}", flush=True)
    return rows


def curves(rows: list[dict[str, Any]]) -> Path | None:
    if not rows:
        return None
    from genlab.viz.plots import new_panels, save_figure

    fig, axes = new_panels(3, 4.6, 3.4)
    panels = (("copy_share", "copy share (the stop rule; dotted: limit)"),
              ("near_copy_share", "near-copy share (dotted: limit)"), ("frechet_distance", "FD (dotted: reference)"))  # fmt: skip
    for row, color in zip(rows, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False):
        checks = row["warn"]["checks"]
        steps = [c["step"] for c in checks]
        for ax, (key, _) in zip(axes[0], panels, strict=True):
            ax.plot(
                steps, [c[key] for c in checks], "o-", ms=2, color=color, label=f"{row['n_train']} images"
            )
            bound = "frechet_reference" if key == "frechet_distance" else f"{key}_limit"
            ax.plot(steps, [c[bound] for c in checks], ":", color=color, lw=1)
            stop = row["stop"]["stopped"]
            if stop:
                ax.axvline(stop["kept_step"], color=color, lw=0.8, ls="--")
    axes[0, 2].set_yscale("log")
    for ax, (_, title) in zip(axes[0], panels, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, RESULTS / "watch_curves.png")


def tables(sizes: list[dict[str, Any]], stops: list[dict[str, Any]]) -> str:
    out = []
    if sizes:
        head = ["training images", "steps", "copying starts (first failing check)", "watched: stopped at / kept",
                "watched FD", "watched Rule 1, 2", "unwatched FD", "unwatched Rule 1, 2", "watch cost"]  # fmt: skip
        body = []
        for r in sizes:
            s, w = r["stop"], r["warn"]
            stop = s["stopped"]
            body.append([
                r["n_train"], r["steps"], w["first_failing_check"] or "none",
                f"{stop['step']} / {stop['kept_step']}" if stop else "not stopped",
                f"{s['evaluation'].get('rule1.frechet_distance', float('nan')):.3g}",
                f"{s['evaluation']['rule1']}, {s['evaluation']['rule2']}",
                f"{w['evaluation'].get('rule1.frechet_distance', float('nan')):.3g}",
                f"{w['evaluation']['rule1']}, {w['evaluation']['rule2']}",
                f"{w['watch_s']:.0f} s of {w['fit_s']:.0f} s ({100 * w['watch_share']:.1f}%)",
            ])  # fmt: skip
        out.append(markdown_table(head, body))
    if stops:
        out.append(markdown_table(["family (digits, all 1,437 training images)", "budget", "steps", "stopped by",
                                   "watch checks", "watch s", "fit s"],
                                  [[r["family"], r["budget"], r["steps"], r["stopped_by"], r["watch_checks"],
                                    f"{r['watch_s']:.1f}", f"{r['fit_s']:.0f}"] for r in stops]))  # fmt: skip
    return "\n\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    p.add_argument("--sizes", nargs="*", type=int, default=[256, 1024, 4096])
    p.add_argument("--steps", type=int, default=8000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--false-stops", action="store_true", help="also fit every family on digits")
    p.add_argument("--digits-budget", default=None, help="budget of the digits fits (default: each family's)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 256 images, 1500 steps")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--out", default="watch")
    args = p.parse_args()
    if args.quick:
        args.sizes, args.steps = [256], 1500
    root = Path(tempfile.mkdtemp(prefix="genlab-watch-"))
    sizes = sizes_part(args, root) if args.sizes and Path(args.fashion).is_file() else []
    stops = false_stops_part(args, root) if args.false_stops else []
    curves(sizes)
    write_results(args.out, {"sizes": sizes, "false_stops": stops}, tables(sizes, stops))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
