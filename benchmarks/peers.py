"""genlab against what a user would otherwise write or install: same data, same budget, same evaluation.

    python benchmarks/peers.py                        # digits and Fashion-MNIST at full budgets
    python benchmarks/peers.py --scale 0.1 --fashion-n 10000

Pairs (genlab family vs peer):
  gmm  vs scikit-learn GaussianMixture (same n_components/covariance_type; its own sampler)
  kde  vs scikit-learn KernelDensity (bandwidth by GridSearchCV as in scikit-learn's digits example)
  flow vs a zuko NSF trained with a plain hand-written loop on standardised, dequantised pixels (coupling
       above 64 dimensions, as genlab's flow)
  vae  vs pythae's default VAE (installed into benchmarks/.peer-venv, its own environment, on first use)
Every sample set is judged by the same `genlab.evaluate`; each metric is reported as genlab / peer.
Writes benchmarks/results/peers.{json,md}; the table is printed last.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from quality import load  # noqa: E402

import genlab  # noqa: E402

HERE = Path(__file__).parent
PEER_VENV = HERE / ".peer-venv"
BUDGET_S = {"digits": 60.0, "fashion-mnist": 600.0, "8gaussians": 30.0}


# ---------------------------------------------------------------------- peers
def peer_gmm(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    from sklearn.mixture import GaussianMixture

    x = ds.train.reshape(len(ds.train), -1)
    cov = "diag" if ds.kind == "image" else "full"
    gm = GaussianMixture(10 if ds.kind == "image" else 8, covariance_type=cov, random_state=seed).fit(x)
    s, _ = gm.sample(len(ds.test))
    return s.reshape(len(s), *ds.shape).astype(np.float32), gm.score_samples(
        ds.test.reshape(len(ds.test), -1)
    )


def peer_kde(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    # scikit-learn's "Kernel Density Estimation" digits example: PCA, then GridSearchCV over bandwidths
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    x = ds.train.reshape(len(ds.train), -1)
    pca = PCA(n_components=32 if ds.kind == "image" else x.shape[1], whiten=False).fit(x)
    z = pca.transform(x)
    grid = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1, 1, 20)}).fit(z[:2000])
    kde = grid.best_estimator_
    s = pca.inverse_transform(kde.sample(len(ds.test), random_state=seed))
    return s.reshape(len(s), *ds.shape).astype(
        np.float32
    ), None  # a density in PCA space only: no data-space NLL


def peer_zuko(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    import torch
    import zuko

    torch.manual_seed(seed)
    levels = 17 if ds.name == "digits" else 256
    x = torch.from_numpy(ds.train.reshape(len(ds.train), -1))
    image = ds.kind == "image"
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-3)
    # above 64 dimensions a coupling NSF (passes=2), as genlab's flow uses: zuko's default fully
    # autoregressive inverse takes one network pass per dimension to sample (784 on Fashion-MNIST)
    passes = None if x.shape[1] <= 64 else 2
    flow = zuko.flows.NSF(features=x.shape[1], transforms=3, hidden_features=(256, 256), passes=passes)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        idx = torch.randint(0, len(x), (256,))
        b = x[idx] + (torch.rand_like(x[idx]) / levels if image else 0)
        loss = -flow().log_prob((b - mu) / sd).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        s = flow().sample((len(ds.test),)) * sd + mu
        t = torch.from_numpy(ds.test.reshape(len(ds.test), -1))
        t = t + (torch.rand_like(t) / levels if image else 0)
        lp = flow().log_prob((t - mu) / sd) - torch.log(sd).sum()
    return s.numpy().reshape(len(s), *ds.shape).astype(np.float32), lp.numpy()


def _peer_python() -> Path:
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        print("installing pythae into benchmarks/.peer-venv (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pythae"], check=True)
    return py


def peer_pythae(ds: Any, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    py = _peer_python()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        np.save(tmp_p / "train.npy", ds.train)
        np.save(tmp_p / "test.npy", ds.test)
        subprocess.run(
            [str(py), str(HERE / "_pythae_runner.py"), tmp, tmp, str(seconds), str(seed)], check=True
        )
        s = np.load(tmp_p / "samples.npy")
        res = json.loads((tmp_p / "result.json").read_text())
    peer_pythae.last = res  # type: ignore[attr-defined]
    # pythae's NLL is one number for the test set (its own estimator): repeat it per point for the table
    return s, np.full(min(1000, len(ds.test)), -res["nll"])


PAIRS = {
    "gmm": (
        "scikit-learn GaussianMixture",
        peer_gmm,
        {"image": {"n_components": 10, "covariance_type": "diag"}, "vector": {"n_components": 8}},
    ),
    "kde": ("scikit-learn KernelDensity + PCA", peer_kde, {"image": {"pca": 32}, "vector": {}}),
    "flow": ("zuko NSF + plain loop", peer_zuko, {"image": {}, "vector": {}}),
    "vae": ("pythae VAE (defaults)", peer_pythae, {"image": {}, "vector": {}}),
}
KEYS = [
    ("rule1", "frechet_distance"),
    ("rule1", "precision"),
    ("rule1", "recall"),
    ("rule1", "coverage"),
    ("rule1", "c2st_accuracy"),
    ("rule2", "ct"),
    ("rule2", "memorization_rate"),
]


def _judge(samples: np.ndarray, ds: Any, seed: int) -> dict[str, Any]:
    return genlab.evaluate(samples, ds, n=len(samples), seed=seed).to_dict()


def run_pair(family: str, ds: Any, seconds: float, seed: int) -> dict[str, Any]:
    peer_name, peer_fn, settings = PAIRS[family]
    n = len(ds.test)
    t0 = time.perf_counter()
    model = genlab.make_model(family, **settings[ds.kind]).fit(ds, budget=f"{seconds:.0f}s", seed=seed)
    g_fit = time.perf_counter() - t0
    g_samples = model.sample(n, seed=seed + 1)
    g_nll = (
        -float(np.mean(model.log_prob(ds.test[:1000]))) / int(np.prod(ds.shape))
        if model.log_prob_kind
        else None
    )
    t0 = time.perf_counter()
    p_samples, p_lp = peer_fn(ds, seconds, seed)
    p_fit = time.perf_counter() - t0
    p_nll = -float(np.mean(p_lp)) / int(np.prod(ds.shape)) if p_lp is not None else None
    return {
        "family": family,
        "peer": peer_name,
        "seconds": seconds,
        "genlab": {"fit_s": g_fit, "nll_per_dim": g_nll, "evaluation": _judge(g_samples, ds, seed)},
        "peer_result": {"fit_s": p_fit, "nll_per_dim": p_nll, "evaluation": _judge(p_samples, ds, seed)},
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = ["data", "genlab vs peer", "fit s", "NLL/dim", *[k for _, k in KEYS], "verdicts (Rule 1, 2)"]
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["data"], r["family"], "error: " + r["error"][:80], *["–"] * (len(header) - 3)])
            continue
        g, p = r["genlab"], r["peer_result"]

        def pair(a: Any, b: Any) -> str:
            return " / ".join("–" if v is None else f"{v:.3g}" for v in (a, b))

        cells = [
            pair(g["evaluation"][rule][k]["value"], p["evaluation"][rule][k]["value"]) for rule, k in KEYS
        ]
        ver = lambda e: f"{e['verdict']['rule1']}, {e['verdict']['rule2']}"  # noqa: E731
        out.append(
            [
                r["data"],
                f"{r['family']} vs {r['peer']}",
                pair(g["fit_s"], p["fit_s"]),
                pair(g["nll_per_dim"], p["nll_per_dim"]),
                *cells,
                f"{ver(g['evaluation'])} / {ver(p['evaluation'])}",
            ]
        )
    return markdown_table(header, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    ap.add_argument("--families", nargs="+", default=list(PAIRS))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--fashion-n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="peers", help="results name under benchmarks/results/")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        if name == "fashion-mnist" and not Path(args.fashion).is_file():
            print(f"skipping fashion-mnist: {args.fashion} not found", file=sys.stderr)
            continue
        ds = load(name, args.fashion, args.fashion_n)
        seconds = max(2.0, BUDGET_S.get(name, 60.0) * args.scale)
        for family in args.families:
            print(
                f"[{name}] {family} vs {PAIRS[family][0]} ({seconds:.0f}s each) ...",
                file=sys.stderr,
                flush=True,
            )
            try:
                row = run_pair(family, ds, seconds, args.seed)
            except Exception as e:
                traceback.print_exc()
                row = {"family": family, "error": f"{type(e).__name__}: {e}"}
            row["data"] = name
            rows.append(row)
            write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows), quiet=True)  # partial
    write_results(args.out, {"scale": args.scale, "rows": rows}, table(rows))


if __name__ == "__main__":
    main()
