"""`make bench`: every benchmark in one go, each in its own process, results under benchmarks/results/.

python benchmarks/run_all.py                 # full budgets (hours on 2 CPU cores)
python benchmarks/run_all.py --scale 0.05    # a quick pass, end to end (make bench BENCH_ARGS="--scale 0.05")
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--scale", type=float, default=1.0, help="shrink every budget (quality, peers, speed runs)"
    )
    ap.add_argument("--fashion", default="../shared/data/fashion-mnist.npz")
    ap.add_argument("--only", nargs="*", help="run only these scripts (e.g. quality peers)")
    args = ap.parse_args()
    quick = args.scale < 1.0
    fashion_n = ["--fashion-n", str(max(2000, int(60000 * args.scale)))] if quick else []
    scripts = {
        "quality": ["--scale", str(args.scale), "--fashion", args.fashion, *fashion_n],
        "peers": ["--scale", str(args.scale), "--fashion", args.fashion, *fashion_n],
        "eval_speed": ["--quick"] if quick else [],
        "trainer_overhead": ["--repeats", "5"] if quick else [],
        "sampling_speed": ["--quick"] if quick else [],
        "exact_likelihood": ["--quick"] if quick else [],
        "vae_gan_quality": ["--steps", "1000", "--digits-steps", "500"] if quick else [],
    }
    failed = []
    for name, extra in scripts.items():
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"\n=== {' '.join(cmd)}", flush=True)
        t0 = time.time()
        if subprocess.run(cmd).returncode != 0:
            failed.append(name)
        print(f"=== {name}: {time.time() - t0:.0f}s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
