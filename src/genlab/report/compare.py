"""`genlab compare RUN...`: one table of the key figures across runs, the best per column marked.

Figures come from each run's run.json (model, data, fit time) and evaluation.json (Rule 1 and Rule 2
metrics and verdicts). "Best" is decided among runs on the same data set (different data sets are not
comparable): lowest or highest value, or closest to the ideal for the two metrics with one (C_T: 0,
closer-to-train share: 0.5). The table prints with rich, or is written as HTML (also the demo's
index page) or markdown.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "collect",
    "comparison_html",
    "comparison_markdown",
    "mark_best",
    "print_comparison",
    "run_labels",
    "write_comparison",
    "write_index",
]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    rule: str  # "rule1", "rule2" or "" (run.json)
    better: str  # "lower", "higher", or "near:<ideal>"
    help: str


def _columns() -> list[Column]:
    """Fit time, then every metric the registry marks for comparison, in the registry's order."""
    from genlab.judge.specs import compare_specs

    cols = [Column("fit_seconds", "fit s", "", "lower", "training wall time in seconds")]
    graded = [
        Column(f"{rule}_score", f"R{rule[-1]} score", rule, "lower",
               f"Rule {rule[-1]} graded score: the worst metric's distance from its held-out reference in "
               "tolerances (0 as real data, 1 the pass limit)")
        for rule in ("rule1", "rule2")
    ]  # fmt: skip
    return cols + graded + [Column(s.name, s.short, s.rule, s.better, s.help) for s in compare_specs()]


COLUMNS: list[Column] = _columns()


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def collect(runs: list[str | Path]) -> list[dict[str, Any]]:
    """One row per run: run, model, data, status, verdicts and the COLUMNS' values (None if missing)."""
    from genlab.errors import GenlabError
    from genlab.fileio import read_json
    from genlab.layout import DATA_FILE, EVALUATION_FILE
    from genlab.runs.folder import read_run

    if not runs:
        raise GenlabError("compare needs at least one run folder")
    rows = []
    for run in runs:
        run = Path(run)
        info = read_run(run)
        data = read_json(run / DATA_FILE) if (run / DATA_FILE).is_file() else {}
        ev = read_json(run / EVALUATION_FILE) if (run / EVALUATION_FILE).is_file() else {}
        row: dict[str, Any] = {
            "run": run,
            "model": info.get("model", "?"),
            "data": data.get("name") or info.get("data", "?"),
            "status": info.get("status", "?"),
            "verdict": (ev.get("verdict") or {}) if isinstance(ev, dict) else {},
            "evaluated": bool(ev),
        }
        for c in COLUMNS:
            if c.key == f"{c.rule}_score":
                v = _graded(ev, c.rule).get("score") if isinstance(ev, dict) and ev else None
            elif c.rule:
                entry = (ev.get(c.rule) or {}).get(c.key) if isinstance(ev, dict) else None
                v = entry.get("value") if isinstance(entry, dict) else None
            else:
                v = info.get(c.key)
            row[c.key] = float(v) if _finite(v) else None
        rows.append(row)
    return rows


def _graded(ev: dict[str, Any], rule: str) -> dict[str, Any]:
    from genlab.judge.console import graded

    return graded(ev, rule)


def _score(c: Column, v: float) -> float:
    """Lower is better."""
    if c.better == "lower":
        return v
    if c.better == "higher":
        return -v
    return abs(v - float(c.better.split(":", 1)[1]))


def mark_best(rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """(row index, column key) of the best value per column among runs on the same data set; ties all
    marked; nothing is marked where fewer than two runs of that data set have the figure."""
    best: set[tuple[int, str]] = set()
    for data in {r["data"] for r in rows}:
        idx = [i for i, r in enumerate(rows) if r["data"] == data]
        for c in COLUMNS:
            vals = [(i, _score(c, rows[i][c.key])) for i in idx if rows[i][c.key] is not None]
            if len(vals) < 2:
                continue
            top = min(s for _, s in vals)
            best |= {(i, c.key) for i, s in vals if math.isclose(s, top, rel_tol=1e-9, abs_tol=1e-12)}
    return best


def _verdict_text(v: dict[str, Any], rule: str) -> str:
    """The graded answer where the record has one (pass, borderline, FAIL), else the strict verdict."""
    g = (v.get("graded") or {}).get(rule) or {}
    answer = g.get("answer") if g.get("answer") in ("pass", "borderline", "fail") else v.get(rule)
    return {"pass": "pass", "fail": "FAIL", "borderline": "borderline"}.get(str(answer), "\u2013")


def _columns_present(rows: list[dict[str, Any]]) -> list[Column]:
    return [c for c in COLUMNS if any(r[c.key] is not None for r in rows)]


def run_labels(rows: list[dict[str, Any]]) -> list[str]:
    """Each run's folder name, or its full path where two runs share a name."""
    names = [Path(r["run"]).name for r in rows]
    return [n if names.count(n) == 1 else str(r["run"]) for n, r in zip(names, rows, strict=True)]


def print_comparison(rows: list[dict[str, Any]], console: Any) -> None:
    """Two rich tables (Rule 1 figures, then Rule 2); the best value per column (among runs on the same
    data set) in bold green with a star. In a narrow terminal cells fold onto more lines rather than
    being cut short."""
    from rich.table import Table

    from genlab.report.page import fmt

    best = mark_best(rows)
    cols = _columns_present(rows)
    labels = run_labels(rows)
    for rule, title in (("rule1", "Fit time and Rule 1: fidelity"), ("rule2", "Rule 2: novelty")):
        part = [c for c in cols if c.rule in (rule, "" if rule == "rule1" else rule)]
        table = Table(
            title=f"{title} (\u2605 best per column among runs on the same data)", title_justify="left"
        )
        for name in ("run", "model", "data", *[c.label for c in part], "verdict"):
            left = name in ("run", "model", "data")
            table.add_column(name, justify="left" if left else "right", overflow="fold")
        for i, r in enumerate(rows):
            cells = [labels[i], r["model"], r["data"]]
            for c in part:
                text = fmt(r[c.key])
                cells.append(f"[bold green]\u2605 {text}[/]" if (i, c.key) in best else text)
            t = _verdict_text(r["verdict"], rule)
            cells.append(f"[red]{t}[/]" if t == "FAIL" else t)
            table.add_row(*cells)
        console.print(table)


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
    """A GitHub-flavoured markdown table; the best values in bold."""
    from genlab.report.page import fmt

    best = mark_best(rows)
    cols = _columns_present(rows)
    labels = run_labels(rows)
    header = ["run", "model", "data", *[c.label for c in cols], "Rule 1", "Rule 2"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for i, r in enumerate(rows):
        cells = [labels[i], r["model"], r["data"]]
        cells += [f"**{fmt(r[c.key])}**" if (i, c.key) in best else fmt(r[c.key]) for c in cols]
        cells += [_verdict_text(r["verdict"], "rule1"), _verdict_text(r["verdict"], "rule2")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Bold: best per column among runs on the same data set. "
        + "; ".join(f"{c.label}: {c.help}" for c in cols)
        + "."
    )
    return "\n".join(lines) + "\n"


def _table_html(rows: list[dict[str, Any]], base: Path) -> str:
    from genlab.layout import REPORT_FILE
    from genlab.report.page import Raw, badge, esc, table

    best = mark_best(rows)
    cols = _columns_present(rows)
    body = []
    for i, r in enumerate(rows):
        report = Path(r["run"]) / REPORT_FILE
        name = esc(Path(r["run"]).name)
        link = (
            Raw(f'<a href="{esc(os.path.relpath(report, base))}">{name}</a>')
            if report.is_file()
            else Raw(name)
        )
        cells: list[Any] = [link, r["model"], r["data"]]
        cells += [("best", r[c.key]) if (i, c.key) in best else r[c.key] for c in cols]
        for rule in ("rule1", "rule2"):
            t = _verdict_text(r["verdict"], rule).lower() if r["verdict"].get(rule) else "not evaluated"
            cells.append(badge(t, {"pass": "good", "fail": "bad", "borderline": "warn"}.get(t, "na")))
        body.append(cells)
    header = ["run", "model", "data", *[c.label for c in cols], "Rule 1", "Rule 2"]
    legend = "; ".join(f"<b>{esc(c.label)}</b>: {esc(c.help)}" for c in cols)
    return (
        table(header, body)
        + f'<p class="note">Green: best per column among runs on the same data set. {legend}.</p>'
    )


def comparison_html(
    rows: list[dict[str, Any]],
    *,
    title: str = "genlab: runs compared",
    base: Path | None = None,
    intro: str = "",
) -> str:
    """A self-contained page with the comparison table; run names link to their reports (relative to
    `base`, the folder the page is written to)."""
    from genlab.report.page import Raw, esc, page

    base = base or Path.cwd()
    body = [Raw(f"<h1>{esc(title)}</h1>")]
    if intro:
        body.append(Raw(intro))
    body.append(Raw(_table_html(rows, base)))
    return page(title, body)


def write_comparison(runs: list[str | Path], path: str | Path) -> Path:
    """Write the comparison as .html or .md (by suffix)."""
    from genlab.errors import GenlabError
    from genlab.fileio import atomic_write

    path = Path(path)
    rows = collect(runs)
    if path.suffix.lower() in (".html", ".htm"):
        atomic_write(path, comparison_html(rows, base=path.resolve().parent))
    elif path.suffix.lower() == ".md":
        atomic_write(path, comparison_markdown(rows))
    else:
        raise GenlabError(f"{path}: compare writes .html or .md, not {path.suffix or '(no suffix)'}")
    return path


def write_index(runs: list[str | Path], path: str | Path, *, title: str = "genlab demo") -> Path:
    """The demo's index page: what was run, the comparison table, links to every report."""
    from genlab.fileio import atomic_write
    from genlab.layout import EXPLORE_DIR, REPORT_FILE
    from genlab.report.page import Raw, esc

    path = Path(path)
    rows = collect(runs)
    items = []
    for r in rows:
        href = os.path.relpath(Path(r["run"]) / REPORT_FILE, path.resolve().parent)
        took = f"{r['fit_seconds']:.0f} s" if r["fit_seconds"] is not None else "?"
        explorer = Path(r["run"]) / EXPLORE_DIR / "index.html"
        live = (
            f' \u00b7 <a href="{esc(os.path.relpath(explorer, path.resolve().parent))}">explore its latent space '
            "live</a>"
            if explorer.is_file()
            else ""
        )
        items.append(
            f'<li><a href="{esc(href)}">{esc(r["model"])} on {esc(r["data"])}</a> \u2013 fitted in {took}{live}</li>'
        )
    intro = (
        '<p class="sub">Each model was fitted with a short budget on built-in data, then judged: '
        "<b>Rule 1</b> (fidelity: do samples look like the data?) and <b>Rule 2</b> (novelty: are they more "
        "than copies of training observations?), each metric beside the same figure for held-out real data. "
        "Open a report for the samples, curves, tables and the latent space.</p>"
        f"<h2>Reports</h2><ul>{''.join(items)}</ul><h2>Comparison</h2>"
    )
    atomic_write(path, comparison_html(rows, title=title, base=path.resolve().parent, intro=Raw(intro)))
    return path
