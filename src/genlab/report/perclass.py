"""The per-class part of the HTML report, for a label-conditional model: one row per class (FD, precision,
recall, copies, label accuracy, each beside its held-out reference), the worst class highlighted, the
samples by class and the guidance sweep. Reads evaluation.json's "per_class" and "guidance" sections
(`genlab.judge.perclass`); an evaluation without them shows nothing here."""

from __future__ import annotations

from typing import Any

from genlab.report.page import Raw, badge, esc, fmt, h2, table

__all__ = ["has_per_class", "per_class_sections"]


def has_per_class(ev: dict[str, Any] | None) -> bool:
    return isinstance(ev, dict) and isinstance(ev.get("per_class"), dict)


def _pair(e: Any, pct: bool = False) -> str:
    """value (reference), or an en dash."""
    if not isinstance(e, dict):
        return "\u2013"
    f = (lambda v: "\u2013" if not isinstance(v, int | float) else f"{v:.1%}") if pct else fmt
    return f"{f(e.get('value'))} ({f(e.get('reference'))})"


def _cell(row: dict[str, Any], metric: str, pct: bool = False) -> str:
    text = esc(_pair(row.get(metric), pct))
    c = (row.get("checks") or {}).get(metric)
    if c and c.get("ok") is False:
        return f'<td class="num bad">{text} \u2717</td>'
    return f'<td class="num">{text}</td>'


def _class_table(pc: dict[str, Any]) -> Raw:
    worst = (pc.get("worst") or {}).get("class")
    head = [
        "class",
        "samples",
        "FD",
        "precision",
        "recall",
        "copies (copy share)",
        "label accuracy",
        "check",
    ]
    out = ['<table class="perclass"><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for r in pc.get("classes") or []:
        checks = r.get("checks") or {}
        if not checks:
            verdict = badge("not judged", "na")
        else:
            verdict = badge("fails", "bad") if r.get("failed") else badge("ok", "good")
        name = esc(str(r.get("name")))
        if r.get("class") == worst:
            name += " " + badge("worst", "warn")
        memo = r.get("copy_share") or r.get("memorization_rate")  # memorisation: records before copy shares
        copies = (
            f"{fmt(r.get('copies'))}: {esc(_pair(memo, pct=True))}" if isinstance(memo, dict) else "\u2013"
        )
        memo_bad = any((checks.get(k) or {}).get("ok") is False for k in ("copy_share", "memorization_rate"))
        cells = [
            f"<td>{name}</td>",
            f'<td class="num">{fmt(r.get("n"))}</td>',
            _cell(r, "frechet_distance"),
            _cell(r, "precision"),
            _cell(r, "recall"),
            f'<td class="num bad">{copies} \u2717</td>' if memo_bad else f'<td class="num">{copies}</td>',
            f'<td class="num">{esc(_pair(r.get("label_accuracy"), pct=True))}</td>',
            f"<td>{verdict}</td>",
        ]
        cls = ' class="worst"' if r.get("class") == worst else ""
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return Raw("".join(out))


def _guidance(g: dict[str, Any], figs: Any) -> list[str]:
    out = [Raw("<h3>Guidance sweep</h3>")]
    if "guidance" in figs:
        out.append(figs.figure("guidance", cls="plot"))
    ref = g.get("reference") or {}
    keys = [k for k in ("label_accuracy", "precision", "recall") if k in g]
    rows = [[fmt(s), *[fmt(g[k][i]) for k in keys]] for i, s in enumerate(g.get("scales") or [])]
    rows.append(["held-out real", *[fmt(ref.get(k)) for k in keys]])
    out.append(table(["guidance scale", *[k.replace("_", " ") for k in keys]], rows))
    out.append(
        Raw(
            f'<p class="note">{fmt(g.get("n"))} samples per scale, the same classes and seed at every scale. '
            "Guidance trades diversity for fidelity to the label: label accuracy (and precision) rise with "
            "the scale while recall falls; the scale where label accuracy meets its reference without recall "
            "dropping far below its own is the one to sample with.</p>"
        )
    )
    return out


def per_class_sections(ev: dict[str, Any] | None, figs: Any) -> list[str]:
    """HTML blocks: the per-class table, the samples by class and the guidance sweep ([] without them)."""
    if not has_per_class(ev):
        return []
    pc = ev["per_class"]  # type: ignore[index]
    out: list[str] = [h2("Per class", "per_class")]
    la = (ev.get("rule1") or {}).get("label_accuracy")  # type: ignore[union-attr]
    check = ((ev.get("verdict") or {}).get("checks") or {}).get("label_accuracy") or {}  # type: ignore[union-attr]
    if isinstance(la, dict):
        mark = {True: badge("ok", "good"), False: badge("fails", "bad")}.get(
            check.get("ok"), badge("not judged", "na")
        )
        out.append(
            Raw(
                f"<p>{mark} Label accuracy: <b>{la['value']:.1%}</b> of the samples are classified as the class "
                f"they were asked for; the same classifier gets {la['reference']:.1%} of held-out real "
                "observations right (the reference).</p>"
            )
        )
    worst = pc.get("worst")
    verdict = pc.get("verdict") or {}
    failing = [r["name"] for r in pc.get("classes") or [] if r.get("failed")]
    text = (
        f"{len(failing)} class(es) fail a check: {', '.join(map(str, failing))}."
        if failing
        else "Every judged class is within its tolerances of its held-out reference."
    )
    if worst:
        text += f" Worst class: {worst['name']} ({worst['why']})."
    badges = " ".join(
        f"{rule.replace('rule', 'Rule ')}: " + str(badge(str(v).upper(), "good" if v == "pass" else "bad"))
        for rule, v in verdict.items()
    )
    out.append(Raw(f"<p>{badges} {esc(text)}</p>"))
    out.append(_class_table(pc))
    out.append(
        Raw(
            '<p class="note">Each cell: the samples asked for that class (model), in brackets the held-out real '
            "observations of the class (reference), both against the same real training observations of the "
            "class. Copies: samples nearer a training point (relative to its own nearest neighbour) than all but "
            f"5% of held-out observations are; the copy share beside the same share of held-out rows. Classes with fewer than {fmt(pc.get('min_class'))} samples are shown, "
            "not judged; per-class label accuracy is shown, not judged (the overall one is). See docs/metrics.md, "
            '"Judging a conditional model".</p>'
        )
    )
    if "by-class" in figs:
        out.append(figs.figure("by-class", width=400))
    if isinstance(ev.get("guidance"), dict):  # type: ignore[union-attr]
        out += _guidance(ev["guidance"], figs)  # type: ignore[index]
    return out
