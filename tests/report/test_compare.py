"""`genlab compare`: collecting figures from run folders, marking the best, the three output forms,
and the latent/report/compare commands end to end."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

import genlab
from genlab.report.compare import (
    COLUMNS,
    collect,
    comparison_html,
    comparison_markdown,
    mark_best,
    print_comparison,
    write_comparison,
)


def _row(data: str, **values: float | None) -> dict:
    row = {
        "run": Path(f"runs/{data}-{len(values)}"),
        "model": "m",
        "data": data,
        "status": "done",
        "verdict": {},
    }
    row.update({c.key: None for c in COLUMNS})
    row.update(values)
    return row


def test_mark_best_per_data_set_and_direction() -> None:
    rows = [
        _row("a", frechet_distance=3.0, precision=0.5, c2st_accuracy=0.62, ct=-4.0),
        _row("a", frechet_distance=1.0, precision=0.9, c2st_accuracy=0.45, ct=2.0),
        _row("a", frechet_distance=2.0, precision=0.9, c2st_accuracy=0.70, ct=None),
        _row("b", frechet_distance=9.0, precision=0.1),  # alone on its data set: nothing marked
    ]
    best = mark_best(rows)
    assert (1, "frechet_distance") in best  # lower is better
    assert {(1, "precision"), (2, "precision")} <= best  # ties are all marked
    assert (1, "c2st_accuracy") in best  # |0.45 - 0.5| beats |0.62 - 0.5|
    assert (1, "ct") in best  # closest to 0
    assert not any(i == 3 for i, _ in best)
    assert not any(k == "frechet_distance" and i != 1 for i, k in best)


def test_collect_and_outputs(vector_run: Path, vector_run_kde: Path, tmp_path: Path) -> None:
    rows = collect([vector_run, vector_run_kde])
    assert [r["model"] for r in rows] == ["gmm", "kde"]
    ev = json.loads((vector_run / "evaluation.json").read_text())
    assert rows[0]["frechet_distance"] == pytest.approx(ev["rule1"]["frechet_distance"]["value"])
    assert rows[0]["ct"] == pytest.approx(ev["rule2"]["ct"]["value"])
    assert rows[0]["fit_seconds"] is not None and rows[0]["verdict"]["rule1"] in ("pass", "fail")
    best = mark_best(rows)
    fd = [r["frechet_distance"] for r in rows]
    assert (fd.index(min(fd)), "frechet_distance") in best

    md = comparison_markdown(rows)
    assert md.count("\n|") >= 3 and "**" in md and "FD" in md

    page = comparison_html(rows, base=tmp_path)
    assert page.count('class="num best"') >= 1 and "<script" not in page

    console = Console(record=True, width=200, file=io.StringIO())
    print_comparison(rows, console)
    text = console.export_text()
    assert "\u2605" in text and "gmm" in text and "kde" in text

    out = write_comparison([vector_run, vector_run_kde], tmp_path / "cmp.html")
    assert "<table>" in out.read_text()
    with pytest.raises(genlab.GenlabError, match=r"\.html or \.md"):
        write_comparison([vector_run], tmp_path / "cmp.txt")


def test_collect_rejects_non_runs(tmp_path: Path) -> None:
    with pytest.raises(genlab.GenlabError, match="no such run folder"):
        collect([tmp_path / "missing"])
    with pytest.raises(genlab.GenlabError, match="at least one"):
        collect([])


# ----------------------------------------------------------------------------- the commands


def test_cli_compare_report_latent(
    vector_run: Path, vector_run_kde: Path, image_run: Path, tmp_path: Path, genlab_cli, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: the table's cells stay on one line
    md = tmp_path / "cmp.md"
    code, out, err = genlab_cli(["compare", str(vector_run), str(vector_run_kde), "--out", str(md)])
    assert code == 0, err
    assert "gmm" in out and "kde" in out and md.is_file()
    code, _, err = genlab_cli(["compare", str(vector_run), "--out", str(md)])
    assert code == 2 and "already exists" in err

    html_out = tmp_path / "r.html"
    code, _, err = genlab_cli(["report", str(vector_run), "--out", str(html_out)])
    assert code == 0, err
    assert re.search(r'<h2 id="rule2"', html_out.read_text())

    code, out, err = genlab_cli(["latent", str(image_run), "--out", str(tmp_path / "lat"), "--grid", "5"])
    assert code == 0, err
    assert "factor height: linear R^2" in out
    summary = json.loads((tmp_path / "lat" / "latent.json").read_text())
    assert summary["map"]["grid"] == 5 and set(summary["factor_r2"]) == {"height", "width"}
    for f in summary["figures"].values():
        assert (tmp_path / "lat" / f).is_file()

    code, _, err = genlab_cli(["latent", str(vector_run)])
    assert code == 2
    assert "gmm has no latent space; families with one: vae, gan, flow, diffusion" in err
