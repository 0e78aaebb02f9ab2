"""`genlab fit` killed with SIGKILL at five moments (before the first checkpoint, in the middle of
writing a checkpoint, at a random step of training, during the evaluation, during the report): every
file left on disk parses, and resuming (or, where nothing can be resumed, fitting again) succeeds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_fit_run import VAE, checkpoint_step, driver, wait_for

from genlab.fileio import load_arrays
from genlab.runs import partial_path
from genlab.train.checkpoint import read_checkpoint

FIT = ["fit", "8gaussians", "--model", "vae", *VAE, "--budget", "40steps", "--seed", "1"]


def every_file_parses(root: Path) -> int:
    """Open every file genlab may have written under root; returns how many were checked."""
    n = 0
    for p in root.rglob("*"):
        if not p.is_file() or p.name.endswith((".lock", ".py")):
            continue
        if p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".safetensors":
            load_arrays(p)
        elif p.name == "log.jsonl":
            lines = p.read_text().splitlines()
            for line in lines[:-1]:  # a killed writer may leave one torn last line, which readers skip
                json.loads(line)
        elif p.suffix == ".html":
            assert p.read_text().rstrip().endswith("</html>")
        elif p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            continue
        n += 1
    for ckpt in root.rglob("checkpoints/*"):
        if ckpt.is_dir() and not ckpt.name.startswith("."):
            read_checkpoint(ckpt)
    return n


def kill_when(proc: subprocess.Popen, ready) -> None:  # noqa: ANN001
    try:
        wait_for(lambda: ready() or proc.poll() is not None, timeout=180)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, str(Path(__file__).with_name("driver.py")), *args],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    return res


@pytest.mark.parametrize("moment", ["before the first checkpoint", "writing a checkpoint", "a random step"])
def test_killed_while_training(tmp_path: Path, moment: str) -> None:
    run = tmp_path / "run"
    env = {"GENLAB_TEST_STEP_SLEEP": "0.05"}
    if moment == "writing a checkpoint":
        # the second checkpoint: the first is complete, the second half-written when the process dies
        env |= {
            "GENLAB_TEST_PAUSE": "checkpoint",
            "GENLAB_TEST_PAUSE_AT": "2",
            "GENLAB_TEST_MARKER": str(tmp_path / "marker"),
        }
    proc = driver([*FIT, "--out", str(run), "--no-evaluate"], env)
    if moment == "before the first checkpoint":
        kill_when(proc, lambda: (partial_path(run) / "run.json").is_file())
    elif moment == "writing a checkpoint":
        kill_when(proc, lambda: (tmp_path / "marker").is_file())
    else:
        step = int(np.random.default_rng(0).integers(8, 30))
        kill_when(proc, lambda: checkpoint_step(run) >= step)
    assert every_file_parses(tmp_path) >= 2
    res = run_cli(["fit", "--resume", str(run), "--no-evaluate"])
    if moment == "before the first checkpoint":
        assert res.returncode == 2 and "before its first checkpoint" in res.stderr, res.stderr
        res = run_cli([*FIT, "--out", str(run), "--no-evaluate", "--force"])
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "run.json").read_text())["status"] == "done"
    assert every_file_parses(tmp_path) >= 4


def test_killed_during_evaluation_then_during_the_report(tmp_path: Path) -> None:
    run = tmp_path / "run"
    marker = tmp_path / "marker"
    env = {"GENLAB_TEST_PAUSE": "evaluate", "GENLAB_TEST_MARKER": str(marker)}
    proc = driver([*FIT, "--out", str(run)], env)
    kill_when(proc, marker.is_file)
    assert every_file_parses(tmp_path) >= 4
    assert (run / "model.safetensors").is_file() and not (run / "evaluation.json").exists()
    res = run_cli(["evaluate", str(run), "--features", "pixels"])  # the dead process's lock is gone
    assert res.returncode == 0, res.stderr
    assert (run / "evaluation.json").is_file()

    marker.unlink()
    res = run_cli(["report", str(run)])
    assert res.returncode == 0
    first = (run / "report.html").read_text()
    env = {"GENLAB_TEST_PAUSE": "report", "GENLAB_TEST_MARKER": str(marker)}
    kill_when(driver(["report", str(run)], env), marker.is_file)
    assert (run / "report.html").read_text() == first  # the old report, whole
    assert every_file_parses(tmp_path) >= 6
    res = run_cli(["report", str(run)])
    assert res.returncode == 0, res.stderr
