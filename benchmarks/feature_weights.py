"""How much the pixel statistics weigh in the "auto" image features (issue 14): the Frechet distance of real
model samples and of the degradation suite's cases, for a grid of block weights and compression knees.

    python benchmarks/feature_weights.py --fashion ../shared/data/fashion-mnist.npz [--cache DIR]

The "auto" features are the classifier's 64-d embedding beside 16 pixel statistics, each standardised with
training statistics. A statistic's z may then be compressed beyond a knee k (k asinh(z / k); k = 0: not
compressed) and weighted by w (1: like one embedding feature; 2 is "both blocks carry the same total
variance", the setting before 2026-12-02). For each (k, w) the table gives the FD of the samples of five
families fitted on the quality benchmark's data (the Fashion-MNIST 9,000-image subset at 180 s, tins at
45 s; `benchmarks/quality.py --scale 0.15`), in increasing order, and of each degradation as a multiple
of fresh held-out images' FD. What the eye says, from the sample grids of that benchmark: on
Fashion-MNIST the VAE's blurry but whole garments are the best samples, the KDE's noisy garments and the
copula's textured ones next, the GAN's blobs and the Gaussian's noise last; on tins the KDE's (nearly real)
first. Slight degradations (blur 0.5, noise 0.05) should rank ahead of a model that draws half the classes
or one class. Fits: seed 0, 1,000 samples with seed 1, one thread; `--cache` keeps the samples between runs.

Writes benchmarks/results/feature_weights.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import IMAGE_SETTINGS, load  # noqa: E402

import genlab  # noqa: E402
from genlab.errors import DataError  # noqa: E402
from genlab.judge import metrics as M  # noqa: E402
from genlab.judge.degradations import DEGRADATIONS, suite_data  # noqa: E402
from genlab.judge.features import N_PIXEL_STATS, make_extractor  # noqa: E402

FAMILIES = ("gaussian", "kde", "copula", "vae", "gan")
BUDGETS = {"fashion-mnist": "180s", "tins": "45s"}
CASES = ("blur 0.5", "blur 1", "noise 0.05", "noise 0.1", "contrast 0.5", "half classes", "one class",
         "copies + noise 0.02")  # fmt: skip
KNEES = (0.0, 3.0, 2.0, 1.0)
WEIGHTS = (2.0, 1.0, 0.7, 0.5)


def samples(name: str, ds: Any, cache: Path) -> dict[str, np.ndarray]:
    out = {}
    for fam in FAMILIES:
        path = cache / f"{name}-{fam}.npz"
        if not path.is_file():
            t0 = time.perf_counter()
            m = genlab.make_model(fam, **IMAGE_SETTINGS.get(fam, {}))
            m.fit(ds, budget=BUDGETS[name], seed=0, progress="off")
            np.savez(path, x=np.asarray(m.sample(1000, seed=1), np.float32))
            print(f"[{name}] {fam}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        out[fam] = np.load(path)["x"]
    return out


def grid(name: str, ds: Any, cache: Path) -> dict[str, Any]:
    ext = make_extractor("auto", ds)
    raw_train = ext.train_raw.astype(np.float64)
    mu, sd = raw_train.mean(0), raw_train.std(0)
    sd[sd < 1e-12] = 1.0
    n = min(900, len(ds.test) // 2)
    data = suite_data(ds, n=n)
    sets: dict[str, np.ndarray] = {}
    for c in DEGRADATIONS:
        if c.name == "fresh" or c.name in CASES:
            with contextlib.suppress(DataError):  # a case that needs labels the data set lacks
                sets[c.name] = c.make(data, 0)
    models = {f: x[:n] for f, x in samples(name, ds, cache).items()}
    raw = {k: ext.raw(v).astype(np.float64) for k, v in {**sets, **models}.items()}
    emb = raw_train.shape[1] - N_PIXEL_STATS
    ref = raw_train[np.random.default_rng(0).permutation(len(raw_train))[:4000]]

    def space(f: np.ndarray, knee: float, w: float) -> np.ndarray:
        z = (f - mu) / sd
        s = z[:, emb:]
        if knee:
            s = knee * np.arcsinh(s / knee)
        return np.concatenate([z[:, :emb], w * s], 1)

    rows = []
    for knee in KNEES:
        for w in WEIGHTS:
            b = M.moments(space(ref, knee, w))
            fd = {
                k: M.frechet_distance_from_moments(*M.moments(space(f, knee, w)), *b) for k, f in raw.items()
            }
            rows.append({"knee": knee, "weight": w, "fd": fd})
    return {"n": n, "families": list(models), "cases": [c for c in sets if c != "fresh"], "rows": rows}


def table(name: str, r: dict[str, Any]) -> str:
    body = []
    for row in r["rows"]:
        fd = row["fd"]
        order = sorted(r["families"], key=fd.get)
        body.append([
            f"{row['knee']:g}" if row["knee"] else "none", f"{row['weight']:g}",
            " < ".join(f"{f} {fd[f]:.3g}" for f in order),
            *[f"{fd[c] / fd['fresh']:.0f}" for c in r["cases"]],
        ])  # fmt: skip
    head = [
        "knee",
        "weight",
        f"model samples by FD ({name}, n = {r['n']})",
        *[f"{c} / fresh" for c in r["cases"]],
    ]
    return f"### {name}\n\n" + markdown_table(head, body)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    p.add_argument(
        "--cache", default=None, help="folder for the model samples (default: a new temporary one)"
    )
    args = p.parse_args()
    import tempfile

    cache = Path(args.cache or tempfile.mkdtemp(prefix="genlab-weights-"))
    cache.mkdir(parents=True, exist_ok=True)
    out, md = {}, []
    for name in ("fashion-mnist", "tins"):
        ds = load(name, args.fashion, 9000 if name == "fashion-mnist" else None)
        out[name] = grid(name, ds, cache)
        md.append(table(name, out[name]))
    md.append(
        "genlab uses knee 2 and weight 1 (`STATS_KNEE`, `STATS_WEIGHT` in genlab/judge/features.py); "
        "docs/metrics.md says why, from this table."
    )
    write_results("feature_weights", out, "\n\n".join(md))


if __name__ == "__main__":
    main()
