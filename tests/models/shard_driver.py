"""Draws from saved models with the draws shared over 2 CPU processes (gloo), the way a DDP script does:

    python shard_driver.py OUT N SEED NUM_NODES DEVICES MODEL_DIR...

(with DEVICES 2 Fabric starts the second process by running this command line again; with NUM_NODES 2
the test starts both, as a launcher does, with MASTER_ADDR/PORT and NODE_RANK set). Every process draws
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
    out, n, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    nodes, devices, dirs = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
    models = [genlab.load(d) for d in dirs]
    arrays = {}
    with sharded(accelerator="cpu", devices=devices, num_nodes=nodes) as shard:
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
