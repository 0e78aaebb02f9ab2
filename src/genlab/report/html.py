"""One self-contained HTML page per run: `genlab report RUN [--out FILE]`.

Read top to bottom: what data and model, how training went (time, curves), real beside generated
observations, Rule 1 (fidelity) and Rule 2 (novelty) with their held-out references and verdicts in
words, the generated samples closest to the training set each beside its nearest training observation,
and the latent space when the model has one. Images are inline PNG data URIs, the CSS is inline and
there is no script, so the file opens anywhere without a network. Plain string templates and
`html.escape`; no template engine.
"""

from __future__ import annotations

import base64
import html
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["REPORT_FILE", "img_tag", "page", "render_report", "table", "write_report"]

REPORT_FILE = "report.html"
N_SHOW = 64  # real and generated observations shown side by side
N_SCATTER = 2000  # vector data: points per scatter

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2330;
       max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; line-height: 1.45; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e3e7ee; }
h3 { font-size: 15px; margin: 18px 0 6px; color: #3a4356; }
p.sub { color: #5b6476; margin: 0 0 18px; }
p.note { color: #5b6476; font-size: 13px; margin: 6px 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #d8dde6; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f3f5f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.rules td:nth-child(2), table.rules td:nth-child(3), table.rules td:nth-child(4) { white-space: nowrap; }
table.kv th { width: 170px; }
.best { font-weight: 700; background: #eaf6ea; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 13px; }
.good { background: #dff3e2; color: #17612a; }
.warn { background: #fff1d6; color: #7a5200; }
.bad { background: #fde2e1; color: #8f1d18; }
.na { background: #eceef2; color: #4a5060; }
.row { display: flex; flex-wrap: wrap; gap: 22px; align-items: flex-start; }
figure { margin: 6px 0; display: inline-block; vertical-align: top; }
figcaption { font-size: 13px; color: #5b6476; text-align: center; margin-top: 4px; }
img { max-width: 100%; image-rendering: pixelated; }
img.plot { image-rendering: auto; }
.pairs { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.pair { border: 1px solid #e3e7ee; border-radius: 6px; padding: 6px; text-align: center; font-size: 12px; }
.pair img { width: 45%; margin: 2px; }
code { background: #f3f5f9; padding: 1px 4px; border-radius: 3px; font-size: 13px; }
nav { font-size: 14px; margin: 8px 0 0; }
nav a { margin-right: 12px; color: #2855a8; text-decoration: none; }
"""


# ----------------------------------------------------------------------------- small builders
class Raw(str):
    """Already-escaped HTML: `table` and `page` insert it as is."""


def esc(x: Any) -> str:
    return x if isinstance(x, Raw) else html.escape(str(x))


def fmt(v: Any, digits: int = 4) -> str:
    """Numbers for people: 4 significant digits, None as an en dash."""
    if v is None:
        return "\u2013"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        v = float(v)
        if not np.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}" if (abs(v) >= 1e-3 or v == 0) else f"{v:.2e}"
    return str(v)


def img_tag(png: bytes, alt: str, *, cls: str = "", width: int | None = None) -> Raw:
    """An <img> holding the PNG inline as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    attrs = f' class="{cls}"' if cls else ""
    attrs += f' width="{int(width)}"' if width else ""
    return Raw(f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}"{attrs}>')


def figure(png: bytes, caption: str, *, cls: str = "", width: int | None = None) -> Raw:
    return Raw(
        f"<figure>{img_tag(png, caption, cls=cls, width=width)}<figcaption>{esc(caption)}</figcaption></figure>"
    )


def table(header: list[str] | None, rows: list[list[Any]], *, cls: str = "", numeric: bool = True) -> Raw:
    """Rows of cells (str / number / Raw). Numbers are formatted and right-aligned; a cell given as
    ("best", value) is highlighted."""
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for k, c in enumerate(row):
            best = isinstance(c, tuple) and len(c) == 2 and c[0] == "best"
            v = c[1] if best else c
            is_num = (
                numeric and isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            )
            klass = " ".join(x for x in ("num" if is_num else "", "best" if best else "") if x)
            tag = "th" if (cls == "kv" and k == 0) else "td"
            text = esc(v) if isinstance(v, str) else esc(fmt(v))
            cells.append(f'<{tag} class="{klass}">{text}</{tag}>' if klass else f"<{tag}>{text}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return Raw("".join(out))


def h2(title: str, anchor: str) -> Raw:
    return Raw(f'<h2 id="{esc(anchor)}">{esc(title)}</h2>')


def badge(text: str, tone: str) -> Raw:
    """A coloured verdict label; tone is good, warn, bad or na."""
    return Raw(f'<span class="verdict {tone}">{esc(text)}</span>')


def page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


# ----------------------------------------------------------------------------- figures
def _curves_png(log: list[dict[str, Any]]) -> bytes | None:
    """Training curves from log.jsonl: one panel per logged loss, plus the validation loss."""
    from genlab.report.plots import new_panels, png_bytes

    rows = [r for r in log if isinstance(r.get("losses"), dict) and "step" in r]
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        for k, v in r["losses"].items():
            if isinstance(v, int | float) and np.isfinite(v):
                series.setdefault(k, ([], []))[0].append(r["step"])
                series[k][1].append(v)
    val = [
        (r["step"], r["val_loss"]) for r in log if isinstance(r.get("val_loss"), int | float) and "step" in r
    ]
    if val:
        series["validation loss"] = ([s for s, _ in val], [v for _, v in val])
    series = {k: v for k, v in series.items() if len(v[0]) >= 2}
    if not series:
        return None
    names = list(series)[:6]
    fig, axes = new_panels(len(names), 3.6, 2.8)
    for ax, name in zip(axes[0], names, strict=True):
        s, v = series[name]
        ax.plot(s, v, "-", lw=1.4, color="tab:orange" if name == "validation loss" else "tab:blue")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def _vector_plot_png(real: np.ndarray, gen: np.ndarray, names: list[str] | None) -> bytes:
    """2-D data: one scatter, real beside generated. More dimensions: a pairwise plot of the first four
    (marginal histograms on the diagonal, scatters off it), generated over real."""
    from genlab.report.plots import new_panels, png_bytes

    d = real.shape[1]
    names = names or [f"x{i}" for i in range(d)]
    if d <= 2:
        fig, axes = new_panels(2, 4.2, 4.0)
        for ax, x, title, c in (
            (axes[0, 0], real, "real (test)", "0.35"),
            (axes[0, 1], gen, "generated", "tab:blue"),
        ):
            ax.scatter(x[:, 0], x[:, 1] if d > 1 else np.zeros(len(x)), s=2, c=c)
            ax.set_title(title)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1] if d > 1 else "")
        lo, hi = np.percentile(np.r_[real, gen], [0.5, 99.5], axis=0)
        pad = 0.05 * (hi - lo + 1e-9)
        for ax in axes[0]:
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            if d > 1:
                ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        fig.tight_layout()
        return png_bytes(fig)
    k = min(d, 4)
    fig, axes = new_panels(k, 2.4, 2.4, nrows=k)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if i == j:
                bins = np.histogram_bin_edges(np.r_[real[:, i], gen[:, i]], bins=30)
                ax.hist(real[:, i], bins=bins, density=True, color="0.6", alpha=0.8, label="real")
                ax.hist(
                    gen[:, i],
                    bins=bins,
                    density=True,
                    histtype="step",
                    color="tab:blue",
                    lw=1.5,
                    label="generated",
                )
            else:
                ax.scatter(real[:, j], real[:, i], s=1, c="0.7")
                ax.scatter(gen[:, j], gen[:, i], s=1, c="tab:blue", alpha=0.6)
            ax.tick_params(labelsize=7)
            if i == k - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(names[i], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return png_bytes(fig)


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
    return [h2("Data and model", "overview"), table(None, rows, cls="kv", numeric=False)]


def _training(log: list[dict[str, Any]]) -> list[str]:
    out = [h2("Training", "training")]
    png = _curves_png(log)
    if png is not None:
        out.append(
            figure(
                png,
                "training curves (from log.jsonl; losses are averages since the previous log line)",
                cls="plot",
            )
        )
    elif log and any(k.endswith("log_prob") for k in log[-1]):
        r = log[-1]
        out.append(Raw('<p class="note">Fitted in closed form (no training curve).</p>'))
        out.append(
            table(
                ["figure", "value"],
                [
                    [k.replace("_", " "), r[k]]
                    for k in ("train_log_prob", "test_log_prob", "wall_time")
                    if k in r
                ],
            )
        )
    else:
        out.append(Raw('<p class="note">No training log.</p>'))
    return out


def _samples(model: Any, ds: Any, seed: int) -> list[str]:
    from genlab.report.images import image_grid_png

    out = [h2("Real and generated", "samples")]
    if ds.kind == "image":
        n = min(N_SHOW, len(ds.test))
        gen = model.sample(n, seed=seed)
        real = ds.test[:n]
        out.append(
            Raw(
                '<div class="row">'
                + figure(image_grid_png(real), f"real: the first {n} held-out test observations", width=400)
                + figure(image_grid_png(gen), f"generated: {n} samples (seed {seed})", width=400)
                + "</div>"
            )
        )
    else:
        n = min(N_SCATTER, len(ds.test))
        gen = model.sample(n, seed=seed)
        real = ds.test[:n]
        caption = (
            f"{n} held-out test observations beside {n} generated (seed {seed})"
            if ds.shape[0] <= 2
            else f"the first {min(ds.shape[0], 4)} of {ds.shape[0]} coordinates: marginals (diagonal) and pairs; "
            f"grey real (test), blue generated (seed {seed})"
        )
        names = getattr(ds, "feature_names", None)
        out.append(
            figure(_vector_plot_png(real.reshape(n, -1), gen.reshape(n, -1), names), caption, cls="plot")
        )
    return out


def _latent(model: Any, ds: Any, seed: int) -> list[str]:
    from genlab.latent import latent_figures

    out = [h2("Latent space", "latent")]
    with tempfile.TemporaryDirectory(prefix="genlab-report-") as tmp:
        # 1,000 encoded observations are plenty for the figures and keep a diffusion model's
        # encoder (DDIM inversion, tens of network passes each) quick
        summary = latent_figures(model, ds, tmp, seed=seed, max_encode=1000)
        figs = {k: (Path(tmp) / v).read_bytes() for k, v in summary["figures"].items()}
    out.append(
        Raw(
            f'<p class="note">{esc(model.name)} has a {summary["latent_dim"]}-dimensional latent space'
            + ("" if summary["has_encoder"] else " and a decoder only (no encoder)")
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
    if "latent_map" in figs:
        m = summary["map"]
        cap = (
            f"decoded {m['grid']}x{m['grid']} grid: z[{m['dims'][0]}] left to right, z[{m['dims'][1]}] top to bottom "
            f"(span: {m['span_from']})"
        )
        out.append(figure(figs["latent_map"], cap, cls="plot"))
    row = ""
    if "latent_scatter" in figs:
        row += figure(figs["latent_scatter"], "encoded test data", cls="plot")
    row += figure(figs["interpolations"], f"slerp between {summary['interpolations']['between']}", cls="plot")
    out.append(Raw(f'<div class="row">{row}</div>'))
    return out


# ----------------------------------------------------------------------------- the page
def render_report(run: str | Path, *, seed: int = 0) -> str:
    """The report of a run folder as an HTML string (see the module docstring)."""
    import genlab
    from genlab import runs
    from genlab.fileio import read_json

    run = Path(run)
    info = runs.read_run(run)
    data = read_json(run / runs.DATA_FILE) if (run / runs.DATA_FILE).is_file() else {}
    log = runs.read_log(run)
    model = genlab.load(run)
    ds = runs.load_run_dataset(run)
    ev_path = run / "evaluation.json"
    ev = read_json(ev_path) if ev_path.is_file() else None

    name = f"{info.get('model', model.name)} on {data.get('name', ds.name)}"
    body: list[str] = [
        Raw(f"<h1>genlab report: {esc(name)}</h1>"),
        Raw(f'<p class="sub">{esc(str(run))} \u00b7 written {esc(time.strftime("%Y-%m-%d %H:%M"))}</p>'),
    ]
    sections = [("overview", "Data and model"), ("training", "Training"), ("samples", "Real and generated")]
    sections += [("rule1", "Rule 1"), ("rule2", "Rule 2"), ("closest", "Closest to training")]
    if model.latent_dim is not None:
        sections.append(("latent", "Latent space"))
    body.append(Raw("<nav>" + "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in sections) + "</nav>"))
    body += _overview(run, info, data, log)
    body += _training(log)
    body += _samples(model, ds, seed)
    from genlab.report.evaluation import evaluation_sections

    body += evaluation_sections(ev, model, ds, run=run)
    if model.latent_dim is not None:
        body += _latent(model, ds, seed)
    return page(f"genlab report: {name}", body)


def write_report(run: str | Path, out: str | Path | None = None, *, seed: int = 0) -> Path:
    """Write the report of `run` to `out` (default RUN/report.html) atomically; returns the path."""
    from genlab.fileio import atomic_write

    path = Path(out) if out is not None else Path(run) / REPORT_FILE
    atomic_write(path, render_report(run, seed=seed))
    return path
