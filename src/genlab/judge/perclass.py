"""Judging a label-conditional model: label accuracy, Rule 1 and Rule 2 per class, and the guidance sweep.

A model is label-conditional when `model.conditional_ == "labels"`; it then has `class_names_`,
`n_classes_` and `sample(n, *, seed=None, labels=None)`. The evaluation asks for the classes itself:
`draw_labels` gives each class its share of the training split (largest-remainder counts, then a
seeded shuffle), so the samples are drawn as `model.sample(n, seed=seed, labels=draw_labels(...))`
and the class asked for each sample is known without the model reporting it.

    label accuracy   the classification accuracy score of Ravuri & Vinyals (2019), the cheap way: a
                     classifier trained on the real training split's features and labels (multinomial
                     logistic regression on the evaluation's own features: with the "auto" image
                     network, that is its classifier's embedding) labels every sample; the share that
                     gets the class asked for, beside the same classifier's accuracy on the held-out
                     reference sample T. Judged like every Rule 1 metric (a `MetricSpec` in specs.py):
                     fails below reference - max(0.05, Z * sigma).
    per class        for each class c: the samples asked for c (G_c) against m real training points of
                     c (S_c), and as reference held-out points of c (T_c) against the same S_c, with m
                     = min(|G_c|, |T_c|): the unconditional design of evaluation.py restricted to one
                     class. Frechet distance, precision and recall (Rule 1) and the memorisation rate
                     (Rule 2, from the same nearest training points as the unconditional metric) are
                     judged by their specs' margins; a class with fewer than MIN_CLASS points is shown,
                     not judged. The worst class is the one with the most failed checks (ties: the
                     largest FD relative to its reference).
    guidance sweep   for a model whose `sample` takes `guidance` (diffusion's classifier-free guidance):
                     label accuracy, precision and recall of a small sample at each scale, the same
                     labels and seed at every scale, beside their held-out references.

docs/metrics.md ("Judging a conditional model") explains the thresholds.
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError
from genlab.judge import metrics as M
from genlab.judge.measures import MIN_N_EFF, Q_COPY, Measure, distinct_count, fd_null_sigma, share_sigma
from genlab.judge.specs import spec
from genlab.judge.verdict import check

__all__ = [
    "CLASSIFIER_MAX_TRAIN",
    "GUIDANCE_N",
    "GUIDANCE_SCALES",
    "MIN_CLASS",
    "PER_CLASS_METRICS",
    "accepts_guidance",
    "asked_labels",
    "class_map",
    "draw_labels",
    "guidance_sweep",
    "is_label_conditional",
    "label_accuracy",
    "merge_verdict",
    "per_class_lines",
    "per_class_section",
    "sample_kwargs",
]

MIN_CLASS = 10  # per-class sets smaller than this are shown, not judged (k-NN balls of 3, a covariance)
CLASSIFIER_MAX_TRAIN = 20_000  # training rows the label classifier is fitted on (a seeded subset beyond)
GUIDANCE_SCALES = (0.0, 1.0, 2.0, 4.0)
GUIDANCE_N = 200  # samples per guidance scale: the sweep shows a trend, the evaluation judges
#: the per-class checks, by the names of their specs
PER_CLASS_METRICS = ("frechet_distance", "precision", "recall", "copy_share")


# ============================================================================ the classes asked for
def is_label_conditional(model: Any) -> bool:
    return getattr(model, "conditional_", False) == "labels"


def accepts_guidance(model: Any) -> bool:
    """Whether `model.sample` takes a `guidance` scale (classifier-free guidance)."""
    try:
        return "guidance" in inspect.signature(model.sample).parameters
    except (TypeError, ValueError, AttributeError):
        return False


def class_map(model: Any, dataset: Any) -> np.ndarray:
    """The data set's label value for each of the model's classes, shape (K,).

    By name when both know their class names, else the sorted distinct training labels in order.
    """
    y = getattr(dataset, "train_labels", None)
    if y is None:
        raise DataError("evaluate: the model is conditional on labels but the data set has none")
    k = int(getattr(model, "n_classes_", 0) or len(getattr(model, "class_names_", []) or []))
    names = [str(c) for c in (getattr(model, "class_names_", None) or [])]
    data_names = [str(c) for c in (getattr(dataset, "class_names", None) or [])]
    if names and data_names and all(c in data_names for c in names):
        return np.array([data_names.index(c) for c in names], np.int64)
    uniq = np.unique(np.asarray(y))
    if k and len(uniq) == k:
        return uniq.astype(np.int64)
    raise DataError(
        f"evaluate: the model knows {k} classes {names[:5]} but the data set's labels are {uniq[:10].tolist()}; "
        "cannot tell which is which"
    )


def draw_labels(model: Any, dataset: Any, n: int, seed: int) -> np.ndarray:
    """n model class indices at the training split's class frequencies (largest-remainder counts,
    shuffled with the evaluation's seed): what the evaluation asks the model for."""
    to_data = class_map(model, dataset)
    y = np.asarray(dataset.train_labels)
    counts = np.array([(y == v).sum() for v in to_data], np.float64)
    if counts.sum() == 0:
        raise DataError("evaluate: none of the model's classes occur in the training labels")
    want = n * counts / counts.sum()
    k = np.floor(want).astype(np.int64)
    rest = int(n - k.sum())
    k[np.argsort(-(want - k), kind="stable")[:rest]] += 1
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    return rng.permutation(np.repeat(np.arange(len(to_data)), k)).astype(np.int64)


def sample_kwargs(model: Any, dataset: Any, n: int, seed: int) -> dict[str, Any]:
    """{"labels": ...} for a label-conditional model (the classes `draw_labels` asks for), else {}."""
    if not is_label_conditional(model):
        return {}
    return {"labels": draw_labels(model, dataset, int(n), int(seed))}


def asked_labels(model: Any, dataset: Any, n: int, seed: int, labels: Any = None) -> np.ndarray | None:
    """The data-set label asked for each of n samples: given `labels` (data-set label values, for an
    array of samples), or what `draw_labels` asked a label-conditional model for, or None."""
    if labels is not None:
        y = np.asarray(labels)
        y = y[:n] if y.ndim == 1 and len(y) >= n else y  # as the samples: the first n
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"evaluate: labels must be n={n} integer class labels, got shape {y.shape} ({y.dtype})"
            )
        if getattr(dataset, "train_labels", None) is None:
            raise DataError("evaluate: labels given but the data set has none")
        return y.astype(np.int64)
    if not is_label_conditional(model) or getattr(dataset, "train_labels", None) is None:
        return None
    return class_map(model, dataset)[draw_labels(model, dataset, n, seed)]


# ============================================================================ the label classifier
class LabelClassifier:
    """Multinomial logistic regression on standardised features, fitted on (at most 20,000) training rows."""

    def __init__(self, train: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        x, y = np.asarray(train, np.float64), np.asarray(labels)
        if len(x) > CLASSIFIER_MAX_TRAIN:
            idx = np.random.default_rng(np.random.SeedSequence([int(seed), 18])).choice(
                len(x), CLASSIFIER_MAX_TRAIN, replace=False
            )
            x, y = x[idx], y[idx]
        self.mean = x.mean(0)
        sd = x.std(0)
        self.std = np.where(sd > 1e-12, sd, 1.0)
        self.n_train = len(x)
        self.classes = np.unique(y)
        with warnings.catch_warnings():  # a few hundred lbfgs steps are plenty for a reference classifier
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf = LogisticRegression(C=1.0, max_iter=300).fit((x - self.mean) / self.std, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.clf.predict((np.asarray(x, np.float64) - self.mean) / self.std)


@dataclass
class _State:
    asked: np.ndarray  # (n,) data-set label asked for each sample
    t_true: np.ndarray  # (n,) true labels of T
    classifier: LabelClassifier
    gen_pred: np.ndarray
    t_pred: np.ndarray


def _state(ctx: Any) -> _State | None:
    """The conditional part of an evaluation context (cached on it), or None when it does not apply."""
    if "_perclass_state" in ctx.__dict__:
        return ctx.__dict__["_perclass_state"]
    st = None
    asked = getattr(ctx, "asked_labels", None)
    ds = ctx.dataset
    if asked is not None and ds is not None and getattr(ds, "test_labels", None) is not None:
        t_true = np.asarray(ds.test_labels)[ctx.plan.test_idx]
        clf = LabelClassifier(ctx.train, np.asarray(ds.train_labels), seed=ctx.seed)
        st = _State(np.asarray(asked), t_true, clf, clf.predict(ctx.gen), clf.predict(ctx.t))
    ctx.__dict__["_perclass_state"] = st
    return st


def label_accuracy(ctx: Any) -> Measure | None:
    """The registry's measure: share of samples classified as the class asked for, beside the same
    classifier's accuracy on T; None unless the samples were asked for by class."""
    st = _state(ctx)
    if st is None:
        return None
    v = float((st.gen_pred == st.asked).mean())
    r = float((st.t_pred == st.t_true).mean())
    extra = {"classifier": "logistic regression on the features", "classes": len(st.classifier.classes),
             "classifier_train_rows": st.classifier.n_train}  # fmt: skip
    return Measure(v, r, share_sigma(v, len(st.asked), r, len(st.t_true)), extra)


# ============================================================================ per class
def _neighbours(ctx: Any) -> tuple[Any, Any]:
    nb = getattr(ctx, "neighbours", None)  # the unconditional Rule 2 already found them
    if nb is None:
        nb = (M.train_neighbours(ctx.train, ctx.gen), M.train_neighbours(ctx.train, ctx.t))
    return nb


def _entry(value: float, reference: float, sigma: float | None) -> tuple[dict[str, Any], float | None]:
    return {"value": float(value), "reference": float(reference)}, sigma


def _one_class(
    ctx: Any, st: _State, c: int, name: str, copies: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 20, int(c)]))
    g_idx, t_idx = np.flatnonzero(st.asked == c), np.flatnonzero(st.t_true == c)
    train_idx = np.flatnonzero(np.asarray(ctx.dataset.train_labels) == c)
    m = int(min(len(g_idx), len(t_idx), len(train_idx)))
    row: dict[str, Any] = {"class": int(c), "name": name, "n": int(len(g_idx)), "m": m}
    acc_v = float((st.gen_pred[g_idx] == c).mean()) if len(g_idx) else float("nan")
    acc_r = float((st.t_pred[t_idx] == c).mean()) if len(t_idx) else float("nan")
    row["label_accuracy"] = {"value": acc_v, "reference": acc_r}
    copy_g, copy_tb, t_b_idx, n_eff_of = copies
    row["copies"] = int(copy_g[g_idx].sum())
    entries: dict[str, tuple[dict[str, Any], float | None]] = {}
    tb_c = np.flatnonzero(st.t_true[t_b_idx] == c)  # this class's rows of the reference half T_B
    if len(g_idx) and len(tb_c):
        # Rule 2 per class on the evaluation's own copy shares: the class's samples below the copy
        # threshold, beside the class's rows of T_B; the error from the class's distinct samples
        v, r = float(copy_g[g_idx].mean()), float(copy_tb[tb_c].mean())
        n_eff = n_eff_of(g_idx)
        q = Q_COPY
        sig = math.sqrt(q * (1 - q) * (1 / n_eff + 1 / len(tb_c))) if n_eff >= MIN_N_EFF else None
        e, _ = _entry(v, r, sig)
        e["n_eff"] = int(n_eff)
        entries["copy_share"] = (e, sig)
    if m >= MIN_CLASS:
        g = ctx.gen[np.sort(rng.choice(g_idx, m, replace=False))]
        t = ctx.t[np.sort(rng.choice(t_idx, m, replace=False))]
        s = ctx.train[np.sort(rng.choice(train_idx, m, replace=False))]
        mu_s, cov_s = M.moments(s)
        fd_v = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(g))
        fd_r = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(t))
        # the spread of value - reference under the null, when G_c is drawn like T_c
        sig = fd_null_sigma(mu_s, cov_s, t, ctx.seed, tag=19, max_dim=None)
        entries["frechet_distance"] = _entry(fd_v, fd_r, sig)
        radii = M.sq_radii(s, [3])
        pv = M.manifold_stats(s, g, k_pr=3, k_dc=None, real_radii=radii)
        pr = M.manifold_stats(s, t, k_pr=3, k_dc=None, real_radii=radii)
        entries["precision"] = _entry(
            pv.precision, pr.precision, share_sigma(pv.precision, m, pr.precision, m)
        )
        entries["recall"] = _entry(pv.recall, pr.recall, share_sigma(pv.recall, m, pr.recall, m))
    checks: dict[str, Any] = {}
    for metric in PER_CLASS_METRICS:
        if metric not in entries:
            continue
        e, sigma = entries[metric]
        row[metric] = e
        sp = spec(metric)
        if sp is None:
            continue
        if metric == "copy_share" and len(g_idx) < MIN_CLASS:
            sigma = None  # too few samples to judge
        checks[metric] = check(sp, e, sigma).to_dict()
    row["checks"] = checks
    row["failed"] = [k for k, c_ in checks.items() if c_.get("ok") is False]
    return row


def _worst(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    def fd_ratio(r: dict[str, Any]) -> float:
        e = r.get("frechet_distance") or {}
        v, ref = e.get("value"), e.get("reference")
        if not isinstance(v, float) or not isinstance(ref, float) or not math.isfinite(v):
            return -math.inf
        return v / max(ref, 1e-12)

    judged = [r for r in rows if r.get("checks")]
    if not judged:
        return None
    w = max(judged, key=lambda r: (len(r["failed"]), fd_ratio(r)))
    ratio = fd_ratio(w)
    why = (
        f"{len(w['failed'])} failed check(s): {', '.join(w['failed'])}" if w["failed"] else "no failed check"
    )
    if math.isfinite(ratio):
        why += f"; FD {ratio:.3g} x its reference"
    return {
        "class": w["class"],
        "name": w["name"],
        "failed": list(w["failed"]),
        "fd_ratio": ratio,
        "why": why,
    }


def per_class_section(ctx: Any) -> dict[str, Any] | None:
    """evaluation.json's "per_class": one row per class (FD, precision, recall, copy share, copies,
    label accuracy, each beside its reference, and their checks), the worst class and per-rule verdicts.
    None unless the samples were asked for by class."""
    st = _state(ctx)
    if st is None:
        return None
    c = ctx.copies  # the evaluation's copy neighbours (mirror-aware, content columns)
    rho = c["rho"][Q_COPY]
    _, g_space, *_ = ctx.copy_space
    radius = ctx.copy_reference.radius

    def n_eff_of(idx: np.ndarray) -> int:
        return distinct_count(g_space[idx], radius)

    copies = (c["gen"].ratio < rho, c["ratio_b"] < rho, ctx.plan.half_b, n_eff_of)
    names = [str(c) for c in (getattr(ctx.dataset, "class_names", None) or [])]
    classes = np.unique(np.concatenate([st.asked, st.t_true]))
    rows = [
        _one_class(ctx, st, int(c), names[c] if 0 <= c < len(names) else str(int(c)), copies) for c in classes
    ]
    verdict = {}
    for rule in ("rule1", "rule2"):
        bad = any(spec(k).rule == rule for r in rows for k in r["failed"])  # type: ignore[union-attr]
        verdict[rule] = "fail" if bad else "pass"
    return {
        "classes": rows,
        "worst": _worst(rows),
        "verdict": verdict,
        "min_class": MIN_CLASS,
        "unjudged": [r["name"] for r in rows if r["m"] < MIN_CLASS],
    }


def merge_verdict(verdict: dict[str, Any], section: dict[str, Any] | None) -> dict[str, Any]:
    """Fold the per-class failures into the evaluation's verdict (a failed class fails its rule), with
    one reason per failed check and a note for classes too small to judge."""
    if not section:
        return verdict
    reasons = verdict.setdefault("reasons", [])
    for r in section.get("classes", []):
        for metric in r.get("failed", []):
            sp = spec(metric)
            if sp is None:
                continue
            e, c = r[metric], r["checks"][metric]
            op = ">" if c["bad"] == "higher" else "<"
            verdict[sp.rule] = "fail"
            g = (verdict.get("graded") or {}).get(sp.rule)
            if (
                isinstance(g, dict) and g.get("answer") != "fail"
            ):  # a failed class fails the graded answer too
                g.update(answer="fail", worst=f"class {r['name']}: {metric}")
            reasons.append(
                f"{sp.rule}: class {r['name']!r}: {metric} = {e['value']:.4g} {op} {c['limit']:.4g} "
                f"(reference {e['reference']:.4g}): {sp.why}"
            )
    if section.get("unjudged"):
        reasons.append(
            f"note: per-class checks skipped for class(es) {', '.join(map(str, section['unjudged']))} "
            f"(fewer than {section.get('min_class', MIN_CLASS)} samples or held-out points; raise n)"
        )
    return verdict


def per_class_lines(ev: dict[str, Any]) -> list[str]:
    """A few console lines: label accuracy beside its reference, the worst class, failing classes."""
    out = []
    la = (ev.get("rule1") or {}).get("label_accuracy")
    if isinstance(la, dict):
        ok = ((ev.get("verdict") or {}).get("checks") or {}).get("label_accuracy", {}).get("ok")
        mark = {True: " \u2713", False: " \u2717"}.get(ok, "")
        out.append(
            f"label accuracy {la['value']:.1%} of samples classified as the class asked for "
            f"(held-out real: {la['reference']:.1%}){mark}"
        )
    pc = ev.get("per_class")
    if isinstance(pc, dict):
        rows = pc.get("classes") or []
        failing = [r["name"] for r in rows if r.get("failed")]
        w = pc.get("worst")
        if w:
            out.append(f"worst class: {w['name']!r} ({w['why']})")
        out.append(
            f"per class ({len(rows)} classes): "
            + (
                f"{len(failing)} failing: {', '.join(map(str, failing))}"
                if failing
                else "every judged class passes"
            )
        )
    g = ev.get("guidance")
    if isinstance(g, dict) and g.get("scales"):
        pairs = ", ".join(
            f"{s:g}: {a:.0%}/{r:.2f}"
            for s, a, r in zip(g["scales"], g["label_accuracy"], g["recall"], strict=True)
        )
        out.append(f"guidance sweep (scale: label accuracy/recall, n={g.get('n')} each): {pairs}")
    return out


# ============================================================================ guidance sweep
def guidance_sweep(
    model: Any,
    dataset: Any,
    evaluation: Any,
    *,
    scales: tuple[float, ...] | list[float] = GUIDANCE_SCALES,
    n: int = GUIDANCE_N,
    seed: int = 0,
) -> dict[str, Any]:
    """Label accuracy, precision and recall of n samples at each guidance scale (the same labels and
    seed at every scale), beside their references (n held-out points against n training points).

    `evaluation`: the `Evaluation` that `genlab.evaluate(model, dataset)` just returned; its features,
    reference sets and label classifier are reused, so the sweep only samples and embeds.
    """
    if not is_label_conditional(model):
        raise GenlabError("guidance_sweep: the model is not conditional on labels")
    if not accepts_guidance(model):
        raise GenlabError(
            f"guidance_sweep: {getattr(model, 'name', 'the model')}.sample takes no guidance scale"
        )
    ctx = getattr(evaluation, "context", None)
    ext = getattr(evaluation, "extractor", None)
    if ctx is None or ext is None:
        raise GenlabError("guidance_sweep: needs the Evaluation of this model, as genlab.evaluate returns it")
    st = _state(ctx)
    if st is None:
        raise DataError("guidance_sweep: the data set has no held-out labels")
    n = int(min(int(n), ctx.n, len(ctx.s)))
    if n < MIN_CLASS:
        raise GenlabError(f"guidance_sweep: n must be at least {MIN_CLASS}, got {n}")
    scales = [float(g) for g in scales]
    labels = draw_labels(model, dataset, n, seed)
    asked = class_map(model, dataset)[labels]
    s, t = ctx.s[:n], ctx.t[:n]
    radii = M.sq_radii(s, [3])
    ref = M.manifold_stats(s, t, k_pr=3, k_dc=None, real_radii=radii)
    ref_acc = float((st.t_pred[:n] == st.t_true[:n]).mean())
    out: dict[str, Any] = {"scales": [], "label_accuracy": [], "precision": [], "recall": [], "n": n, "seed": int(seed),
                           "reference": {"label_accuracy": ref_acc, "precision": ref.precision, "recall": ref.recall}}  # fmt: skip
    for g in scales:
        x = np.asarray(model.sample(n, seed=seed, labels=labels, guidance=float(g)), np.float32)
        f = ext(x)
        ms = M.manifold_stats(s, f, k_pr=3, k_dc=None, real_radii=radii)
        out["scales"].append(float(g))
        out["label_accuracy"].append(float((st.classifier.predict(f) == asked).mean()))
        out["precision"].append(ms.precision)
        out["recall"].append(ms.recall)
    return out
