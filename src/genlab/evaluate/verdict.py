"""Verdicts: each metric's value against its reference, by documented thresholds.

Every metric is computed twice: for the generated samples (`value`) and, exactly the same way, for
a held-out real sample of the same size (`reference`). The reference shows what a perfect model
scores with this data, this feature space and this n. A metric passes unless its value is worse
than the reference by more than a tolerance:

    tolerance = max(practical margin, 4 * sigma)

where sigma is the standard error of (value - reference) when the samples do come from p_data,
and the practical margin keeps large n from failing differences too small to matter. Why 4 and
not 3: the standard errors below are textbook ones (binomial, normal) that ignore the dependence
between overlapping k-NN neighbourhoods. In calibration runs (fresh samples of swissroll at n=200
and moons at n=600, 30-40 seeds each) the standardised differences (value - reference) / sigma had
standard deviations between 0.4 (KID: its sigma is conservative) and 1.3 (recall, coverage);
4 sigma keeps a fresh sample's chance of failing any one check near 0.1%. Only the bad direction counts: copies
of training points score better than the reference on Rule 1, and Rule 2 catches them.

Rule 1 (fidelity), bad direction, practical margin, sigma:
    frechet_distance  higher  50% of the reference        sqrt(std_value^2 + std_reference^2), bootstrap
                                                          stds over 8 resamples of each sample (skipped
                                                          above 512-d, where the margin dominates)
    kid               higher  0                           sqrt(std_value^2 + std_reference^2), stds
                                                          over subsets of half the sample size
    precision         lower   0.05                        binomial: sqrt(p(1-p)(1/n + 1/n)), p pooled
    recall            lower   0.05                        binomial
    density           lower   0.10                        per-sample std / sqrt(n), both sides
    coverage          lower   0.05                        binomial
    c2st_accuracy     higher  0.05                        balanced accuracy of n + n points: sqrt(0.25/n)
    nll_per_dim       higher  0.10 nats per dimension     std of the per-sample log-density difference
                      (judged only when the data's true density is known: value - reference is
                      then KL(p_data || model) per dimension; with the model's own training NLL
                      as reference it is shown for the generalisation gap and not judged)

Rule 2 (novelty):
    ct                    fails below -3, a fixed limit (the issue's; Meehan, Chaudhuri & Dasgupta
                          2020 read C_T << 0 as copying): each in-cell Z is N(0, 1) for fresh
                          samples and C_T is their weighted mean, so -3 is at least 3 standard
                          errors. Above +3 (under-fitting) is noted, and is
                          not a Rule 2 failure. A reference below -3 is noted too: the test split then
                          holds near-duplicates of training points.
    memorization_rate     higher, margin 0.01 (one percentage point), binomial sigma
    authenticity          lower, margin 0.05, binomial sigma
    closer_to_train_share higher, margin 0.05, binomial sigma

A NaN or missing metric is not judged (its reason says so). See docs/metrics.md for each metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CT_LIMIT", "MARGINS", "Z", "Check", "judge", "share_sigma"]

Z = 4.0
CT_LIMIT = -3.0
#: metric -> (bad direction, practical margin); frechet_distance's margin is relative to the reference.
MARGINS: dict[str, tuple[str, float]] = {
    "frechet_distance": ("higher", 0.5),
    "kid": ("higher", 0.0),
    "precision": ("lower", 0.05),
    "recall": ("lower", 0.05),
    "density": ("lower", 0.10),
    "coverage": ("lower", 0.05),
    "c2st_accuracy": ("higher", 0.05),
    "nll_per_dim": ("higher", 0.10),
    "memorization_rate": ("higher", 0.01),
    "authenticity": ("lower", 0.05),
    "closer_to_train_share": ("higher", 0.05),
}

_RULE1_WHY = {
    "frechet_distance": "the samples' feature mean and covariance differ from the data's",
    "kid": "the kernel distance to the data is larger than sampling noise explains",
    "precision": "too many samples fall outside the data's manifold",
    "recall": "too much of the data's manifold is not reached by the samples",
    "density": "samples sit in sparser regions of the data than real points do",
    "coverage": "too few real neighbourhoods hold a sample (missing modes)",
    "c2st_accuracy": "a classifier tells samples from real data",
    "nll_per_dim": "the model's density is far from the true density (KL per dimension)",
}
_RULE2_WHY = {
    "memorization_rate": "more samples are near-copies of one training point than real held-out data are",
    "authenticity": "more samples sit inside a training point's own neighbourhood than real held-out data do",
    "closer_to_train_share": "samples lie closer to the training set than to held-out data",
}


def share_sigma(value: float, n_value: int, reference: float, n_reference: int) -> float:
    """Standard error of the difference of two shares under H0 (pooled binomial)."""
    p = (value * n_value + reference * n_reference) / max(n_value + n_reference, 1)
    return math.sqrt(max(p * (1 - p), 0.0) * (1 / max(n_value, 1) + 1 / max(n_reference, 1)))


@dataclass
class Check:
    metric: str
    bad: str  # "higher" or "lower": the direction that fails
    limit: float  # the pass boundary
    ok: bool | None  # None: not judged
    sigma: float = float("nan")  # standard error of value - reference used for the limit

    def to_dict(self) -> dict[str, Any]:
        return {"bad": self.bad, "limit": self.limit, "sigma": self.sigma, "ok": self.ok}


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _check(metric: str, entry: dict[str, Any], sigma: float | None) -> Check:
    bad, margin = MARGINS[metric]
    value, ref = entry.get("value"), entry.get("reference")
    if not _finite(ref) or sigma is None:
        return Check(metric, bad, float("nan"), None)
    if metric == "frechet_distance":
        margin = margin * max(ref, 0.0)
    tol = max(margin, Z * (sigma if math.isfinite(sigma) else 0.0))
    limit = ref + tol if bad == "higher" else ref - tol
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Check(metric, bad, limit, None, sigma)
    ok = value <= limit if bad == "higher" else value >= limit
    return Check(metric, bad, limit, bool(ok), sigma)


def judge(rule1: dict[str, Any], rule2: dict[str, Any], sigmas: dict[str, float | None]) -> dict[str, Any]:
    """The verdict dict of evaluation.json: {"rule1", "rule2", "reasons", "checks"}."""
    reasons: list[str] = []
    checks: dict[str, dict[str, Any]] = {}
    failed = {"rule1": False, "rule2": False}

    for rule, table, why in (("rule1", rule1, _RULE1_WHY), ("rule2", rule2, _RULE2_WHY)):
        for metric in why:
            if metric not in table:
                continue
            c = _check(metric, table[metric], sigmas.get(metric))
            checks[metric] = c.to_dict()
            v = table[metric].get("value")
            if c.ok is False:
                failed[rule] = True
                op = ">" if c.bad == "higher" else "<"
                reasons.append(
                    f"{rule}: {metric} = {v:.4g} {op} {c.limit:.4g} (reference {table[metric]['reference']:.4g}): {why[metric]}"
                )
            elif c.ok is None and metric != "nll_per_dim":
                reasons.append(
                    f"note: {metric} not judged (value {v}, reference {table[metric].get('reference')})"
                )

    if "ct" in rule2:
        ct, ref = rule2["ct"].get("value"), rule2["ct"].get("reference")
        ok = None if not _finite(ct) else ct >= CT_LIMIT
        checks["ct"] = {"bad": "lower", "limit": CT_LIMIT, "ok": ok}
        if ok is False:
            failed["rule2"] = True
            reasons.append(
                f"rule2: ct = {ct:.3g} < {CT_LIMIT:g}: samples lie closer to their nearest training points "
                f"than held-out data do (data copying)"
            )
        elif ok is None:
            reasons.append(
                "note: ct not judged: no k-means cell holds more than 20 generated samples (n too small)"
            )
        elif ct > -CT_LIMIT:
            reasons.append(
                f"note: ct = {ct:.3g} > {-CT_LIMIT:g}: samples lie farther from the training data than held-out "
                f"data do (under-fitting; not copying)"
            )
        if _finite(ref) and ref < CT_LIMIT:
            reasons.append(
                f"note: the reference ct = {ref:.3g} is itself below {CT_LIMIT:g}: the test split holds "
                f"near-duplicates of training points, so copying is hard to tell apart"
            )

    return {
        "rule1": "fail" if failed["rule1"] else "pass",
        "rule2": "fail" if failed["rule2"] else "pass",
        "reasons": reasons,
        "checks": checks,
    }
