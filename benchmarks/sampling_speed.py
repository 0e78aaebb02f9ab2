"""Diffusion samplers on `digits` (issue 5): time and sample quality of DDPM-1000, DDIM-50 and DPM-Solver-20.

One diffusion model (small U-Net) is trained once, then sampled by the three samplers in the same run,
with the same initial noise seed and sample count. Quality is the Frechet distance in pixel space
(64-D) between the samples and the held-out test images; the same distance between as many training
images and the test set is printed as the floor a perfect model would reach. Target: DPM-Solver-20 at
least 30x faster than DDPM-1000 (CPU seconds of this process, the fair figure on a shared machine;
wall-clock seconds are printed too). Prints, never asserts.

    python benchmarks/sampling_speed.py                # about 6 CPU minutes (training is most of it)
    python benchmarks/sampling_speed.py --steps 4000   # a better model
    python benchmarks/sampling_speed.py --quick        # smoke run: tiny training, few samples
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import genlab
from genlab.metrics import frechet_distance

try:
    from _common import markdown_table, write_results
except ImportError:  # run from the repository root as a module
    from benchmarks._common import markdown_table, write_results

SAMPLERS = [("ddpm", 1000), ("ddim", 50), ("dpmsolver", 20)]
TARGET_SPEEDUP = 30.0


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1500, help="training steps (default 1500)")
    parser.add_argument("--n", type=int, default=128, help="samples per sampler (default 128)")
    parser.add_argument("--channels", type=int, default=32, help="U-Net base channels (default 32)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: comparable CPU seconds)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 training steps, 32 samples")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.n = 100, 32
    torch.set_num_threads(args.threads)

    data = genlab.load_dataset("digits", seed=args.seed)
    params = {"channels": args.channels, "batch_size": args.batch_size}
    model = genlab.make_model("diffusion", **params)
    _, fit_wall, fit_cpu = timed(
        lambda: model.fit(data, budget=f"{args.steps}steps", seed=args.seed, progress="off")
    )
    print(f"trained diffusion {params} for {args.steps} steps: {fit_cpu:.0f} CPU s ({fit_wall:.0f} s wall)")

    test = data.test.reshape(len(data.test), -1)
    rng = np.random.default_rng(args.seed)
    floor = frechet_distance(
        data.train[rng.choice(len(data.train), args.n, replace=False)].reshape(args.n, -1), test
    )

    rows, results = [], {}
    for sampler, steps in SAMPLERS:
        x, wall, cpu = timed(
            lambda s=sampler, k=steps: model.sample(args.n, seed=args.seed + 1, sampler=s, steps=k)
        )
        fd = frechet_distance(x.reshape(args.n, -1), test)
        results[f"{sampler}-{steps}"] = {"cpu_s": cpu, "wall_s": wall, "fd_pixels": fd}
        print(
            f"{sampler}-{steps}: {cpu:.2f} CPU s ({wall:.2f} s wall) for {args.n} samples, pixel FD {fd:.3f}"
        )
    base = results["ddpm-1000"]
    for key, r in results.items():
        r["speedup_cpu"] = base["cpu_s"] / r["cpu_s"]
        r["speedup_wall"] = base["wall_s"] / r["wall_s"]
        rows.append([key, r["cpu_s"], r["wall_s"], r["speedup_cpu"], r["fd_pixels"]])
    rows.append([f"(floor: {args.n} training images)", "", "", "", floor])

    speedup = results["dpmsolver-20"]["speedup_cpu"]
    verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
    table = markdown_table(
        ["sampler", "CPU s", "wall s", "speed-up vs ddpm-1000 (CPU)", "pixel FD vs test"], rows
    )
    summary = (
        f"Diffusion on digits ({args.steps} training steps, {fit_cpu:.0f} CPU s), {args.n} samples per sampler.\n\n"
        f"{table}\n\nTarget dpmsolver-20 >= {TARGET_SPEEDUP:g}x faster than ddpm-1000: {verdict} ({speedup:.1f}x)."
    )
    write_results(
        "sampling_speed_quick" if args.quick else "sampling_speed",
        {
            "params": params,
            "train_steps": args.steps,
            "fit_cpu_s": fit_cpu,
            "n": args.n,
            "floor_fd": floor,
            "results": results,
            "target_speedup": TARGET_SPEEDUP,
            "speedup": speedup,
        },
        summary,
    )


if __name__ == "__main__":
    main()
