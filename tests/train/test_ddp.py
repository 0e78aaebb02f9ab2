"""DDP on the CPU: `genlab fit --devices 2 --strategy ddp` trains in two processes (gloo); only rank 0
writes the run folder, and the model it saves loads."""

from __future__ import annotations

import json
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FLOW = ["fit", "8gaussians", "--model", "flow", "--set", "n=1200", "--set", "transforms=2", "--set", "hidden=16,16",
        "--set", "ema=false", "--budget", "30steps", "--no-evaluate"]  # fmt: skip


def _val_curve(run: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["val_loss"]) for r in read_log(run / "log.jsonl") if r.get("val_loss") is not None]


def test_two_processes_train_like_one_with_the_doubled_batch(tmp_path, genlab_cli) -> None:
    """Rank r takes every 2nd example of the epoch's permutation, so the two ranks' batches of 32 are
    together exactly the one process's batch of 64 and DDP's averaged gradient is its gradient: the
    validation curves agree to float rounding (stated tolerance: 1e-4 relative) and so do the weights."""
    one, two = tmp_path / "one", tmp_path / "two"
    code, _, err = genlab_cli([*FLOW, "--set", "batch_size=64", "--out", str(one)])
    assert code == 0, err
    cmd = [
        str(GENLAB),
        *FLOW,
        "--set",
        "batch_size=32",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--out",
        str(two),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _val_curve(one), _val_curve(two)
    assert [s for s, _ in a] == [s for s, _ in b] and len(a) >= 3
    np.testing.assert_allclose([v for _, v in b], [v for _, v in a], rtol=1e-4)
    x, y = genlab.load(one).sample(200, seed=0), genlab.load(two).sample(200, seed=0)
    np.testing.assert_allclose(y, x, rtol=1e-3, atol=1e-4)
    info = json.loads((two / "run.json").read_text())
    assert info["device"]["processes"] == 2 and info["device"]["device"] == "cpu"


def test_two_nodes_on_localhost_train_are_killed_and_resume_on_one(tmp_path) -> None:
    """Two "machines" of one process each, started the way a launcher starts them (MASTER_ADDR/PORT,
    NODE_RANK, LOCAL_RANK; the guide's multi-machine commands): they train and checkpoint, are killed,
    and the run resumes, on another number of processes (one), to the end of its budget."""
    import signal
    import time

    from genlab.runs import partial_path
    from genlab.train.checkpoint import read_checkpoint

    run = tmp_path / "run"
    port = _free_port()
    args = ["fit", "8gaussians", "--model", "vae", "--set", "n=1000", "--set", "latent_dim=2", "--set", "hidden=16,16",
            "--set", "latent_sampler=prior", "--budget", "400steps", "--num-nodes", "2", "--devices", "1",
            "--strategy", "ddp", "--accelerator", "cpu", "--out", str(run), "--no-evaluate"]  # fmt: skip
    procs = []
    for node in (0, 1):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "NODE_RANK": str(node), "LOCAL_RANK": "0", "GENLAB_TEST_STEP_SLEEP": "0.02"}  # fmt: skip
        driver = Path(__file__).parents[1] / "runs" / "driver.py"
        procs.append(subprocess.Popen([sys.executable, str(driver), *args], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    last = partial_path(run) / "checkpoints" / "last"
    try:
        deadline = time.time() + 240
        step = -1
        while time.time() < deadline and all(p.poll() is None for p in procs):
            try:
                step = read_checkpoint(last)["counters"]["step"] if last.is_dir() else -1
            except genlab.GenlabError:
                step = -1
            if step >= 80:
                break
            time.sleep(0.1)
        assert step >= 80, [p.communicate() for p in procs if p.poll() is not None]
        for p in procs:
            p.send_signal(signal.SIGKILL)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert read_checkpoint(last)["run"]["world_size"] == 2
    res = subprocess.run([str(GENLAB), "fit", "--resume", str(run), "--num-nodes", "1", "--no-evaluate"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    log = read_log(run / "log.jsonl")
    end = [r for r in log if r.get("event") == "end"]
    assert len(end) == 1 and end[0]["step"] == 400 and end[0]["world_size"] == 1
    steps = [r["step"] for r in log if "losses" in r]
    assert steps == sorted(set(steps))  # one writer, no step twice, across the two sessions
    x = genlab.load(run).sample(100, seed=0)
    assert x.shape == (100, 2) and np.isfinite(x).all()
