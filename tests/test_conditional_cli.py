"""Conditional sampling from the command line (`--class`, `--per-class`, `--where FACTOR=VALUE`), and old
saved models (no "condition" in their config, no `conditional` hyperparameter) still loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

import genlab


def test_sample_class_and_per_class(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "digits", "--model", "gaussian", "--set", "conditional=true",
                               "--out", str(run), "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["condition"]["mode"] == "labels" and cfg["condition"]["class_names"][7] == "7"
    code, out, _ = genlab_cli(["info", str(run)])
    assert code == 0 and "10 classes" in out
    code, _, err = genlab_cli(
        ["sample", str(run), "-n", "12", "--class", "7", "--out", str(tmp_path / "s.npz")]
    )
    assert code == 0, err
    got = np.load(tmp_path / "s.npz")
    assert got["samples"].shape == (12, 1, 8, 8) and (got["labels"] == 7).all()
    np.testing.assert_array_equal(got["samples"], genlab.load(run).sample(12, seed=0, labels=7))
    code, _, err = genlab_cli(["sample", str(run), "--per-class", "3", "--out", str(tmp_path / "g.png")])
    assert code == 0 and "30 samples" in err
    img = Image.open(tmp_path / "g.png")
    assert img.height > img.width  # 10 rows of 3, plus the margin of row labels
    code, _, err = genlab_cli(["sample", str(run), "--class", "Sandal", "--out", str(tmp_path / "x.npz")])
    assert code == 2 and "unknown class 'Sandal'" in err and len(err.strip().splitlines()) == 1


def test_class_on_an_unconditional_model_exits_2(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    assert genlab_cli(["fit", "iris", "--model", "gaussian", "--out", str(run), "--no-evaluate"])[0] == 0
    code, _, err = genlab_cli(["sample", str(run), "--class", "1", "--out", str(tmp_path / "s.npz")])
    assert code == 2 and "not conditional" in err
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32))
    code, _, err = genlab_cli(["fit", str(data), "--model", "vae", "--set", "conditional=true",
                               "--out", str(tmp_path / "r2"), "--no-evaluate"])  # fmt: skip
    assert code == 2 and "needs labels" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r2" / "config.json").exists()


def test_where_factor_on_a_factor_conditional_model(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "tins", "--model", "gaussian", "--set", "conditional=factors",
                               "--set", "n=300", "--set", "size=16", "--out", str(run), "--no-evaluate"])  # fmt: skip
    assert code == 2 and "labels or factors" not in err and "conditions on labels only" in err
    code, _, err = genlab_cli(["fit", "tins", "--model", "vae", "--set", "conditional=true", "--set", "n=300",
                               "--set", "size=16", "--budget", "20steps", "--set", "latent_dim=4",
                               "--out", str(run), "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    m = genlab.load(run)
    assert m.conditional_ == "factors" and m.factor_names_[:2] == ["height", "width"]
    code, _, err = genlab_cli(
        ["sample", str(run), "-n", "4", "--where", "height=0.8", "--out", str(tmp_path / "t.npz")]
    )
    assert code == 0, err
    got = np.load(tmp_path / "t.npz")
    assert np.allclose(got["labels"][:, 0], 0.8)
    np.testing.assert_array_equal(got["samples"], m.sample(4, seed=0, factors={"height": 0.8}))
    code, _, err = genlab_cli(["sample", str(run), "--where", "depth=1", "--out", str(tmp_path / "u.npz")])
    assert code == 2 and "no factor 'depth'" in err


def test_model_saved_before_conditioning_still_loads(tmp_path: Path) -> None:
    """A config written before issue 17: no "condition" object, no `conditional` hyperparameter."""
    x = np.random.default_rng(0).normal(size=(80, 2)).astype(np.float32)
    for name, params, budget in (("gmm", {"n_components": 2}, None), ("vae", {"latent_dim": 2}, "5steps")):
        m = genlab.make_model(name, **params).fit(x, budget=budget)
        m.save(tmp_path / name)
        path = tmp_path / name / "config.json"
        cfg = json.loads(path.read_text())
        assert "condition" not in cfg
        del cfg["hyperparameters"]["conditional"]
        path.write_text(json.dumps(cfg))
        old = genlab.load(tmp_path / name)
        assert old.conditional_mode is False and old.conditional is False
        np.testing.assert_array_equal(old.sample(20, seed=1), m.sample(20, seed=1))
