"""One self-contained HTML page per run: `genlab report RUN [--out FILE]`.

A view of the run folder: it reads run.json, data.json, log.jsonl, evaluation.json and the figures
the evaluation drew (RUN/figures/, see `genlab.runs.figures`), and never loads the model, samples,
encodes or trains; so it takes well under a second. Read top to bottom: what data and model, how
training went, real beside generated observations, Rule 1 (fidelity) and Rule 2 (novelty) with their
held-out references and verdicts in words, the generated samples closest to the training set beside
their nearest training observations, and the latent space when the model has one. Images are inline
PNG data URIs, the CSS is inline and there is no script, so the file opens anywhere without a network.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from genlab.fileio import atomic_write, read_json
from genlab.layout import DATA_FILE, EVALUATION_FILE, EXPLORE_DIR, FIGURES_DIR, FIGURES_FILE, REPORT_FILE
from genlab.report.evaluation import evaluation_sections
from genlab.report.page import Raw, esc, figure, fmt, h2, page, table
from genlab.report.perclass import has_per_class
from genlab.runs.folder import read_log, read_run, require_run, run_lock

__all__ = ["REPORT_FILE", "render_report", "write_report"]


class Figures:
    """The run's figures/ folder as figures.json describes it."""

    def __init__(self, run: Path) -> None:
        self.dir = run / FIGURES_DIR
        index = self.dir / FIGURES_FILE
        self.index: dict[str, Any] = read_json(index) if index.is_file() else {}

    def __contains__(self, name: str) -> bool:
        return name in self.index and (self.dir / self.index[name].get("file", "")).is_file()

    def png(self, name: str) -> bytes:
        return (self.dir / self.index[name]["file"]).read_bytes()

    def caption(self, name: str) -> str:
        return str(self.index[name].get("caption", ""))

    def figure(self, name: str, *, cls: str = "", width: int | None = None) -> Raw:
        return figure(self.png(name), self.caption(name), cls=cls, width=width)

    @property
    def latent(self) -> dict[str, Any] | None:
        return self.index.get("latent")


# ----------------------------------------------------------------------------- sections
def _overview(run: Path, info: dict[str, Any], data: dict[str, Any], log: list[dict[str, Any]]) -> list[str]:
    hp = info.get("hyperparameters") or {}
    hp_text = ", ".join(f"{k}={v}" for k, v in hp.items()) or "defaults"
    rows: list[list[Any]] = [
        ["run folder", str(run)],
        [
            "data",
            f"{data.get('name', data.get('source', '?'))}: {fmt(data.get('n_train'))} training and "
            f"{fmt(data.get('n_test'))} held-out test observations of shape {tuple(data.get('shape', []))} "
            f"({data.get('kind', '?')}; split seed {data.get('seed')}, fingerprint {data.get('fingerprint')})",
        ],
        ["model", f"{info.get('model', '?')} ({hp_text})"],
    ]
    end = next((r for r in reversed(log) if r.get("event") == "end"), None)
    steps = f", {fmt(end['step'])} steps, stopped by {end.get('stopped_by')}" if end else ""
    if "fit_seconds" in info:
        trained = any(isinstance(r.get("losses"), dict) for r in log)
        budget = info.get("budget") or ("the family's default" if trained else "none: closed form")
        rows.append(
            ["training", f"{info['fit_seconds']:.1f} s (budget {budget}, seed {info.get('seed')}{steps})"]
        )
    rows.append(["status", str(info.get("status", "?"))])
    out = [h2("Data and model", "overview"), table(None, rows, cls="kv", numeric=False)]
    if isinstance(data.get("table"), dict):
        out += _columns(data["table"])
    return out


def _columns(table_json: dict[str, Any]) -> list[str]:
    """A table's columns as genlab inferred them (kind, decoded dtype, levels or range, missing share)."""
    from genlab.data.table import TableCodec

    codec = TableCodec.from_json(table_json)
    rows = [[c.name, c.kind, c.dtype, c.values_text(), f"{c.missing:.1%}"] for c in codec.columns]
    note = (
        f'<p class="note">Column types as inferred (override with <code>--set types=COL:KIND</code>, drop a column '
        f"with <code>--set drop=COL</code>); train-on-synthetic predicts <b>{esc(str(codec.target))}</b>.</p>"
    )
    return [Raw("<h3>Columns</h3>"), table(["column", "kind", "dtype", "values", "missing"], rows, numeric=False),
            Raw(note)]  # fmt: skip


def _training(log: list[dict[str, Any]], figs: Figures) -> list[str]:
    out = [h2("Training", "training")]
    if "curves" in figs:
        out.append(figs.figure("curves", cls="plot"))
    elif log and not any(isinstance(r.get("losses"), dict) for r in log) and "wall_time" in log[-1]:
        r = log[-1]
        out.append(Raw('<p class="note">Fitted in closed form (no training curve).</p>'))
        rows = [
            [k.replace("_", " "), r[k]] for k in ("train_log_prob", "test_log_prob", "wall_time") if k in r
        ]
        out.append(table(["figure", "value"], rows))
    elif log:
        out.append(Raw('<p class="note">Training curves are drawn when the run is evaluated.</p>'))
    else:
        out.append(Raw('<p class="note">No training log.</p>'))
    return out


def _watch(info: dict[str, Any], figs: Figures) -> list[str]:
    """The Rule 2 watch during training: what it saw, and whether and where it stopped the run."""
    w = info.get("watch_result")
    if not w:
        return []
    out = [Raw("<h3>Rule 2 during training (the watch)</h3>")]
    stop = w.get("stopped")
    text = f"{w['checks']} checks took {w['seconds']:.1f} s. " + (
        f"Copying seen at step {stop['step']} ({esc(str(stop.get('reason')))}): training stopped and the model "
        f"of step {stop.get('kept_step')}, the last check that passed, was kept."
        if stop
        else "No copying seen: training ran its budget."
    )
    out.append(Raw(f'<p class="note">{text}</p>'))
    if "watch" in figs:
        out.append(figs.figure("watch", cls="plot"))
    return out


def _samples(run: Path, figs: Figures, kind: str) -> list[str]:
    out = [h2("Real and generated", "samples")]
    if "samples" not in figs:
        return [
            *out,
            Raw(f'<p class="note">Not evaluated yet: run <code>genlab evaluate {esc(str(run))}</code>.</p>'),
        ]
    if kind == "image" and "real" in figs:
        out.append(
            Raw(
                '<div class="row">'
                + figs.figure("real", width=400)
                + figs.figure("samples", width=400)
                + "</div>"
            )
        )
    else:
        out.append(figs.figure("samples", cls="plot"))
    return out


def _latent(figs: Figures, model: str) -> list[str]:
    summary = figs.latent or {}
    sub = Path(summary.get("dir", "latent"))
    files = summary.get("figures", {})

    def fig(name: str, caption: str, cls: str = "plot") -> str:
        path = figs.dir / sub / files[name]
        return figure(path.read_bytes(), caption, cls=cls) if name in files and path.is_file() else ""

    out = [h2("Latent space", "latent")]
    out.append(
        Raw(
            f'<p class="note">{esc(model)} has a {summary.get("latent_dim")}-dimensional latent space'
            + ("" if summary.get("has_encoder", True) else " and a decoder only (no encoder)")
            + ".</p>"
        )
    )
    if "factor_r2" in summary:
        rows = [[name, v["linear"], v["knn"]] for name, v in summary["factor_r2"].items()]
        out.append(Raw("<h3>How well the latent point predicts each known factor</h3>"))
        out.append(table(["factor", "linear R\u00b2", "k-NN R\u00b2"], rows))
        out.append(
            Raw(
                '<p class="note">Regressions fitted on encoded training data and scored on encoded test data; '
                "1 is perfect, 0 no better than the mean.</p>"
            )
        )
    if "map" in summary:
        m = summary["map"]
        cap = (
            f"decoded {m['grid']}x{m['grid']} grid: z[{m['dims'][0]}] left to right, z[{m['dims'][1]}] top to bottom "
            f"(span: {m['span_from']})"
        )
        out.append(Raw(fig("latent_map", cap)))
    between = (summary.get("interpolations") or {}).get("between", "")
    row = fig("latent_scatter", "encoded test data") + fig("interpolations", f"slerp between {between}")
    out.append(Raw(f'<div class="row">{row}</div>'))
    return out


# ----------------------------------------------------------------------------- the page
def render_report(run: str | Path) -> str:
    """The report of a run folder as an HTML string (see the module docstring)."""
    run = require_run(run)
    info = read_run(run)
    data = read_json(run / DATA_FILE) if (run / DATA_FILE).is_file() else {}
    log = read_log(run)
    ev_path = run / EVALUATION_FILE
    ev = read_json(ev_path) if ev_path.is_file() else None
    figs = Figures(run)
    model = str(info.get("model", "?"))
    kind = str(data.get("kind", "vector"))

    name = f"{model} on {data.get('name', data.get('source', '?'))}"
    body: list[str] = [
        Raw(f"<h1>genlab report: {esc(name)}</h1>"),
        Raw(f'<p class="sub">{esc(str(run))} \u00b7 written {esc(time.strftime("%Y-%m-%d %H:%M"))}</p>'),
    ]
    sections = [("overview", "Data and model"), ("training", "Training"), ("samples", "Real and generated")]
    sections += [("rule1", "Rule 1"), ("rule2", "Rule 2")]
    sections += [("per_class", "Per class")] if has_per_class(ev) else []
    sections += [("closest", "Closest to training")]
    if figs.latent:
        sections.append(("latent", "Latent space"))
    links = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in sections)
    explorer = run / EXPLORE_DIR / "index.html"
    if explorer.is_file():
        links += f'<a href="{EXPLORE_DIR}/index.html">Explore the latent space live \u2197</a>'
    body.append(Raw(f"<nav>{links}</nav>"))
    body += _overview(run, info, data, log)
    body += _training(log, figs)
    body += _watch(info, figs)
    body += _samples(run, figs, kind)
    body += evaluation_sections(ev, figs, kind, run=run)
    if figs.latent:
        body += _latent(figs, model)
    return page(f"genlab report: {name}", body)


def write_report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of `run` to `out` (default RUN/report.html, under the run's lock) atomically."""
    path = Path(out) if out is not None else Path(run) / REPORT_FILE
    with run_lock(run, "report", enabled=out is None):
        atomic_write(path, render_report(run))
    return path
