"""The CLI end to end, in-process (fast) with one real subprocess for the entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab


def test_help_and_listing_are_fast_and_light() -> None:
    """`genlab models` must not import torch, lightning or sklearn (the CLI answers in about a second)."""
    code = (
        "import sys; sys.argv=['genlab','models']\n"
        "from genlab.cli import main\n"
        "try: main()\n"
        "except SystemExit: pass\n"
        "heavy=[m for m in ('torch','lightning','sklearn','scipy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in res.stdout, res.stdout + res.stderr
    assert "diffusion" in res.stdout and "lower bound" in res.stdout


def test_fit_sample_info_round_trip(tmp_path: Path, genlab_cli) -> None:
    run_dir = tmp_path / "run"
    code, _, err = genlab_cli(
        [
            "fit",
            "8gaussians",
            "--model",
            "gmm",
            "--set",
            "n_components=8",
            "--set",
            "n=2000",
            "--out",
            str(run_dir),
            "--no-evaluate",
        ]
    )
    assert code == 0, err
    for f in ("run.json", "data.json", "config.json", "model.safetensors", "log.jsonl"):
        assert (run_dir / f).is_file(), f
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["model"] == "gmm" and cfg["hyperparameters"]["n_components"] == 8 and cfg["genlab_version"]
    data = json.loads((run_dir / "data.json").read_text())
    assert data["fingerprint"] and data["n_train"] == 1600
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert np.isfinite(log[0]["test_log_prob"])

    for suffix in (".npz", ".npy", ".csv", ".png"):
        out = tmp_path / f"s{suffix}"
        code, _, err = genlab_cli(["sample", str(run_dir), "-n", "50", "--seed", "3", "--out", str(out)])
        assert code == 0, err
        assert out.stat().st_size > 0
    a = np.load(tmp_path / "s.npy")
    np.testing.assert_array_equal(a, np.load(tmp_path / "s.npz")["samples"])
    np.testing.assert_array_equal(a, genlab.load(run_dir).sample(50, seed=3))
    np.testing.assert_allclose(np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1), a, rtol=1e-6)

    code, out, _ = genlab_cli(["info", str(run_dir)])
    assert code == 0 and "gmm" in out


def test_fit_refuses_to_overwrite_without_force(tmp_path: Path, genlab_cli) -> None:
    run_dir = tmp_path / "run"
    args = ["fit", "iris", "--model", "gaussian", "--out", str(run_dir), "--no-evaluate"]
    assert genlab_cli(args)[0] == 0
    code, _, err = genlab_cli(args)
    assert code == 2 and "already exists" in err and "--force" in err
    assert genlab_cli([*args, "--force"])[0] == 0
    # --force never deletes a folder genlab did not write
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    code, _, err = genlab_cli(
        ["fit", "iris", "--model", "gaussian", "--out", str(mine), "--force", "--no-evaluate"]
    )
    assert code == 2 and "not a genlab run folder" in err
    assert (mine / "thesis.tex").read_text() == "precious"


def test_sample_refuses_to_overwrite(tmp_path: Path, genlab_cli) -> None:
    run_dir = tmp_path / "run"
    assert genlab_cli(["fit", "iris", "--model", "gaussian", "--out", str(run_dir), "--no-evaluate"])[0] == 0
    out = tmp_path / "s.npy"
    out.write_bytes(b"user data")
    code, _, err = genlab_cli(["sample", str(run_dir), "-n", "5", "--out", str(out)])
    assert code == 2 and "already exists" in err
    assert out.read_bytes() == b"user data"


def test_csv_with_nan_exits_2_naming_row_and_column(tmp_path: Path, genlab_cli) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("a,b,c\n1,2,3\n4,5,6\n7,inf,9\n1,2,3\n")
    code, out, err = genlab_cli(
        ["fit", str(f), "--model", "gaussian", "--out", str(tmp_path / "r"), "--no-evaluate"]
    )
    assert code == 2
    assert "bad.csv" in err and "row 3" in err and "'b'" in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["fit", "no-such-set", "--model", "gmm"], "8gaussians"),
        (["fit", "iris", "--model", "no-such-model"], "known models"),
        (["fit", "iris", "--model", "gmm", "--set", "oops"], "key=value"),
        (["fit", "iris", "--model", "gmm", "--budget", "5 parsecs"], "budget"),
        (["sample", "/no/such/run", "--out", "x.npy"], "no such"),
        (["sample", "/no/such/run", "--out", "x.gif"], "unsupported output"),
    ],
)
def test_user_errors_are_one_line_exit_2(
    args: list[str], needle: str, genlab_cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = genlab_cli(args)
    assert code == 2, (out, err)
    assert needle in err and "Traceback" not in err


def test_gmm_on_8gaussians_is_within_005_nats_of_truth(tmp_path: Path, genlab_cli) -> None:
    """Issue 2's bar: mean over held-out points of log_density(x) - log_prob(x) <= 0.05."""
    run_dir = tmp_path / "run"
    code, _, err = genlab_cli(
        [
            "fit",
            "8gaussians",
            "--model",
            "gmm",
            "--set",
            "n_components=8",
            "--out",
            str(run_dir),
            "--no-evaluate",
        ]
    )
    assert code == 0, err
    data = genlab.load_dataset("8gaussians")
    model = genlab.load(run_dir)
    gap = float(np.mean(data.log_density(data.test) - model.log_prob(data.test)))
    assert -0.05 < gap <= 0.05


def test_entry_point_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("genlab")
    res = subprocess.run(
        [str(exe), "fit", "iris", "--model", "nope"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and "known models" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "fit" in res.stdout
