"""The metric registry: one `MetricSpec` per metric, the single place for its facts.

The evaluation computes the metrics in this order (each spec's `measure` is a function of the shared
`EvalContext`, in `measures.py`); the verdict, the console tables, the HTML report and the compare
page all read their names, directions, margins, explanations and formats from here.

A new metric is one function in `measures.py` and one entry below. Pure Python: importing this module
imports nothing heavy, so views (report, compare) can read the specs without torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["METRICS", "RULES", "MetricSpec", "compare_specs", "spec", "specs_for"]

#: rule -> (title, question)
RULES: dict[str, tuple[str, str]] = {
    "rule1": ("Rule 1: fidelity", "Do the samples look drawn from the data?"),
    "rule2": ("Rule 2: novelty", "Are the samples more than copies of training observations?"),
}


@dataclass(frozen=True)
class MetricSpec:
    """Everything genlab knows about one metric.

    bad: the direction that fails ("higher" or "lower"). A value fails when it is worse than its
    reference, in that direction, by more than max(margin (times the reference if `relative`),
    Z * sigma); or, with a fixed `limit`, when it is beyond the limit. `judged=False`: shown, never
    failed. `quiet`: being unjudgeable is not worth a note (NLL without a true density).
    better/compare: how the compare page ranks runs ("lower", "higher", "near:<ideal>") and whether the
    metric is one of its columns.
    """

    name: str
    rule: str
    label: str
    short: str
    measure: str  # "module:function", called with the EvalContext
    bad: str
    help: str
    good: str
    why: str = ""
    margin: float = 0.0
    relative: bool = False
    limit: float | None = None
    judged: bool = True
    quiet: bool = False
    notes: str | None = None  # "module:function"(entry) -> list of notes, for remarks beyond pass/fail
    better: str = "lower"
    compare: bool = False
    digits: int = 4

    def load(self, attr: str = "measure") -> Callable[..., Any]:
        module, fn = getattr(self, attr).split(":")
        return getattr(importlib.import_module(module), fn)


_M = "genlab.judge.measures"
_T = "genlab.judge.tables"
_P = "genlab.judge.perclass"

METRICS: list[MetricSpec] = [
    # ------------------------------------------------------------------ Rule 1: fidelity
    MetricSpec(
        "frechet_distance", "rule1", "Fr\u00e9chet distance", "FD", f"{_M}:frechet_distance", "higher",
        help="distance between Gaussians fitted to the features; lower is better",
        good="lower",
        why="the samples' feature mean and covariance differ from the data's",
        margin=0.5, relative=True, compare=True,
    ),
    MetricSpec(
        "kid", "rule1", "kernel distance (KID)", "KID", f"{_M}:kid", "higher",
        help="unbiased MMD\u00b2 with a cubic kernel; lower is better, ~0 ideal",
        good="lower, ~0",
        why="the kernel distance to the data is larger than sampling noise explains",
    ),
    MetricSpec(
        "precision", "rule1", "precision", "precision", f"{_M}:precision", "lower",
        help="share of samples inside the data's manifold; higher is better",
        good="higher",
        why="too many samples fall outside the data's manifold",
        margin=0.05, better="higher", compare=True,
    ),
    MetricSpec(
        "recall", "rule1", "recall", "recall", f"{_M}:recall", "lower",
        help="share of the data's manifold the samples reach; higher is better",
        good="higher",
        why="too much of the data's manifold is not reached by the samples",
        margin=0.05, better="higher", compare=True,
    ),
    MetricSpec(
        "density", "rule1", "density", "density", f"{_M}:density", "lower",
        help="how crowded real neighbourhoods are with samples; ~1 like real data",
        good="higher, ~1",
        why="samples sit in sparser regions of the data than real points do",
        margin=0.10, better="near:1",
    ),
    MetricSpec(
        "coverage", "rule1", "coverage", "coverage", f"{_M}:coverage", "lower",
        help="share of real neighbourhoods holding a sample; higher is better",
        good="higher",
        why="too few real neighbourhoods hold a sample (missing modes)",
        margin=0.05, better="higher", compare=True,
    ),
    MetricSpec(
        "c2st_accuracy", "rule1", "classifier two-sample test", "C2ST acc", f"{_M}:c2st_accuracy", "higher",
        help="accuracy telling samples from real data; 0.5 ideal",
        good="0.5",
        why="a classifier tells samples from real data",
        margin=0.05, better="near:0.5", compare=True,
    ),
    MetricSpec(  # conditional models only (None otherwise): judge/perclass.py
        "label_accuracy", "rule1", "label accuracy", "label acc", f"{_P}:label_accuracy", "lower",
        help="share of samples a classifier trained on real data assigns to the class asked for; as the reference",
        good="higher, as the reference",
        why="fewer samples are recognised as the class asked for than held-out real observations are",
        margin=0.05, better="higher", compare=True,
    ),
    MetricSpec(
        "nll_per_dim", "rule1", "NLL per dimension", "NLL/dim", f"{_M}:nll_per_dim", "higher",
        help="negative log-likelihood of held-out data, nats; lower is better",
        good="lower",
        why="the model's density is far from the true density (KL per dimension)",
        margin=0.10, quiet=True, compare=True,
    ),
    # ------------------------------------------------------------------ Rule 2: novelty
    # The verdict rests on the two copy shares (judged with an effective sample size: identical samples
    # count once); C_T and the other shares are diagnostics, shown and never failed (docs/metrics.md).
    MetricSpec(
        "copy_share", "rule2", "copy share", "copies", f"{_M}:copy_share", "higher",
        help="share of samples closer to a training point (relative to its own nearest neighbour) than "
        "95% of held-out rows are; ~0.05 like real data",
        good="as the reference (~0.05)",
        why="more samples are copies of training points than held-out real rows are",
        margin=0.01, notes=f"{_M}:copy_notes", compare=True,
    ),
    MetricSpec(
        "near_copy_share", "rule2", "near-copy share", "near copies", f"{_M}:near_copy_share", "higher",
        help="the same at the looser held-out quantile 0.25; ~0.25 like real data",
        good="as the reference (~0.25)",
        why="more samples are near-copies of training points than held-out real rows are",
        margin=0.02, quiet=True,
    ),
    MetricSpec(
        "ct", "rule2", "data-copying C_T", "C_T", f"{_M}:ct", "lower",
        help="diagnostic: below \u22123 samples hug training points (copying, or collapse); above +3 far off",
        good="~0; > +3 under-fits",
        why="samples lie closer to their nearest training points than held-out data do (data copying)",
        limit=-3.0, judged=False, quiet=True, notes=f"{_M}:ct_notes", better="near:0", compare=True,
    ),
    MetricSpec(
        "memorization_rate", "rule2", "memorisation rate", "memorised", f"{_M}:memorization_rate", "higher",
        help="diagnostic: share of samples whose nearest training point is 3x nearer than the second",
        good="lower",
        why="more samples are near-copies of one training point than real held-out data are",
        margin=0.01, judged=False, quiet=True, compare=True,
    ),
    MetricSpec(
        "authenticity", "rule2", "authenticity", "authentic", f"{_M}:authenticity", "lower",
        help="diagnostic: share of samples outside any training point's own neighbourhood",
        good="higher",
        why="more samples sit inside a training point's own neighbourhood than real held-out data do",
        margin=0.05, judged=False, quiet=True, better="higher", compare=True,
    ),
    MetricSpec(
        "closer_to_train_share", "rule2", "closer-to-train share", "closer to train",
        f"{_M}:closer_to_train_share", "higher",
        help="diagnostic: share of samples nearer the training than held-out data; 0.5 ideal",
        good="0.5",
        why="samples lie closer to the training set than to held-out data",
        margin=0.05, judged=False, quiet=True, better="near:0.5",
    ),
    # ------------------------------------------------------------------ tables only (None otherwise)
    MetricSpec(
        "column_shapes", "rule1", "column shapes (KS / TV complement)", "col shapes", f"{_T}:column_shapes", "lower",
        help="mean over columns of 1 - KS statistic (numbers) or 1 - total variation (categories), as SDMetrics; 1 ideal",
        good="higher, ~1",
        why="some columns' distributions differ from the data's more than held-out rows do",
        margin=0.02, better="higher", compare=True,
    ),
    MetricSpec(
        "pair_trends", "rule1", "column pair trends", "pair trends", f"{_T}:pair_trends", "lower",
        help="mean over column pairs of correlation similarity (numbers) or contingency similarity, as SDMetrics; 1 ideal",
        good="higher, ~1",
        why="the relations between columns differ from the data's more than held-out rows do",
        margin=0.02, better="higher", compare=True,
    ),
    MetricSpec(
        "tstr", "rule1", "train on synthetic, test on real", "TSTR", f"{_T}:tstr", "lower",
        help="score on held-out rows of a model predicting the target column, trained on samples (reference: on real rows)",
        good="higher, as the reference",
        why="a model trained on the samples predicts the target worse than one trained on real rows",
        margin=0.05, better="higher", compare=True,
    ),
    MetricSpec(
        "dcr", "rule2", "distance to closest record (Gower)", "DCR", f"{_T}:dcr", "lower",
        help="median Gower distance of samples to their closest training row; as held-out rows, not lower",
        good="as the reference or higher",
        why="samples sit closer to training rows than held-out real rows do",
        margin=0.0, better="higher", compare=True,
    ),
    MetricSpec(
        "exact_copies", "rule2", "exact copies of training rows", "copies", f"{_T}:exact_copies", "higher",
        help="share of samples equal to a training row in every column",
        good="as the reference (~0)",
        why="more samples are exact copies of training rows than held-out real rows are",
        margin=0.01, compare=True,
    ),
]  # fmt: skip

_BY_NAME = {s.name: s for s in METRICS}


def spec(name: str) -> MetricSpec | None:
    """The spec of a metric by its name (None for an unknown one, e.g. from a newer genlab's file)."""
    return _BY_NAME.get(name)


def specs_for(rule: str) -> list[MetricSpec]:
    return [s for s in METRICS if s.rule == rule]


def compare_specs() -> list[MetricSpec]:
    return [s for s in METRICS if s.compare]
