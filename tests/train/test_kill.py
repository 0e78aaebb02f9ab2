"""A run killed with SIGKILL in the middle and resumed finishes its budget, with no corrupt file, ends
with the weights of an uninterrupted run, and its final model loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from train_toy import weights

import genlab
from genlab.train.checkpoint import read_checkpoint
from genlab.train.progress import read_log

SCRIPT = """
import sys, time
import torch
torch.set_num_threads(1)
import genlab
from genlab.models.vae import VAE

step = VAE.training_step
def slow_step(self, batch, ctx):  # slow enough to be killed in the middle
    time.sleep(0.05)
    return step(self, batch, ctx)
VAE.training_step = slow_step

ds = genlab.load_dataset("8gaussians", n=1000)
m = genlab.make_model("vae", latent_dim=2, hidden=(16, 16), batch_size=32, latent_sampler="prior")
m.fit(ds, budget="80steps", seed=5, run_dir=sys.argv[1], checkpoint_every=10, progress="plain")
print("finished", flush=True)
"""

KW = {"latent_dim": 2, "hidden": (16, 16), "batch_size": 32, "latent_sampler": "prior"}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_then_resume(tmp_path) -> None:
    run = tmp_path / "run"
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(run)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        last = run / "checkpoints" / "last" / "state.json"
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            if last.exists() and read_checkpoint(last.parent)["counters"]["step"] >= 20:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    killed_at = read_checkpoint(run / "checkpoints" / "last")["counters"]["step"]
    assert 20 <= killed_at < 80

    ds = genlab.load_dataset("8gaussians", n=1000)
    resumed = genlab.make_model("vae", **KW).fit(
        ds, budget="80steps", seed=5, run_dir=run, resume=True, checkpoint_every=10, progress="off"
    )
    assert resumed.train_result_.steps == 80
    assert read_checkpoint(run / "checkpoints" / "last")["counters"]["step"] == 80
    assert not list((run / "checkpoints").glob(".*"))  # no temporary or half-swapped folder left
    log = read_log(run / "log.jsonl")
    assert [r["step"] for r in log if r.get("event") == "end"] == [80]

    uninterrupted = genlab.make_model("vae", **KW).fit(ds, budget="80steps", seed=5, progress="off")
    wa, wb = weights(resumed), weights(uninterrupted)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)

    resumed.save(run / "model")
    loaded = genlab.load(run / "model")
    np.testing.assert_array_equal(loaded.sample(50, seed=1), resumed.sample(50, seed=1))
