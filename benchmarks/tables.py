"""Tables: genlab's families against SDV's GaussianCopula, CTGAN and TVAE, all judged by genlab's evaluation.

    python benchmarks/tables.py [--data DIR] [--seconds 60] [--quick]

On penguins (344 rows), a 5,000-row subsample of diamonds and all of diamonds (53,940 rows), with the
same train/test split for everyone (genlab's, seed 0): genlab's copula and gmm (closed form), tabddpm
with a wall-clock budget of --seconds, and SDV's GaussianCopula (closed form), CTGAN and TVAE given the
same budget (epochs that fill it; see _sdv_runner.py). SDV runs in its own environment
(benchmarks/.sdv-venv: `python -m venv benchmarks/.sdv-venv && benchmarks/.sdv-venv/bin/pip install
torch==2.13.0 sdv`). Every synthesizer's samples are judged by `genlab.evaluate` on n = min(test rows,
2,000) rows (the evaluation's cost grows with n; 2,000 keeps the diamonds runs to about a minute).
Results: benchmarks/results/tables.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SDV_PY = ROOT / "benchmarks" / ".sdv-venv" / "bin" / "python"
N_EVAL = 2000
GENLAB = {"copula": {}, "gmm": {}, "tabddpm": {}}
PEERS = ("gaussian_copula", "ctgan", "tvae")


def datasets(folder: Path, quick: bool) -> list[tuple[str, genlab.Dataset]]:
    out = [("penguins", genlab.load_dataset(folder / "penguins.csv"))]
    if quick:
        return out
    diamonds = pd.read_csv(folder / "diamonds.csv")
    sub = diamonds.sample(5000, random_state=0).reset_index(drop=True)
    out.append(("diamonds-5k", genlab.load_dataset(sub)))
    out.append(("diamonds", genlab.load_dataset(folder / "diamonds.csv")))
    return out


def judged(source: object, ds: genlab.Dataset, n: int) -> dict:
    ev = genlab.evaluate(source, ds, n=n, seed=0)
    r1, r2 = ev.rule1, ev.rule2
    return {
        "rule1": ev.verdict["rule1"], "rule2": ev.verdict["rule2"],
        **{k: r1[k]["value"] for k in ("column_shapes", "pair_trends", "tstr", "c2st_accuracy", "precision", "recall")},
        **{f"{k}_ref": r1[k]["reference"] for k in ("column_shapes", "pair_trends", "tstr")},
        "dcr": r2["dcr"]["value"], "dcr_ref": r2["dcr"]["reference"], "exact_copies": r2["exact_copies"]["value"],
        "ct": r2["ct"]["value"], "eval_s": ev.seconds, "sample_s": ev.sample_seconds,
        "reasons": [r for r in ev.verdict["reasons"] if not r.startswith("note")],
    }  # fmt: skip


def run_genlab(name: str, ds: genlab.Dataset, seconds: float, n: int) -> dict:
    m = genlab.make_model(name, **GENLAB[name])
    t0 = time.perf_counter()
    if name == "tabddpm":
        m.fit(ds, budget=f"{seconds:g}s", seed=0, progress="off")
    else:
        m.fit(ds, seed=0)
    fit_s = time.perf_counter() - t0
    steps = getattr(getattr(m, "train_result_", None), "steps", None)
    return {"library": "genlab", "model": name, "fit_s": fit_s, "steps": steps, **judged(m, ds, n)}


def run_peer(name: str, ds: genlab.Dataset, seconds: float, n: int, tmp: Path) -> dict:
    train_csv = tmp / "train.csv"
    if not train_csv.exists():
        ds.table.train.to_csv(train_csv, index=False, na_rep="NA")
    out = tmp / name
    subprocess.run([str(SDV_PY), str(ROOT / "benchmarks" / "_sdv_runner.py"), str(train_csv), name,
                    str(seconds), str(n), "0", str(out)], check=True, capture_output=True)  # fmt: skip
    res = json.loads((out / "result.json").read_text())
    samples = pd.read_csv(out / "samples.csv")
    row = judged(samples, ds, n)
    row["sample_s"] = res["sample_s"]  # SDV's own sampling time (genlab's judge only read the CSV)
    return {"library": "sdv", "model": name, "fit_s": res["fit_s"], "steps": res["epochs"], **row}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--quick", action="store_true", help="penguins only, 10 s budgets")
    args = p.parse_args()
    if not (args.data / "penguins.csv").is_file():
        args.data = Path("/work/shared/data")
    seconds = 10.0 if args.quick else args.seconds
    import torch

    torch.set_num_threads(1)
    rows = []
    for data_name, ds in datasets(args.data, args.quick):
        n = min(len(ds.test), N_EVAL)
        with tempfile.TemporaryDirectory() as tmp:
            for name in GENLAB:
                rows.append({"data": data_name, **run_genlab(name, ds, seconds, n)})
                print(json.dumps(rows[-1], default=float), flush=True)
            if SDV_PY.is_file():
                for name in PEERS:
                    try:
                        rows.append({"data": data_name, **run_peer(name, ds, seconds, n, Path(tmp))})
                    except (subprocess.CalledProcessError, genlab.GenlabError) as e:
                        err = getattr(e, "stderr", b"") or b""
                        rows.append({"data": data_name, "library": "sdv", "model": name,
                                     "error": f"{e}: {err.decode(errors='replace')[-300:]}"})  # fmt: skip
                    print(json.dumps(rows[-1], default=float), flush=True)
    header = ["data", "library", "model", "fit s", "steps/epochs", "col shapes (ref)", "pair trends (ref)",
              "TSTR (ref)", "C2ST", "DCR (ref)", "copies", "rule 1", "rule 2"]  # fmt: skip
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["data"], r["library"], r["model"], "error", "", "", "", "", "", "", "", "", ""])
            continue
        table.append([
            r["data"], r["library"], r["model"], round(r["fit_s"], 1), r["steps"] or "",
            f"{r['column_shapes']:.3f} ({r['column_shapes_ref']:.3f})", f"{r['pair_trends']:.3f} ({r['pair_trends_ref']:.3f})",
            f"{r['tstr']:.3f} ({r['tstr_ref']:.3f})", round(r["c2st_accuracy"], 3),
            f"{r['dcr']:.4f} ({r['dcr_ref']:.4f})", round(r["exact_copies"], 4), r["rule1"], r["rule2"],
        ])  # fmt: skip
    md = markdown_table(header, table) + (
        f"\n\nBudget {seconds:g} s of wall clock per neural fit (tabddpm; CTGAN and TVAE as epochs that fill it), "
        f"closed forms as they come; n = min(test rows, {N_EVAL}) judged rows; references are held-out real rows."
    )
    write_results(
        "tables_quick" if args.quick else "tables", {"seconds": seconds, "n_eval": N_EVAL, "rows": rows}, md
    )


if __name__ == "__main__":
    main()
