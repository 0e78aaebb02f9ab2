"""The evaluation at the end of `genlab fit --devices 2` shares its draws over the fit's two processes
(the other rank loads the model rank 0 saved and serves its chunks): the record is the one a single
process writes when it evaluates the run afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GENLAB = Path(sys.executable).with_name("genlab")


def test_the_evaluation_after_a_two_process_fit_is_the_one_process_evaluation(
    tmp_path: Path, genlab_cli
) -> None:
    run = tmp_path / "run"
    cmd = [str(GENLAB), "fit", "8gaussians", "--model", "vae", "--set", "n=2600", "--set", "hidden=16,16",
           "--set", "latent_dim=2", "--set", "latent_sampler=prior", "--test-fraction", "0.4",
           "--budget", "10steps", "--watch", "off", "--devices", "2", "--strategy", "ddp",
           "--accelerator", "cpu", "--out", str(run)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    assert "evaluation samples (drawn by 2 processes)" in proc.stderr
    shared = json.loads((run / "evaluation.json").read_text())
    assert shared["n"] == 1040  # the test split: two chunks of draws
    code, _, err = genlab_cli(["evaluate", str(run), "--json", str(tmp_path / "one.json")])
    assert code == 0, err
    assert json.loads((tmp_path / "one.json").read_text()) == shared
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "run"]  # rank 1 wrote nothing
