"""Verdicts: each metric's value against its reference, by the thresholds its `MetricSpec` declares.

Every metric is computed twice: for the generated samples (`value`) and, exactly the same way, for
a held-out real sample of the same size (`reference`). The reference shows what a perfect model
scores with this data, this feature space and this n. A metric passes unless its value is worse
than the reference, in its bad direction only, by more than a tolerance:

    tolerance = max(practical margin, Z * sigma),   Z = 4

where sigma is the standard error of (value - reference) when the samples do come from p_data, and the
practical margin keeps large n from failing differences too small to matter. A metric with a fixed
`limit` (C_T: -3) fails beyond that limit instead. Why 4 and not 3: the standard errors are textbook
ones (binomial, normal) that ignore the dependence between overlapping k-NN neighbourhoods; in
calibration runs (fresh samples of swissroll at n=200 and moons at n=600, 30-40 seeds each) the
standardised differences had standard deviations between 0.4 (KID) and 1.3 (recall, coverage), and
4 sigma keeps a fresh sample's chance of failing any one check near 0.1% (docs/metrics.md).

A NaN or missing metric is not judged (a note says so, unless its spec is `quiet`). A spec with
`judged=False` is a diagnostic: shown beside its reference, never failed.

Beside the strict verdict, each rule gets a graded answer (`verdict["graded"][rule]`): its score is the
worst judged metric's distance from its reference in units of that metric's tolerance,

    score = max over judged metrics of max(0, (value - reference) in the bad direction / tolerance)

so 0 is "as close to the data as held-out real data", 1 is the pass limit, 10 is ten tolerances off.
The answer: "pass" (score <= 1, the strict verdict's pass), "borderline" (1 < score <= 2), "fail"
(score > 2), "not judged" (no judged metric). Models compare by their scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from genlab.judge.specs import METRICS, MetricSpec

__all__ = ["BORDERLINE", "Z", "Check", "check", "grade", "judge"]

Z = 4.0
#: a score up to this many tolerances is "borderline" rather than "fail"
BORDERLINE = 2.0


@dataclass
class Check:
    metric: str
    bad: str  # "higher" or "lower": the direction that fails
    limit: float  # the pass boundary
    ok: bool | None  # None: not judged
    sigma: float = float("nan")  # standard error of value - reference used for the limit

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"bad": self.bad, "limit": self.limit, "ok": self.ok}
        if not math.isnan(self.sigma):
            d["sigma"] = self.sigma
        return d


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def check(spec: MetricSpec, entry: dict[str, Any], sigma: float | None) -> Check:
    """The pass boundary of one metric and whether its value is on the right side of it."""
    value, ref = entry.get("value"), entry.get("reference")
    if not spec.judged:  # a diagnostic
        return Check(spec.name, spec.bad, float("nan"), None)
    if spec.limit is not None:
        ok = (
            None
            if not _finite(value)
            else (value >= spec.limit if spec.bad == "lower" else value <= spec.limit)
        )
        return Check(spec.name, spec.bad, spec.limit, ok)
    if not _finite(ref) or sigma is None or not spec.judged:
        return Check(spec.name, spec.bad, float("nan"), None)
    margin = spec.margin * max(ref, 0.0) if spec.relative else spec.margin
    tol = max(margin, Z * (sigma if math.isfinite(sigma) else 0.0))
    limit = ref + tol if spec.bad == "higher" else ref - tol
    if not _finite(value):
        return Check(spec.name, spec.bad, limit, None, sigma)
    ok = value <= limit if spec.bad == "higher" else value >= limit
    return Check(spec.name, spec.bad, limit, bool(ok), sigma)


def judge(
    tables: dict[str, dict[str, Any]], sigmas: dict[str, float | None], specs: list[MetricSpec] = METRICS
) -> dict[str, Any]:
    """The verdict dict of evaluation.json: {"rule1", "rule2", "reasons", "checks"}.

    `tables` maps a rule to its metric entries ({"value", "reference", ...}); `sigmas` the metrics'
    standard errors (None: not judged).
    """
    reasons: list[str] = []
    checks: dict[str, dict[str, Any]] = {}
    failed = dict.fromkeys(tables, False)
    for s in specs:
        entry = tables.get(s.rule, {}).get(s.name)
        if not isinstance(entry, dict):
            continue
        c = check(s, entry, sigmas.get(s.name))
        checks[s.name] = c.to_dict()
        v = entry.get("value")
        if c.ok is False:
            failed[s.rule] = True
            op = ">" if c.bad == "higher" else "<"
            ref = entry.get("reference")
            ref_text = f" (reference {ref:.4g})" if _finite(ref) and s.limit is None else ""
            reasons.append(f"{s.rule}: {s.name} = {v:.4g} {op} {c.limit:.4g}{ref_text}: {s.why}")
        elif c.ok is None and not s.quiet and s.notes is None:
            reasons.append(f"note: {s.name} not judged (value {v}, reference {entry.get('reference')})")
        if s.notes is not None:
            reasons += [f"note: {n}" for n in s.load("notes")(entry)]
    return {
        **{rule: "fail" if bad else "pass" for rule, bad in failed.items()},
        "reasons": reasons,
        "checks": checks,
        "graded": {rule: grade(tables.get(rule, {}), checks) for rule in tables},
    }


def _score(entry: dict[str, Any], c: dict[str, Any]) -> float | None:
    """(value - reference) in the bad direction, in units of the tolerance (limit - reference)."""
    value, ref, limit = entry.get("value"), entry.get("reference"), c.get("limit")
    if c.get("ok") is None or not (_finite(value) and _finite(limit)):
        return None
    if not _finite(ref):  # a fixed limit without a reference: how far past the limit, in its own units
        ref = 0.0
    sign = 1.0 if c.get("bad") == "higher" else -1.0
    tol = max(abs(limit - ref), 1e-12 * max(1.0, abs(ref)))  # a zero tolerance: any excess fails
    return min(max(0.0, sign * (value - ref) / tol), 1e6)


def grade(entries: dict[str, Any], checks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A rule's graded answer from its metric entries and their checks: {"answer", "score", "worst"}."""
    scores = {}
    for name, entry in entries.items():
        c = checks.get(name)
        if isinstance(entry, dict) and isinstance(c, dict):
            sc = _score(entry, c)
            if sc is not None:
                scores[name] = sc
    if not scores:
        return {"answer": "not judged", "score": None, "worst": None}
    worst = max(scores, key=lambda k: scores[k])
    score = scores[worst]
    answer = "pass" if score <= 1.0 else "borderline" if score <= BORDERLINE else "fail"
    return {"answer": answer, "score": round(score, 4), "worst": worst}
