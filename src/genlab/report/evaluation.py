"""The evaluation part of the HTML report: the Rule 1 and Rule 2 tables with their held-out references,
the verdicts in words, and the generated samples closest to the training set beside their nearest
training observations. Reads evaluation.json as `genlab.evaluate.Evaluation.to_dict()` writes it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from genlab.report.html import Raw, badge, esc, figure, fmt, h2, img_tag, table

__all__ = ["N_CLOSEST", "closest_pairs", "evaluation_sections"]

N_CLOSEST = 8

#: metric -> (name for people, what it measures and which way is good)
METRICS: dict[str, tuple[str, str]] = {
    "frechet_distance": (
        "Fr\u00e9chet distance",
        "distance between Gaussians fitted to the features; lower is better",
    ),
    "kid": ("kernel distance (KID)", "unbiased MMD\u00b2 with a cubic kernel; lower is better, ~0 ideal"),
    "precision": ("precision", "share of samples inside the data's manifold; higher is better"),
    "recall": ("recall", "share of the data's manifold the samples reach; higher is better"),
    "density": ("density", "how crowded real neighbourhoods are with samples; ~1 like real data"),
    "coverage": ("coverage", "share of real neighbourhoods holding a sample; higher is better"),
    "c2st_accuracy": ("classifier two-sample test", "accuracy telling samples from real data; 0.5 ideal"),
    "nll_per_dim": ("NLL per dimension", "negative log-likelihood of held-out data, nats; lower is better"),
    "ct": ("data-copying C_T", "below \u22123: samples hug training points; above +3: under-fitting"),
    "memorization_rate": ("memorisation rate", "share of samples that are near-copies of one training point"),
    "authenticity": ("authenticity", "share of samples outside any training point's own neighbourhood"),
    "closer_to_train_share": (
        "closer-to-train share",
        "share of samples nearer the training than held-out data; 0.5 ideal",
    ),
}

RULES = {
    "rule1": ("Rule 1: fidelity", "Do the samples look drawn from the data?"),
    "rule2": ("Rule 2: novelty", "Are the samples more than copies of training observations?"),
}


def _check_cell(check: dict[str, Any] | None) -> Raw:
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
        if metric == "copies" or not isinstance(e, dict):
            continue
        name, what = METRICS.get(metric, (metric, ""))
        value = e.get("value")
        value_text = fmt(value)
        if metric == "kid" and e.get("std") is not None:
            value_text += f" \u00b1 {fmt(e['std'], 2)}"
        if metric == "nll_per_dim" and "bits_per_dim" in e:
            value_text += f" ({fmt(e['bits_per_dim'])} bits)"
        if metric == "nll_per_dim" and e.get("reference_kind"):
            what += f". Reference: {e['reference_kind']}"
        rows.append(
            [
                name,
                value_text,
                fmt(e.get("reference")),
                _limit_text(checks.get(metric)),
                _check_cell(checks.get(metric)),
                what,
            ]
        )
    return table(
        ["metric", "model", "reference (held-out real)", "pass if", "check", "what it measures"],
        rows,
        cls="rules",
        numeric=False,
    )


def _verdict_words(rule: str, verdict: dict[str, Any]) -> Raw:
    v = verdict.get(rule)
    reasons = [r[len(rule) + 2 :] for r in verdict.get("reasons", []) if r.startswith(f"{rule}:")]
    if v == "pass":
        text = (
            "Every judged metric is within its tolerance of the held-out reference: the samples are as close to "
            "the data as fresh real observations are, up to sampling noise."
            if rule == "rule1"
            else "The samples are no closer to the training observations than held-out real data are: no sign of "
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


def closest_pairs(
    ev: dict[str, Any], model: Any, ds: Any, k: int = N_CLOSEST
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """The k generated samples nearest the training set and their nearest training observations:
    (generated (k, *shape), training (k, *shape), the evaluation's records of them).

    The samples are drawn again exactly as the evaluation drew them (its n and seed; sampling is
    deterministic given the seed), so the indices in evaluation.json pick the same observations."""
    copies = ((ev.get("rule2") or {}).get("copies") or [])[:k]
    if not copies:
        empty = np.zeros((0, *ds.shape), np.float32)
        return empty, empty, []
    gen = model.sample(int(ev["n"]), seed=int(ev.get("seed", 0)))
    g = np.stack([gen[c["sample_index"]] for c in copies])
    t = np.stack([ds.train[c["train_index"]] for c in copies])
    return g, t, copies


def _closest(ev: dict[str, Any], model: Any, ds: Any) -> list[str]:
    """The section: each close sample beside its nearest training observation (images), or joined to it
    in a scatter with a table of distances (vectors)."""
    from genlab.report.images import image_grid_png

    out = [h2(f"The {N_CLOSEST} samples closest to the training set", "closest")]
    gen, train, copies = closest_pairs(ev, model, ds)
    if not copies:
        return [*out, Raw('<p class="note">Not available (no evaluation, or it recorded no neighbours).</p>')]
    space = (ev.get("features") or {}).get("kind", "feature")
    note = (
        f'<p class="note">Distances in the evaluation\'s {esc(space)} feature space. "own NN" is the training '
        "point's distance to its nearest other training point: a sample much closer than that is a near-copy.</p>"
    )
    if ds.kind == "image":
        cells = []
        for k, c in enumerate(copies):
            g, t = gen[k : k + 1], train[k : k + 1]
            cells.append(
                '<div class="pair">'
                + img_tag(image_grid_png(g, scale=max(1, 96 // g.shape[-1])), "generated")
                + img_tag(image_grid_png(t, scale=max(1, 96 // t.shape[-1])), "nearest training observation")
                + f"<div>generated #{c['sample_index']} \u00b7 train #{c['train_index']}<br>distance "
                f"{fmt(c['distance'], 3)} (own NN {fmt(c['train_nn_distance'], 3)})</div></div>"
            )
        out.append(
            Raw('<p class="note">Left: generated sample. Right: its nearest training observation.</p>')
        )
        out.append(Raw(f'<div class="pairs">{"".join(cells)}</div>' + note))
        return out
    from genlab.report.plots import new_figure, png_bytes

    fig, ax = new_figure(5.5, 5.0)
    tr = ds.train.reshape(len(ds.train), -1)
    ax.scatter(
        tr[:4000, 0],
        tr[:4000, 1] if tr.shape[1] > 1 else np.zeros(min(len(tr), 4000)),
        s=2,
        c="0.8",
        label="training data",
    )
    for k in range(len(copies)):
        g, t = gen[k].reshape(-1), train[k].reshape(-1)
        gy, ty = (g[1], t[1]) if len(g) > 1 else (0.0, 0.0)
        ax.plot([g[0], t[0]], [gy, ty], "-", c="0.3", lw=0.8)
        ax.scatter([g[0]], [gy], c="tab:red", s=16, label="generated" if k == 0 else None, zorder=3)
        ax.scatter(
            [t[0]],
            [ty],
            c="tab:blue",
            s=16,
            marker="s",
            label="nearest training point" if k == 0 else None,
            zorder=3,
        )
    ax.legend(fontsize=8)
    ax.set_title("closest samples and their nearest training points (first two coordinates)", fontsize=9)
    rows = [
        [c["sample_index"], c["train_index"], c["distance"], c["train_nn_distance"], c["ratio"]]
        for c in copies
    ]
    out.append(
        Raw('<div class="row">' + figure(png_bytes(fig), "pairs joined by a line", cls="plot", width=480))
    )
    out.append(
        table(["generated #", "train #", "distance", "own NN", "ratio to 2nd NN"], rows)
        + Raw("</div>" + note)
    )
    return out


def evaluation_sections(
    ev: dict[str, Any] | None, model: Any, ds: Any, *, run: Path | None = None
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
        if rule == "rule1":
            out.append(intro)
        out.append(_rule_table(rule, ev.get(rule) or {}, checks))
    notes = [r[len("note: ") :] for r in verdict.get("reasons", []) if r.startswith("note:")]
    if notes:
        out.append(Raw('<p class="note">Notes: ' + "; ".join(esc(n) for n in notes) + ".</p>"))
    out += _closest(ev, model, ds)
    return out
