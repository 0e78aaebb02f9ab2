"""Saved models are safetensors + JSON; anything else (pickles, tampered configs) is refused."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import genlab


@pytest.fixture
def saved(tmp_path):
    x = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    genlab.make_model("gmm", n_components=2).fit(x).save(tmp_path / "m")
    return tmp_path / "m"


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned_by_pickle",))


def test_pickle_renamed_to_safetensors_is_refused_and_never_runs(saved, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (saved / "model.safetensors").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(genlab.DataError, match="safetensors"):
        genlab.load(saved)
    assert not (tmp_path / "pwned_by_pickle").exists()


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: c.update(model="os.system"), "unknown model"),
        (lambda c: c.pop("format"), "not a genlab model"),
        (lambda c: c["hyperparameters"].update(evil="__import__('os')"), "unknown hyperparameter"),
        (lambda c: c["hyperparameters"].update(n_components=5), "do not match"),
        (lambda c: c.update(shape=[3]), "do not match"),
        (lambda c: c.update(shape="2"), "shape"),
        (lambda c: c.update(kind="audio"), "kind"),
        (lambda c: c["hyperparameters"].update(n_components={"__class__": 1}), "do not match"),
    ],
)
def test_tampered_config_is_refused(saved, edit, match) -> None:
    cfg = json.loads((saved / "config.json").read_text())
    edit(cfg)
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(genlab.DataError, match=match):
        genlab.load(saved)


def test_truncated_weights_and_bad_json_are_refused(saved) -> None:
    w = saved / "model.safetensors"
    w.write_bytes(w.read_bytes()[:20])
    with pytest.raises(genlab.DataError, match="safetensors"):
        genlab.load(saved)
    (saved / "config.json").write_text("{not json")
    with pytest.raises(genlab.DataError, match="not valid JSON"):
        genlab.load(saved)


def test_missing_folder_is_clear(tmp_path) -> None:
    with pytest.raises(genlab.DataError, match="no such model folder"):
        genlab.load(tmp_path / "nope")


def test_budget_parsing() -> None:
    from genlab.budget import parse_budget

    assert parse_budget("90s").seconds == 90
    assert parse_budget("5m").seconds == 300
    assert parse_budget("3000steps").steps == 3000
    assert parse_budget("20epochs").epochs == 20
    b = parse_budget("1m+10steps")
    assert (b.seconds, b.steps) == (60, 10)
    for bad in ["", "5 parsecs", "0s", "1.5steps", "-3m"]:
        with pytest.raises(genlab.GenlabError, match="budget"):
            parse_budget(bad)
