"""Every family on all 60,000 Fashion-MNIST training images on a CUDA GPU, a few minutes each, at the
defaults (which size the networks and batches for a GPU by themselves: `genlab.models.sizing`).

    python benchmarks/gpu.py                                  # 5 minutes per neural family
    python benchmarks/gpu.py --minutes 2 --families gan diffusion

bf16 mixed precision ("bf16-mixed") for the convolutional families where it helps (gan, vae, diffusion,
autoregressive); the flow (spline bin search) and the EBM (Langevin gradients, clamped at 0.03) train in
float32. Judged by the same `genlab.evaluate` on 2,000 test images. Writes
benchmarks/results/gpu.{json,md} with the device named, and benchmarks/results/samples_gpu-fashion-mnist.png.
Refuses to run without a GPU (the figures would not be what the file name says).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import load, sample_picture  # noqa: E402

import genlab  # noqa: E402

BF16 = {"gan", "vae", "diffusion", "autoregressive"}
CLOSED = {"gaussian", "gmm", "kde"}
SETTINGS: dict[str, dict[str, Any]] = {
    "kde": {"pca": 32},
    "gmm": {"n_components": 10, "covariance_type": "diag"},
}


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+",
                    default=["kde", "gmm", "vae", "gan", "flow", "autoregressive", "diffusion", "ebm"])  # fmt: skip
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--n-eval", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA GPU")
    device = torch.cuda.get_device_name(0)
    ds = load("fashion-mnist", args.fashion, None)  # all 60,000 training images
    rows: list[dict[str, Any]] = []
    pictures: dict[str, np.ndarray] = {}
    for fam in args.families:
        print(f"[gpu] {fam} ({args.minutes:g} min) ...", file=sys.stderr, flush=True)
        options: dict[str, Any] = {}
        if fam not in CLOSED:
            options = {"accelerator": "cuda", "precision": "bf16-mixed" if fam in BF16 else "32-true"}
        try:
            t0 = time.perf_counter()
            m = genlab.make_model(fam, **SETTINGS.get(fam, {}))
            m.fit(ds, budget=f"{args.minutes * 60:g}s", seed=args.seed, progress="off", **options)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            ev = genlab.evaluate(m, ds, n=min(args.n_eval, len(ds.test)), seed=args.seed)
            r = getattr(m, "train_result_", None)
            rows.append({"family": fam, "device": device, "precision": options.get("precision", "-"),
                         "fit_s": fit_s, "steps": getattr(r, "steps", None), "sample_s": ev.sample_seconds,
                         "sized": getattr(m, "data_meta_", {}).get("sized"), "evaluation": ev.to_dict(),
                         "eval_s": time.perf_counter() - t0})  # fmt: skip
            pictures[fam] = ev.samples[:12]
            sample_picture("gpu-fashion-mnist", ds, pictures)
        except Exception as e:  # report and go on
            rows.append({"family": fam, "error": f"{type(e).__name__}: {e}"})
        write_results("gpu", {"device": device, "rows": rows}, _table(rows), quiet=True)
    write_results("gpu", {"device": device, "rows": rows}, _table(rows))


def _table(rows: list[dict[str, Any]]) -> str:
    def v(r: dict[str, Any], key: str) -> str:
        m = r["evaluation"]["rule1"].get(key) or {}
        return "–" if m.get("value") is None else f"{m['value']:.3g} ({m.get('reference', float('nan')):.3g})"

    out = []
    for r in rows:
        if "error" in r:
            out.append([r["family"], "error", r["error"][:80], *["–"] * 8])
            continue
        out.append([r["family"], r["device"], r["precision"], f"{r['fit_s']:.0f}", r["steps"] or "–",
                    f"{r['sample_s']:.1f}", v(r, "frechet_distance"), v(r, "precision"), v(r, "recall"),
                    v(r, "coverage"), f"{r['evaluation']['verdict']['rule1']}, {r['evaluation']['verdict']['rule2']}"])  # fmt: skip
    header = ["family", "device", "precision", "fit s", "steps", "sample s", "FD", "precision", "recall",
              "coverage", "Rule 1, 2"]  # fmt: skip
    return markdown_table(header, out)


if __name__ == "__main__":
    main()
