"""Classifier-free guidance from the command line: `genlab sample RUN --guidance 3` draws a conditional
diffusion model at that scale, `genlab evaluate RUN --guidance 0,3` sets the scales of the guidance
sweep; a model without guidance is a one-line error naming the option, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import genlab


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny label-conditional diffusion model on iris (3 classes), saved as a run folder."""
    import sys

    from genlab import cli

    run = tmp_path_factory.mktemp("cfg") / "run"
    argv, sys.argv = sys.argv, ["genlab", "fit", "iris", "--model", "diffusion", "--set", "conditional=true",
                                "--set", "hidden=16", "--set", "depth=1", "--set", "timesteps=50", "--set",
                                "steps=5", "--budget", "20steps", "--out", str(run), "--no-evaluate"]  # fmt: skip
    try:
        cli.main()
    except SystemExit as e:
        assert not e.code, f"fit failed with exit status {e.code}"
    finally:
        sys.argv = argv
    return run


def test_sample_at_a_guidance_scale(diffusion_run: Path, tmp_path: Path, genlab_cli) -> None:
    code, _, err = genlab_cli(["sample", str(diffusion_run), "-n", "16", "--class", "virginica",
                               "--guidance", "3", "--out", str(tmp_path / "g3.npz")])  # fmt: skip
    assert code == 0 and "at guidance 3" in err, err
    m = genlab.load(diffusion_run)
    got = np.load(tmp_path / "g3.npz")
    np.testing.assert_array_equal(got["samples"], m.sample(16, seed=0, labels=2, guidance=3.0))
    assert (got["labels"] == 2).all()
    code, _, err = genlab_cli(["sample", str(diffusion_run), "-n", "16", "--class", "virginica",
                               "--guidance", "0", "--out", str(tmp_path / "g0.npz")])  # fmt: skip
    assert code == 0, err
    assert np.abs(np.load(tmp_path / "g0.npz")["samples"] - got["samples"]).max() > 1e-3  # the scale is used
    code, _, err = genlab_cli(
        ["sample", str(diffusion_run), "--guidance", "-1", "--out", str(tmp_path / "x.npz")]
    )
    assert code == 2 and "--guidance: a guidance scale is a finite number >= 0" in err
    assert not (tmp_path / "x.npz").exists()


def test_evaluate_guidance_scales(diffusion_run: Path, genlab_cli) -> None:
    code, out, err = genlab_cli(["evaluate", str(diffusion_run), "--guidance", "0.5,3"])
    assert code == 0, err
    g = json.loads((diffusion_run / "evaluation.json").read_text())["guidance"]
    assert g["scales"] == [0.5, 3.0] and len(g["label_accuracy"]) == 2 and g["n"] >= 10
    assert "guidance sweep" in out and "0.5:" in out
    for text, message in (("0,x", "'x' is not a number"), ("1,1", "a scale is repeated"), ("-2", ">= 0")):
        code, _, err = genlab_cli(["evaluate", str(diffusion_run), "--guidance", text])
        assert code == 2 and "--guidance" in err and message in err and len(err.strip().splitlines()) == 1, (
            err
        )


def test_guidance_on_a_model_without_it_exits_2(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    assert genlab_cli(["fit", "iris", "--model", "gaussian", "--set", "conditional=true", "--out", str(run),
                       "--no-evaluate"])[0] == 0  # fmt: skip
    for args in (["sample", str(run), "--guidance", "3", "--out", str(tmp_path / "s.npz")],
                 ["evaluate", str(run), "--guidance", "0,1,2,4"]):  # fmt: skip
        code, _, err = genlab_cli(args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "--guidance: the gaussian model in" in err and "no classifier-free guidance" in err
    assert not (tmp_path / "s.npz").exists() and not (run / "evaluation.json").exists()
    # an unconditional diffusion model has nothing to guide
    plain = tmp_path / "plain"
    assert genlab_cli(["fit", "iris", "--model", "diffusion", "--set", "hidden=8", "--set", "depth=1",
                       "--set", "timesteps=20", "--set", "steps=5", "--set", "inversion_steps=5",
                       "--budget", "2steps", "--out", str(plain), "--no-evaluate"])[0] == 0  # fmt: skip
    code, _, err = genlab_cli(["sample", str(plain), "--guidance", "3", "--out", str(tmp_path / "p.npz")])
    assert code == 2 and "is not conditional" in err and len(err.strip().splitlines()) == 1, err
