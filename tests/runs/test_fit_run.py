"""`genlab fit` keeps a user's files safe: checks before writing, builds beside the old run, locks,
stops cleanly on Ctrl-C / SIGTERM, resumes exactly, and writes files with the user's umask."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import genlab

DRIVER = Path(__file__).with_name("driver.py")
VAE = ["--set", "n=1000", "--set", "latent_dim=2", "--set", "hidden=16,16", "--set", "batch_size=32",
       "--set", "latent_sampler=prior"]  # fmt: skip


def tree(root: Path) -> dict[str, str]:
    """path -> sha256 of every file under root (what 'nothing changed' means)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def driver(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    e = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, str(DRIVER), *args], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)  # fmt: skip


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def checkpoint_step(run: Path) -> int:
    """The step of the run's last checkpoint (in its partial build), or -1 while there is none."""
    from genlab.runs import partial_path
    from genlab.train.checkpoint import read_checkpoint

    folder = partial_path(run) / "checkpoints" / "last"
    try:
        return int(read_checkpoint(folder)["counters"]["step"]) if folder.is_dir() else -1
    except (genlab.GenlabError, OSError, KeyError):
        return -1  # being written right now


# ---------------------------------------------------------------------------------------------- --force
@pytest.mark.parametrize(
    "bad",
    [
        ["--budget", "5 parsecs"],
        ["--set", "n_components=abc"],
        ["--set", "n_components=0"],
        ["--set", "no_such_knob=1"],
        ["--devices", "0"],
        ["--precision", "17"],
        ["--accelerator", "gpu"],
    ],
    ids=["budget", "set-abc", "set-zero", "set-unknown", "devices", "precision", "accelerator"],
)
def test_force_with_a_bad_command_leaves_the_old_run(tmp_path: Path, genlab_cli, bad: list[str]) -> None:
    run = tmp_path / "run"
    args = ["fit", "iris", "--model", "gmm", "--set", "n_components=2", "--out", str(run), "--no-evaluate"]
    assert genlab_cli(args)[0] == 0
    before = tree(tmp_path)
    base = (
        [a for a in args if a not in ("--set", "n_components=2")] if "n_components" in " ".join(bad) else args
    )
    code, _, err = genlab_cli([*base, *bad, "--force"])
    assert code == 2 and err.count("\n") <= 2, err
    assert tree(tmp_path) == before  # nothing written, nothing deleted, no partial left behind


def test_force_with_bad_data_leaves_the_old_run(tmp_path: Path, genlab_cli) -> None:
    run, csv = tmp_path / "run", tmp_path / "d.csv"
    csv.write_text("a,b\n" + "".join(f"{i},{2 * i}\n" for i in range(40)))
    args = ["fit", str(csv), "--model", "gaussian", "--out", str(run), "--no-evaluate"]
    assert genlab_cli(args)[0] == 0
    before = tree(run)
    csv.write_text("a,b\n1,2\n3,inf\n" + "".join(f"{i},{2 * i}\n" for i in range(40)))
    code, _, err = genlab_cli([*args, "--force"])
    assert code == 2 and "row 2" in err and "'b'" in err
    assert tree(run) == before


def test_force_replaces_only_after_success(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    base = ["fit", "iris", "--out", str(run), "--no-evaluate"]
    assert genlab_cli([*base, "--model", "gaussian"])[0] == 0
    assert genlab_cli([*base, "--model", "gmm", "--set", "n_components=2", "--force"])[0] == 0
    assert json.loads((run / "config.json").read_text())["model"] == "gmm"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial, old copy or lock left


def test_bad_options_write_nothing(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "new"
    code, _, err = genlab_cli(["fit", "iris", "--model", "vae", "--budget", "10x", "--out", str(run)])
    assert code == 2 and "budget" in err
    code, _, err = genlab_cli(["fit", "iris", "--model", "vae", "--set", "lr=-1", "--out", str(run)])
    assert code == 2 and "lr must be > 0" in err
    assert list(tmp_path.iterdir()) == []
    # the corrected command then runs without --force
    assert genlab_cli(["fit", "iris", "--model", "gaussian", "--out", str(run), "--no-evaluate"])[0] == 0


def test_small_test_split_is_refused_before_fitting(tmp_path: Path, genlab_cli) -> None:
    csv = tmp_path / "small.csv"
    csv.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
    code, _, err = genlab_cli(["fit", str(csv), "--model", "gaussian", "--out", str(tmp_path / "r")])
    assert code == 2 and "at least 20 held-out rows" in err and "--no-evaluate" in err
    assert not (tmp_path / "r").exists()
    code, _, err = genlab_cli(["fit", str(csv), "--model", "gaussian", "--out", str(tmp_path / "r"),
                               "--test-fraction", "0", "--no-evaluate"])  # fmt: skip
    assert code == 0, err


# ---------------------------------------------------------------------------------------------- signals
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_with_a_checkpoint_and_resume_matches_an_uninterrupted_fit(
    tmp_path: Path, sig, code
) -> None:
    run = tmp_path / "run"
    args = ["fit", "8gaussians", "--model", "vae", *VAE, "--budget", "60steps", "--seed", "3",
            "--out", str(run), "--no-evaluate"]  # fmt: skip
    proc = driver(args, {"GENLAB_TEST_STEP_SLEEP": "0.03"})
    try:
        wait_for(lambda: checkpoint_step(run) >= 12 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert f"genlab fit --resume {run}" in err
    assert not run.exists()  # the run is not in place until it is complete
    info = subprocess.run(
        [sys.executable, "-m", "genlab.cli", "info", str(run)], capture_output=True, text=True
    )
    assert "interrupted" in info.stdout, info.stdout + info.stderr
    if sig == signal.SIGTERM:
        return  # the same stop; resuming is checked once, after Ctrl-C

    res = driver(["fit", "--resume", str(run), "--no-evaluate"])
    _, err = res.communicate(timeout=180)
    assert res.returncode == 0, err
    assert json.loads((run / "run.json").read_text())["status"] == "done"

    ds = genlab.load_dataset("8gaussians", n=1000)
    ref = genlab.make_model("vae", latent_dim=2, hidden=(16, 16), batch_size=32, latent_sampler="prior")
    ref.fit(ds, budget="60steps", seed=3)
    ref.save(tmp_path / "ref")
    from genlab.fileio import load_arrays

    a, b = load_arrays(run / "model.safetensors"), load_arrays(tmp_path / "ref" / "model.safetensors")
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resume_needs_a_checkpoint_and_takes_no_new_arguments(tmp_path: Path, genlab_cli) -> None:
    from genlab.runs import partial_path

    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "--resume", str(run), "iris"])
    assert code == 2 and "drop DATA" in err
    part = partial_path(run)
    part.mkdir()
    (part / "run.json").write_text(json.dumps({"model": "vae", "hyperparameters": {}, "status": "running"}))
    code, _, err = genlab_cli(["fit", "--resume", str(run)])
    assert code == 2 and "before its first checkpoint" in err and "fit it again" in err
    code, _, err = genlab_cli(["fit", "iris", "--model", "gaussian", "--out", str(run)])
    assert code == 2 and "unfinished fit" in err and "--resume" in err


# ---------------------------------------------------------------------------------------------- locks
def test_a_run_in_use_is_refused_with_the_holder_named(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    args = [
        "fit",
        "8gaussians",
        "--model",
        "vae",
        *VAE,
        "--budget",
        "400steps",
        "--out",
        str(run),
        "--no-evaluate",
    ]
    proc = driver(args, {"GENLAB_TEST_STEP_SLEEP": "0.02"})
    try:
        wait_for(lambda: checkpoint_step(run) >= 0 or proc.poll() is not None)
        assert proc.poll() is None
        code, _, err = genlab_cli([*args, "--force"])
        assert code == 2 and f"process {proc.pid}" in err and "in use" in err
        code, _, err = genlab_cli(["fit", "--resume", str(run)])
        assert code == 2 and f"process {proc.pid}" in err
    finally:
        proc.kill()
        proc.wait()
    # the holder died (SIGKILL): its lock went with it, and the run resumes
    code, _, err = genlab_cli(["fit", "--resume", str(run), "--no-evaluate"])
    assert code == 0, err


# ---------------------------------------------------------------------------------------------- modes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_files_get_the_users_umask(tmp_path: Path, umask: int, mode: int) -> None:
    run = tmp_path / "run"
    code = (
        f"import os, sys; os.umask({umask}); sys.argv=['genlab','fit','iris','--model','gaussian','--out',"
        f"{str(run)!r},'--no-evaluate']\nfrom genlab.cli import main\nmain()"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for f in run.rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == mode, f


def test_sample_force_keeps_the_files_mode(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    assert genlab_cli(["fit", "iris", "--model", "gaussian", "--out", str(run), "--no-evaluate"])[0] == 0
    out = tmp_path / "s.npy"
    out.write_bytes(b"x")
    out.chmod(0o604)
    assert genlab_cli(["sample", str(run), "-n", "5", "--out", str(out), "--force"])[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o604 and np.load(out).shape == (5, 4)
