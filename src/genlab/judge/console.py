"""`print_evaluation`: the Rule 1 and Rule 2 tables of an evaluation on a rich Console, from the specs."""

from __future__ import annotations

import math
from typing import Any

from genlab.judge.specs import RULES, spec

__all__ = ["graded", "graded_text", "print_evaluation"]


def graded(ev: dict[str, Any], rule: str) -> dict[str, Any]:
    """The rule's graded answer: from the record, or (a record written before graded answers) from its checks."""
    verdict = ev.get("verdict") or {}
    g = (verdict.get("graded") or {}).get(rule)
    if isinstance(g, dict):
        return g
    from genlab.judge.verdict import grade

    return grade(ev.get(rule) or {}, verdict.get("checks") or {})


def graded_text(g: dict[str, Any]) -> str:
    """'fail, score 14.5 (frechet_distance)': the answer, the worst metric's distance from its reference in
    tolerances (1 = the pass limit) and which metric that is."""
    score = g.get("score")
    if g.get("answer") == "not judged" or score is None:
        return "not judged"
    return f"{g.get('answer')}, score {score:.3g} ({g.get('worst')})"


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _table(title: str, entries: dict[str, Any], checks: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("metric", "left"),
        ("value", "right"),
        ("reference", "right"),
        ("what good looks like", "left"),
    ):
        table.add_column(col, justify=justify)
    for metric, e in entries.items():
        s = spec(metric)
        if s is None or not isinstance(e, dict):
            continue
        good, value = s.good, _fmt(e.get("value"))
        c = checks.get(metric) or {}
        if not s.judged:
            good += "; diagnostic, not judged"
        if "n_eff" in e:
            good += f"; n_eff {e['n_eff']}"
        if c.get("ok") is not None:
            good += f"; pass {'<=' if c['bad'] == 'higher' else '>='} {c['limit']:.4g}"
            value += " \u2713" if c["ok"] else " \u2717"
        if "std" in e:
            good += f"; std {_fmt(e.get('std'))} (ref {_fmt(e.get('reference_std'))})"
        if "kind" in e and "unit" in e:
            value += f" ({e.get('kind')})"
            if "bits_per_dim" in e:
                good += f"; nats ({_fmt(e['bits_per_dim'])} bits/dim)"
            good += "; ref: " + ("true entropy" if c.get("ok") is not None else "train NLL, not judged")
        table.add_row(metric, value, _fmt(e.get("reference")), good)
    return table


def print_evaluation(evaluation: Any, console: Any) -> None:
    """Print the Rule 1 and Rule 2 tables, each followed by its verdict line, on a rich Console.

    `evaluation` is an `Evaluation` or its `to_dict()`.
    """
    ev = evaluation if isinstance(evaluation, dict) else evaluation.to_dict()
    f = ev.get("features") or {}
    quality = ", ".join(f"{k} {v}" for k, v in (f.get("quality") or {}).items())
    console.print(
        f"n = {ev.get('n')} samples; features: {f.get('kind')} ({f.get('dim')}-d{'; ' + quality if quality else ''}); "
        f"reference = a held-out real sample of the same size"
    )
    c = ev.get("n_choice")
    if c:
        console.print(
            f"  n cut from {c['default']} to {c['n']}: the sampler draws {c['samples_per_s']:g} samples/s, and the "
            f"evaluation keeps sampling to about {c['budget_s']:g} s (--n fixes n)",
            highlight=False,
        )
    verdict = ev.get("verdict") or {}
    checks = verdict.get("checks", {})
    reasons = verdict.get("reasons", [])
    for rule, (title, question) in RULES.items():
        console.print(_table(f"{title} ({question})", ev.get(rule) or {}, checks))
        v = verdict.get(rule, "?")
        g = graded(ev, rule)
        style = {"pass": "green", "borderline": "yellow"}.get(
            str(g.get("answer")), "green" if v == "pass" else "red"
        )
        console.print(
            f"[bold {style}]{title.split(':')[0]}: {str(v).upper()}[/] (graded: {graded_text(g)}; "
            "score = worst metric's distance from its reference in tolerances, 1 = the pass limit)",
            highlight=False,
        )
        for r in reasons:
            if r.startswith(f"{rule}:"):
                console.print(f"  - {r[len(rule) + 2 :]}", markup=False, highlight=False)
        if rule == "rule2":
            for r in reasons:
                if r.startswith("note:"):
                    console.print(f"  {r}", markup=False, highlight=False)
            copies = (ev.get("rule2") or {}).get("copies") or []
            if copies:
                c = copies[0]
                console.print(
                    f"  nearest sample to a training point: sample {c['sample_index']} -> train {c['train_index']} "
                    f"at distance {c['distance']:.4g} (that training point's own nearest neighbour: "
                    f"{c['train_nn_distance']:.4g})",
                    highlight=False,
                )
    from genlab.judge.perclass import per_class_lines  # a conditional model: label accuracy, worst class

    for line in per_class_lines(ev):
        console.print(line, markup=False, highlight=False)
