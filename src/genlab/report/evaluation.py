"""The evaluation part of the HTML report: the Rule 1 and Rule 2 tables with their held-out references,
the verdicts in words, and the generated samples closest to the training set beside their nearest
training observations. Reads evaluation.json as `genlab.judge.Evaluation.to_dict()` writes it, the
metrics' names and explanations from the metric registry, and the pictures from RUN/figures/.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from genlab.judge.specs import RULES, spec
from genlab.report.page import Raw, badge, esc, fmt, h2, img_tag, table
from genlab.report.perclass import per_class_sections
from genlab.runs.figures import N_CLOSEST

__all__ = ["evaluation_sections"]


def _check_cell(check: dict[str, Any] | None, diagnostic: bool = False) -> Raw:
    if diagnostic:
        return badge("diagnostic", "na")
    if not check or check.get("ok") is None:
        return badge("not judged", "na")
    return badge("ok", "good") if check["ok"] else badge("fails", "bad")


def _limit_text(check: dict[str, Any] | None) -> str:
    if not check or not isinstance(check.get("limit"), int | float) or not math.isfinite(check["limit"]):
        return "\u2013"
    op = "\u2264" if check.get("bad") == "higher" else "\u2265"
    return f"{op} {fmt(check['limit'])}"


def _rule_table(rule: str, entries: dict[str, Any], checks: dict[str, Any]) -> Raw:
    rows = []
    for metric, e in entries.items():
        sp = spec(metric)
        if sp is None or not isinstance(e, dict):
            continue
        name, what = sp.label, sp.help
        value = e.get("value")
        value_text = fmt(value)
        if e.get("std") is not None:
            value_text += f" \u00b1 {fmt(e['std'], 2)}"
        if "bits_per_dim" in e:
            value_text += f" ({fmt(e['bits_per_dim'])} bits)"
        if e.get("reference_kind"):
            what += f". Reference: {e['reference_kind']}"
        if "n_eff" in e:
            what += f". Effective sample size (distinct samples): {e['n_eff']}"
        rows.append(
            [
                name,
                value_text,
                fmt(e.get("reference")),
                _limit_text(checks.get(metric)),
                _check_cell(checks.get(metric), diagnostic=not sp.judged),
                what,
            ]
        )
    return table(
        ["metric", "model", "reference (held-out real)", "pass if", "check", "what it measures"],
        rows,
        cls="rules",
        numeric=False,
    )


def _graded_words(ev: dict[str, Any], rule: str) -> str:
    from genlab.judge.console import graded

    g = graded(ev, rule)
    if g.get("answer") == "not judged" or g.get("score") is None:
        return '<p class="note">Graded: not judged (no metric of this rule could be judged).</p>'
    kind = {"pass": "good", "borderline": "warn", "fail": "bad"}.get(str(g["answer"]), "na")
    sp = spec(str(g.get("worst")))
    worst = sp.label if sp is not None else str(g.get("worst"))
    return (
        f"<p>Graded: {badge(str(g['answer']), kind)} score <b>{esc(fmt(g['score'], 3))}</b> "
        f'<span class="note">(the worst metric, {esc(worst)}, is {esc(fmt(g["score"], 3))} tolerances from its '
        "held-out reference: 0 is as close as real data, 1 the pass limit, above 2 a clear fail)</span></p>"
    )


def _verdict_words(rule: str, verdict: dict[str, Any]) -> Raw:
    v = verdict.get(rule)
    reasons = [r[len(rule) + 2 :] for r in verdict.get("reasons", []) if r.startswith(f"{rule}:")]
    if v == "pass":
        text = (
            "Every judged metric is within its tolerance of the held-out reference: the samples are as close to "
            "the data as fresh real observations are, up to sampling noise."
            if rule == "rule1"
            else "No more samples are copies of training observations than held-out real data are: no sign of "
            "copying."
        )
        head = badge("PASS", "good")
    elif v == "fail":
        text = (
            "At least one metric is worse than the held-out reference by more than its tolerance:"
            if rule == "rule1"
            else "The samples sit closer to training observations than held-out real data do:"
        )
        head = badge("FAIL", "bad")
    else:
        return Raw(f"<p>{badge('not evaluated', 'na')}</p>")
    items = "".join(f"<li>{esc(r)}</li>" for r in reasons)
    return Raw(f"<p>{head} {esc(text)}</p>" + (f"<ul>{items}</ul>" if items else ""))


def _closest(ev: dict[str, Any], figs: Any, kind: str) -> list[str]:
    """The section: each close sample beside its nearest training observation (images), or joined to it
    in a scatter with a table of distances (vectors); pictures drawn by the evaluation."""
    if kind == "table":
        return _closest_rows(figs)
    copies = ((ev.get("rule2") or {}).get("copies") or [])[:N_CLOSEST]
    out = [h2(f"The {len(copies) or N_CLOSEST} samples closest to the training set", "closest")]
    pictures = [k for k in range(len(copies)) if f"closest-{k}" in figs]
    if not copies or (not pictures and "closest" not in figs):
        return [*out, Raw('<p class="note">Not available (no evaluation, or it recorded no neighbours).</p>')]
    space = (ev.get("features") or {}).get("kind", "feature")
    note = (
        f'<p class="note">Distances in the evaluation\'s {esc(space)} feature space. "own NN" is the training '
        "point's distance to its nearest other training point: a sample much closer than that is a near-copy.</p>"
    )
    if kind == "image" and pictures:
        cells = []
        for k in pictures:
            c = copies[k]
            cells.append(
                '<div class="pair">'
                + img_tag(figs.png(f"closest-{k}"), "generated sample and its nearest training observation")
                + f"<div>generated #{c['sample_index']} \u00b7 train #{c['train_index']}<br>distance "
                f"{fmt(c['distance'], 3)} (own NN {fmt(c['train_nn_distance'], 3)})</div></div>"
            )
        out.append(
            Raw('<p class="note">Left: generated sample. Right: its nearest training observation.</p>')
        )
        out.append(Raw(f'<div class="pairs">{"".join(cells)}</div>' + note))
        return out
    rows = [
        [c["sample_index"], c["train_index"], c["distance"], c["train_nn_distance"], c["ratio"]]
        for c in copies
    ]
    out.append(Raw('<div class="row">' + figs.figure("closest", cls="plot", width=480)))
    out.append(
        table(["generated #", "train #", "distance", "own NN", "ratio to 2nd NN"], rows)
        + Raw("</div>" + note)
    )
    return out


def _closest_rows(figs: Any) -> list[str]:
    """A table run: each close sample as a row, its closest training row under it, with their Gower distance."""
    from genlab.fileio import read_json

    path = figs.dir / "closest.json"
    out = [h2(f"The {N_CLOSEST} samples closest to a training row", "closest")]
    if not path.is_file():
        return [*out, Raw('<p class="note">Not available (no evaluation of the table yet).</p>')]
    data = read_json(path)
    cols = list(data.get("columns") or [])
    rows = []
    for p in data.get("pairs") or []:
        dist = f"{fmt(p['distance'], 3)} (own NN {fmt(p['train_nn_distance'], 3)})"
        rows.append([f"generated #{p['sample_index']}", dist, *[_cell(p["sample"].get(c)) for c in cols]])
        rows.append([f"train #{p['train_index']}", "", *[_cell(p["train"].get(c)) for c in cols]])
    out.append(table(["row", "Gower distance", *cols], rows, cls="rows", numeric=False))
    out.append(
        Raw(
            '<p class="note">Each generated sample above its closest training row. Gower distance: numbers differ by '
            '|a - b| / range, categories by 0 or 1, averaged over columns (0: an exact copy). "own NN" is that '
            "training row's distance to its closest other training row.</p>"
        )
    )
    return out


def _cell(v: Any) -> str:
    return "NA" if v is None else fmt(v) if isinstance(v, float) else str(v)


def evaluation_sections(
    ev: dict[str, Any] | None, figs: Any, kind: str, *, run: Path | None = None
) -> list[str]:
    """HTML blocks for Rule 1, Rule 2 and the closest samples; a pointer to `genlab evaluate` without one."""
    if not ev:
        where = f" {esc(str(run))}" if run is not None else " RUN"
        msg = Raw(
            f'<p class="note">Not evaluated yet: run <code>genlab evaluate{where}</code>, then the report again.</p>'
        )
        return [
            h2(RULES["rule1"][0], "rule1"),
            msg,
            h2(RULES["rule2"][0], "rule2"),
            msg,
            h2("Closest samples", "closest"),
            msg,
        ]
    feats = ev.get("features") or {}
    quality = ", ".join(f"{k} {fmt(v)}" for k, v in (feats.get("quality") or {}).items())
    intro = Raw(
        f'<p class="note">n = {fmt(ev.get("n"))} generated samples, compared in the {esc(feats.get("kind", "?"))} '
        f"feature space ({fmt(feats.get('dim'))}-d{'; ' + esc(quality) if quality else ''}). The reference column "
        "is the same metric for a held-out real sample of the same size: what a perfect model scores here.</p>"
    )
    verdict = ev.get("verdict") or {}
    checks = verdict.get("checks") or {}
    out: list[str] = []
    for rule in ("rule1", "rule2"):
        title, question = RULES[rule]
        out += [h2(title, rule), Raw(f"<p><b>{esc(question)}</b></p>"), _verdict_words(rule, verdict)]
        out.append(Raw(_graded_words(ev, rule)))
        if rule == "rule1":
            out.append(intro)
        out.append(_rule_table(rule, ev.get(rule) or {}, checks))
    notes = [r[len("note: ") :] for r in verdict.get("reasons", []) if r.startswith("note:")]
    if notes:
        out.append(Raw('<p class="note">Notes: ' + "; ".join(esc(n) for n in notes) + ".</p>"))
    out += per_class_sections(ev, figs)  # a label-conditional model only
    out += _closest(ev, figs, kind)
    return out
