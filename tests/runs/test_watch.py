"""The Rule 2 watch on a model that really copies: a flow trained long on 256 points of 8gaussians
learns spikes at the training points. The watch sees it, stops, and keeps the model from before; that
model passes Rule 2 in the final evaluation while the same fit left to run (the watch only warning)
fails it. The run folder records the stop, and the report shows the checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.judge.watch import Rule2Watch
from genlab.report.html import render_report
from genlab.runs import fit_run

FLOW = {"transforms": 4, "hidden": (128, 128), "batch_size": 64, "lr": 3e-3, "warmup_steps": 20, "ema": False}


@pytest.fixture(scope="module")
def copying(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("watch")
    ds = genlab.load_dataset("8gaussians", n=320, seed=0)
    out = {}
    for action in ("stop", "warn"):
        # checks every 50 steps from step 50: the default schedule follows measured time, so on another
        # machine the checks (and the kept model) would fall elsewhere; this flow may copy by step 200
        watch = Rule2Watch(ds, action=action, min_steps=50, every=50)
        out[action] = fit_run(ds, "flow", hyper=FLOW, budget="1800steps", seed=0, out=root / action,
                              watch=watch, watch_action=action, progress="off")  # fmt: skip
    return out


def test_the_watch_stops_copying_and_the_kept_model_passes_rule2(copying) -> None:
    stop, warn = copying["stop"], copying["warn"]
    r = stop.model.train_result_
    assert r.stopped_by == "watch" and r.steps < 1800
    assert r.watch["stopped"]["kept_step"] < r.steps
    assert warn.model.train_result_.stopped_by == "steps"
    assert stop.evaluation.verdict["rule2"] == "pass", stop.evaluation.verdict["reasons"]
    assert warn.evaluation.verdict["rule2"] == "fail"
    info = json.loads((stop.run_dir / "run.json").read_text())
    assert info["watch_result"]["stopped"]["step"] == r.steps and info["stopped_by"] == "watch"
    warned = [e for e in genlab.runs.read_log(warn.run_dir) if "training goes on" in str(e.get("message"))]
    assert warned


def test_the_report_shows_the_watch(copying) -> None:
    page = render_report(copying["stop"].run_dir)
    assert "Rule 2 during training" in page and "training stopped and the model" in page
    figures = json.loads((Path(copying["stop"].run_dir) / "figures" / "figures.json").read_text())
    assert "watch" in figures


def test_the_watch_checks_a_table_model() -> None:
    """A table model samples DataFrames; the watch judges its encoded rows as the evaluation does (before,
    the first check of a small table's tabddpm fit raised on the category strings)."""
    ds = genlab.load_dataset("penguins")
    watch = Rule2Watch(ds, min_steps=10, every=10)
    m = genlab.make_model("tabddpm").fit(ds, budget="25steps", seed=0, progress="off", watch=watch)
    r = m.train_result_
    assert r.watch["checks"] == 2 and r.stopped_by in ("steps", "watch")
    checks = [h for h in r.history if h.get("event") == "watch"]
    assert [c["step"] for c in checks] == [10, 20]
    assert all(0.0 <= c["copy_share"] <= 1.0 and np.isfinite(c["frechet_distance"]) for c in checks)
