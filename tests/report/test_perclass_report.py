"""The report of a label-conditional model: the per-class table with the worst class highlighted, label
accuracy in Rule 1, the samples by class and the guidance figure; and reports without them still render.
The run's model is a stand-in (tests/cond_standins.py) judged through `evaluate_run(model=...)`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import genlab
from cond_standins import GuidedConditional
from genlab.fileio import read_json, write_json
from genlab.report.html import render_report
from genlab.runs import evaluate_run, fit_run


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("cond") / "run"
    fit_run("digits", "gaussian", out=run, evaluate=False, progress="off")
    data = genlab.load_dataset("digits")
    model = GuidedConditional(data, black_class=3)
    evaluate_run(
        run, model=model, dataset=data, features="pixels", n=200, guidance_scales=(0, 2), guidance_n=80
    )
    return run, read_json(run / "evaluation.json")


def test_the_report_shows_the_per_class_section(conditional_run: tuple[Path, dict]) -> None:
    run, ev = conditional_run
    assert set(ev["guidance"]["scales"]) == {0.0, 2.0} and ev["guidance"]["n"] == 80
    figures = read_json(run / "figures" / "figures.json")
    assert {"guidance", "by-class"} <= set(figures)
    page = render_report(run)
    ids = re.findall(r'<h2 id="([^"]+)"', page)
    assert ids.index("rule2") < ids.index("per_class") < ids.index("closest")
    assert 'href="#per_class"' in page
    assert "label accuracy" in page  # the Rule 1 table row, from the metric registry
    block = page[page.index('id="per_class"') : page.index('id="closest"')]
    rows = re.findall(r"<tr( class=\"worst\")?><td>([^<]+)", block)
    names = [name.strip() for _, name in rows]
    assert names[:10] == [str(d) for d in range(10)]
    worst = [name.strip() for cls, name in rows if cls]
    assert worst == [ev["per_class"]["worst"]["name"]] == ["3"]  # the black class
    assert "Guidance sweep" in block and block.count("<img") >= 2  # samples by class, the sweep
    la = ev["rule1"]["label_accuracy"]
    assert f"{la['value']:.1%}" in block and f"{la['reference']:.1%}" in block


def test_evaluations_without_per_class_sections_still_render(
    conditional_run, tmp_path: Path, image_run: Path
) -> None:
    assert 'id="per_class"' not in render_report(image_run)  # an unconditional model
    run, ev = conditional_run
    old = tmp_path / "old"
    shutil.copytree(run, old)
    for key in ("per_class", "guidance"):  # an evaluation.json from before conditional models
        ev.pop(key)
    ev["rule1"].pop("label_accuracy")
    ev["verdict"]["checks"].pop("label_accuracy")
    ev["verdict"].pop("graded", None)  # nor graded answers (the report grades old records from their checks)
    write_json(old / "evaluation.json", ev)
    page = render_report(old)
    assert 'id="per_class"' not in page and 'href="#per_class"' not in page and "label accuracy" not in page
