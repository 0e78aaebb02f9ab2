"""`genlab demo --quick`: the whole pipeline (fit, evaluate, reports, index) on tiny data and budgets.
The full demo's timing is checked by hand (it takes minutes)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

import genlab
from genlab import cli
from genlab.demo import DEMO_MARKER, check_out, demo_jobs, run_demo


def test_full_demo_settings_are_step_budgets() -> None:
    jobs = demo_jobs()
    assert jobs[0].data == "tins" and jobs[0].model == "vae" and jobs[0].hyper["latent_dim"] == 2
    assert {j.data for j in jobs} == {"tins", "8gaussians", "digits", "penguins"} and len(jobs) >= 4
    for j in jobs:  # budgets in steps (or closed form), so the result does not depend on the machine
        assert j.budget is None or j.budget.endswith("steps")
        genlab.make_model(j.model, **j.hyper)  # valid hyperparameters


def test_quick_demo_writes_index_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    log = io.StringIO()
    index = run_demo(out, quick=True, console=Console(file=log, width=120), progress="off")
    assert index == out / "index.html" and (out / DEMO_MARKER).is_file()
    page = index.read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert links and all(not re.match(r"(https?:)?//", u) for u in links)
    for job in demo_jobs(quick=True):
        report = out / job.folder / "report.html"
        assert report.is_file() and f"{job.folder}/report.html" in links
        assert (out / job.folder / "evaluation.json").is_file()
        assert 'id="rule1"' in report.read_text()
    assert page.count("<tr>") == 1 + len(demo_jobs(quick=True))  # header + one row per run
    # every run's samples beside held-out data, as pictures on the page itself
    assert "What each model draws" in page
    for job in demo_jobs(quick=True):
        assert f'src="{job.folder}/figures/samples.png"' in page, job.folder
    assert 'src="tins-vae/figures/real.png"' in page
    assert 'id="latent"' in (out / "tins-vae" / "report.html").read_text()
    text = log.getvalue()
    assert "[1/3]" in text and "[3/3]" in text and "index.html" in text
    assert (
        "Gower distance" in (out / "penguins-copula" / "report.html").read_text()
    )  # the table's closest rows

    # a later demo may replace this output; a folder that is not demo output is refused without --force
    check_out(out, force=False)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(genlab.GenlabError, match="not earlier demo output"):
        run_demo(other, quick=True, console=Console(file=io.StringIO()), progress="off")
    assert (other / "notes.txt").read_text() == "keep me"
    check_out(other, force=True)  # --force writes beside what is there (and deletes nothing)


def test_demo_command_refuses_a_foreign_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "data.csv").write_text("1,2\n")
    argv = sys.argv
    sys.argv = ["genlab", "demo", "--quick", "--out", str(tmp_path)]
    try:
        with pytest.raises(SystemExit) as e:
            cli.main()
    finally:
        sys.argv = argv
    assert e.value.code == 2
    assert "not earlier demo output" in capsys.readouterr().err
