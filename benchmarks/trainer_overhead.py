"""Overhead of the training engine against a plain hand-written PyTorch loop, on the same network.

Both loops train the VAE family's networks for the same number of steps with the same algorithm:
AdamW, linear warm-up then cosine decay of the learning rate, gradient clipping at norm 1, an EMA of
the weights, the same batches (a fresh permutation per epoch) and the same loss. The engine adds
Lightning Fabric, the non-finite guard, logging, state snapshots for recovery and a final check.
Timings alternate engine/plain runs and compare the best of the repeats of the process's CPU time
(on a shared machine wall time also measures the other processes; both are printed, and the ratio of
medians too); the ratio should be <= 1.05.

    .venv/bin/python benchmarks/trainer_overhead.py [--steps 500] [--repeats 7]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

import genlab  # noqa: E402
from genlab.models.base import as_fit_data  # noqa: E402


def plain_loop(model, data, steps: int, seed: int) -> None:
    """The hand-written loop: `steps` steps, set-up included as in the engine."""
    g = torch.Generator().manual_seed(seed)
    model.build(data, model.generator(seed))
    nets = list(model.modules().values())
    for m in nets:
        m.train()
    params = [p for m in nets for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=model.lr, weight_decay=model.weight_decay)
    emas = [[p.detach().clone() for p in m.parameters()] for m in nets]
    x = torch.from_numpy(data.train)
    bs = min(model.batch_size, len(x))
    per_epoch = len(x) // bs
    warmup = min(model.warmup_steps, max(1, steps // 5))
    perm = torch.randperm(len(x), generator=g)
    for step in range(steps):
        i = step % per_epoch
        if i == 0 and step:
            perm = torch.randperm(len(x), generator=g)
        lr = model.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = x[perm[i * bs : (i + 1) * bs]]
        rec, kl = model._terms(batch, g)
        weight = min(1.0, max(step / model.kl_warmup_steps, 2 * step / steps))
        loss = -rec.mean() + weight * kl.mean(0).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, model.grad_clip)
        opt.step()
        d = min(model.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for ema, m in zip(emas, nets, strict=True):
                torch._foreach_lerp_(ema, list(m.parameters()), 1 - d)


def engine_loop(model, data, steps: int, seed: int) -> None:
    from genlab.train import EngineOptions, train

    train(
        model,
        data,
        config=model.train_config(),
        budget=f"{steps}steps",
        seed=seed,
        options=EngineOptions(progress="off"),
    )


def timed(fn, *args) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn(*args)
    return time.process_time() - c, time.perf_counter() - w


def bench(label: str, data, params: dict, steps: int, repeats: int) -> dict[str, Any]:
    data = as_fit_data(data)
    make = lambda: genlab.make_model("vae", latent_sampler="prior", **params)  # noqa: E731
    m = make()
    m.shape_, m.kind_, m.data_meta_ = data.shape, data.kind, {}
    engine_loop(m, data, 5, 0)  # warm-up: imports, first-call costs
    plain_loop(m, data, 5, 0)
    te, tp = [], []
    for r in range(repeats):
        for which in ("engine", "plain") if r % 2 == 0 else ("plain", "engine"):
            m = make()
            m.shape_, m.kind_, m.data_meta_ = data.shape, data.kind, {}
            fn = engine_loop if which == "engine" else plain_loop
            (te if which == "engine" else tp).append(timed(fn, m, data, steps, r))
    # best of the repeats (noise from other processes only ever adds time, as in `timeit`); medians too
    ec, pc = min(t[0] for t in te), min(t[0] for t in tp)
    ew, pw = min(t[1] for t in te), min(t[1] for t in tp)
    mc = statistics.median(t[0] for t in te) / statistics.median(t[0] for t in tp)
    print(
        f"{label:<34} {steps} steps  CPU: engine {ec:6.2f}s plain {pc:6.2f}s ({1000 * pc / steps:.1f} ms/step) "
        f"ratio {ec / pc:.3f} (of medians {mc:.3f})  |  wall: engine {ew:6.2f}s plain {pw:6.2f}s ratio {ew / pw:.3f}",
        flush=True,
    )
    return {
        "network": label,
        "steps": steps,
        "repeats": repeats,
        "engine_cpu_s": ec,
        "plain_cpu_s": pc,
        "ratio_cpu_best": ec / pc,
        "ratio_cpu_median": mc,
        "engine_wall_s": ew,
        "plain_wall_s": pw,
        "ratio_wall_best": ew / pw,
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = [
        "network",
        "steps",
        "engine CPU s",
        "plain CPU s",
        "ratio (best)",
        "ratio (medians)",
        "wall ratio",
    ]
    return markdown_table(
        header,
        [
            [
                r["network"],
                r["steps"],
                f"{r['engine_cpu_s']:.2f}",
                f"{r['plain_cpu_s']:.2f}",
                f"{r['ratio_cpu_best']:.3f}",
                f"{r['ratio_cpu_median']:.3f}",
                f"{r['ratio_wall_best']:.3f}",
            ]
            for r in rows
        ],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    digits = genlab.load_dataset("digits").train
    toy = genlab.load_dataset("8gaussians").train.astype(np.float32)
    rows = [
        bench("conv VAE, digits 1x8x8, batch 128", digits, {}, args.steps, args.repeats),
        bench("MLP VAE (256, 256), 8gaussians", toy, {}, args.steps, args.repeats),
    ]
    worst = max(r["ratio_cpu_best"] for r in rows)
    md = table(rows) + f"\n\nworst CPU-time ratio {worst:.3f} (target <= 1.05)"
    write_results("trainer_overhead", {"rows": rows, "worst_ratio": worst}, md)


if __name__ == "__main__":
    main()
