"""Peak memory of loading Fashion-MNIST and of fitting on it, for this checkout and, with --before, for
another (e.g. a worktree of an older commit), measured in fresh processes (the kernel's VmHWM).

    python benchmarks/memory.py --fashion ../shared/data/fashion-mnist.npz
    git worktree add /tmp/genlab-before <commit>; python benchmarks/memory.py --before /tmp/genlab-before/src

Each measurement runs in its own Python process: imports first (torch, genlab), then the peak resident
set is read, then the work is done and the peak read again; the difference is what the work cost.
Writes benchmarks/results/memory.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

PROBE = r"""
import json, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
import torch, numpy as np
torch.set_num_threads(1)
import genlab
from genlab.runs import fit_run
base = peak()
ds = genlab.load_dataset(sys.argv[1])
loaded = peak()
out = {"import": base, "load": loaded - base, "train_type": type(ds.train).__name__}
if sys.argv[2] == "fit":
    kw = {"latent_dim": 8, "channels": (16, 32), "batch_size": 128, "latent_sampler": "prior", "iwae_k": 4}
    extra = {"watch": "off"} if "watch" in fit_run.__code__.co_varnames else {}
    fit_run(ds, "vae", hyper=kw, budget="50steps", out=sys.argv[3], evaluate=False, progress="off", **extra)
    out["fit"] = peak() - base
print(json.dumps(out))
"""


def measure(src: str | None, fashion: str, tmp: Path, label: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if src:
        env["PYTHONPATH"] = src
    rows = {}
    for what in ("load", "fit"):
        res = subprocess.run([sys.executable, "-c", PROBE, fashion, what, str(tmp / f"{label}-{what}")],
                             capture_output=True, text=True, env=env, timeout=1800)  # fmt: skip
        if res.returncode != 0:
            raise SystemExit(res.stderr[-2000:])
        rows[what] = json.loads(res.stdout.strip().splitlines()[-1])
    return {"load_mb": rows["load"]["load"] / 2**20, "fit_mb": rows["fit"]["fit"] / 2**20,
            "import_mb": rows["load"]["import"] / 2**20, "train_type": rows["load"]["train_type"]}  # fmt: skip


def main() -> None:
    import tempfile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    p.add_argument("--before", default=None, help="src/ folder of another checkout to compare with")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genlab-memory-"))
    results = {}
    if args.before:
        results["before"] = measure(args.before, args.fashion, tmp, "before")
    results["after"] = measure(str(Path(__file__).parents[1] / "src"), args.fashion, tmp, "after")
    rows = [[k, v["train_type"], f"{v['load_mb']:.0f}", f"{v['fit_mb']:.0f}"] for k, v in results.items()]
    table = markdown_table(["checkout", "ds.train is", "loading Fashion-MNIST raises peak memory by (MB)",
                            "a VAE fit on all 60,000 images, 50 steps: peak above imports (MB)"], rows)  # fmt: skip
    write_results("memory", {"results": results, "fashion": args.fashion}, table)


if __name__ == "__main__":
    main()
