"""DDP on the CPU: `genlab fit --devices 2 --strategy ddp` trains in two processes (gloo); only rank 0
writes the run folder, and the model it saves loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import genlab
from genlab.train.progress import read_log

GENLAB = Path(sys.executable).with_name("genlab")


def test_ddp_two_cpu_processes(tmp_path) -> None:
    run = tmp_path / "run"
    cmd = [str(GENLAB), "fit", "8gaussians", "--model", "vae", "--devices", "2", "--strategy", "ddp",
           "--budget", "10steps", "--out", str(run), "--no-evaluate",
           "--set", "n=1000", "--set", "latent_dim=2", "--set", "latent_sampler=prior"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr

    log = read_log(run / "log.jsonl")
    steps = [r["step"] for r in log if "losses" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 10  # one writer: no line twice
    end = [r for r in log if r.get("event") == "end"]
    assert len(end) == 1 and end[0]["world_size"] == 2 and end[0]["step"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # rank 1 wrote nothing elsewhere
    model = genlab.load(run)
    x = model.sample(100, seed=0)
    assert x.shape == (100, 2) and np.isfinite(x).all()
