"""Draws from saved models with the draws shared over 2 CPU processes (gloo), the way a DDP script does:

    python shard_driver.py OUT N SEED MODEL_DIR...

Fabric starts the second process by running this command line again. Every process draws
`model.sample(N, seed=SEED)` from each model inside `sharded(...)` (a label-conditional model also with
labels given: class k for row k mod K) and writes what it got to OUT/rank{r}.npz (arrays "m{i}", "m{i}_labels",
"m{i}_given"), so the test sees that each process got all the rows, and which.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch

import genlab
from genlab.models.sharding import sharded

if __name__ == "__main__":
    torch.set_num_threads(1)
    out, n, seed, dirs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    models = [genlab.load(d) for d in dirs]
    arrays = {}
    with sharded(accelerator="cpu", devices=2) as shard:
        for i, m in enumerate(models):
            if m.conditional_mode:
                x, c = m.sample(n, seed=seed, return_labels=True)
                arrays[f"m{i}"], arrays[f"m{i}_labels"] = x, c
                if m.conditional_mode == "labels":
                    arrays[f"m{i}_given"] = m.sample(n, seed=seed, labels=np.arange(n) % m.n_classes_)
            else:
                arrays[f"m{i}"] = m.sample(n, seed=seed)
    buf = io.BytesIO()
    np.savez(buf, world=np.array(shard.world), **arrays)
    (out / f"rank{shard.rank}.npz").write_bytes(buf.getvalue())
