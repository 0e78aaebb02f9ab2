"""`evaluate`: judge a model (or an array of samples) by Rule 1 (fidelity) and Rule 2 (novelty).

The sets compared (n generated samples; features throughout):

    T      n points of the test split: the held-out real reference sample.
    S      n points drawn from the training split: the real data Rule 1 compares with.
    train  the whole training split: what Rule 2 checks copying against.
    T_A/B  the two halves of T.

Rule 1 compares the generated samples G with S, and the reference is T against the same S: both
sides are n fresh-or-generated points against the same n real points, so a perfect sampler of
p_data scores like the reference up to sampling noise. (Comparing with training points is
deliberate: copies of them look perfect here, and Rule 2 is there to catch them.) The KID, FD,
precision/recall/density/coverage and the classifier test are all computed this way.
nll_per_dim is the model's mean negative log-likelihood per dimension on T (at most 2,000 points).
Its reference is the true entropy per dimension estimated on the same points, -mean log p_data(T) / D,
when the data set knows its true density (their difference is then KL(p_data || model) per
dimension); otherwise the model's own NLL on as many points of S, which shows the generalisation
gap and is not judged.

Rule 2 checks G against the whole training split, and the reference is T in G's place:
memorization rate and authenticity with all of T; C_T and the closer-to-train share need a
held-out comparison set besides the reference sample, so they use T_A as the held-out set and T_B
as the reference sample (G against T_A, and T_B against T_A, with the same k-means cells).

Verdict thresholds are in `genlab.evaluate.verdict` and docs/metrics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError, NotSupported

__all__ = ["Evaluation", "evaluate", "evaluate_features", "evaluate_run", "print_evaluation"]

DEFAULT_N_CAP = 10_000
NLL_CAP = 2_000
MIN_N = 20
N_COPIES = 10
FD_BOOTSTRAP = 8


@dataclass
class Evaluation:
    """The result of `evaluate`; `to_dict()` is what evaluation.json holds."""

    n: int
    features: dict[str, Any]
    rule1: dict[str, dict[str, Any]]
    rule2: dict[str, Any]
    verdict: dict[str, Any]
    seed: int = 0  # model.sample(n, seed=seed) reproduces the samples that copies' sample_index points into
    seconds: float = field(default=0.0, compare=False)

    @property
    def passed(self) -> bool:
        return self.verdict["rule1"] == "pass" and self.verdict["rule2"] == "pass"

    @property
    def copies(self) -> list[dict[str, Any]]:
        """The worst near-copies, nearest first: sample_index, train_index, distance, ratio, train_nn_distance."""
        return self.rule2.get("copies", [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "features": dict(self.features),
            "rule1": {k: dict(v) for k, v in self.rule1.items()},
            "rule2": {k: (list(v) if k == "copies" else dict(v)) for k, v in self.rule2.items()},
            "verdict": dict(self.verdict),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        try:
            return cls(
                int(d["n"]),
                dict(d["features"]),
                dict(d["rule1"]),
                dict(d["rule2"]),
                dict(d["verdict"]),
                seed=int(d.get("seed", 0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"not an evaluation record ({type(e).__name__}: {e})") from None

    def __repr__(self) -> str:
        v = self.verdict
        return f"Evaluation(n={self.n}, rule1={v['rule1']!r}, rule2={v['rule2']!r}, features={self.features.get('kind')!r})"


# ============================================================================ the sets
@dataclass
class Plan:
    """Which rows form T (test indices), S (train indices) and the halves T_A / T_B (positions in T)."""

    test_idx: np.ndarray
    train_idx: np.ndarray
    half_a: np.ndarray
    half_b: np.ndarray


def make_plan(n_train: int, n_test: int, n: int, seed: int) -> Plan:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 6]))
    test_idx = rng.permutation(n_test)[:n]
    train_idx = rng.permutation(n_train)[: min(n, n_train)]
    perm = rng.permutation(n)
    return Plan(test_idx, train_idx, np.sort(perm[: n // 2]), np.sort(perm[n // 2 :]))


@dataclass
class NLL:
    value: float
    reference: float
    sigma: float | None  # None: not judged
    meta: dict[str, Any]


# ============================================================================ on features
def evaluate_features(
    train: np.ndarray,
    test: np.ndarray,
    generated: np.ndarray,
    *,
    seed: int = 0,
    features: dict[str, Any] | None = None,
    nll: NLL | None = None,
    plan: Plan | None = None,
) -> Evaluation:
    """Both rules on feature arrays (N, D): n = len(generated) samples against a held-out sample of n test rows."""
    import time

    from genlab.evaluate import metrics as M
    from genlab.evaluate.verdict import judge, share_sigma

    started = time.perf_counter()
    train = M.check_features(train, "training features")
    test = M.check_features(test, "test features")
    gen = M.check_features(generated, "generated features")
    M.check_same_dim(("train", train), ("test", test), ("generated", gen))
    n = len(gen)
    if n < MIN_N:
        raise DataError(f"evaluate: need at least {MIN_N} generated samples, got {n}")
    if len(test) < n:
        raise DataError(
            f"evaluate: n={n} generated samples but the test split has only {len(test)} rows; the reference "
            f"needs a held-out real sample of the same size, so use n <= {len(test)}"
        )
    plan = plan or make_plan(len(train), len(test), n, seed)
    t = test[plan.test_idx]  # T (n, D)
    s = train[plan.train_idx]  # S (n, D)
    t_a, t_b = t[plan.half_a], t[plan.half_b]
    sig: dict[str, float | None] = {}

    # ---------------------------------------------------------------- Rule 1
    rule1: dict[str, dict[str, Any]] = {}
    mu_s, cov_s = M.moments(s)
    fd_v = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(gen))
    fd_r = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(t))
    rule1["frechet_distance"] = {"value": fd_v, "reference": fd_r}
    sig["frechet_distance"] = math.hypot(
        _fd_bootstrap_std(mu_s, cov_s, t, seed), _fd_bootstrap_std(mu_s, cov_s, gen, seed)
    )

    subset = max(2, min(1000, n // 2))
    kid_v, kid_sv = M.kid(s, gen, subset_size=subset, seed=seed)
    kid_r, kid_sr = M.kid(s, t, subset_size=subset, seed=seed)
    rule1["kid"] = {"value": kid_v, "reference": kid_r, "std": kid_sv, "reference_std": kid_sr}
    sig["kid"] = math.hypot(kid_sv, kid_sr)

    s_radii = M.sq_radii(s, [3, 5])  # the real k-NN balls, shared by value and reference
    mv = M.manifold_stats(s, gen, k_pr=3, k_dc=5, real_radii=s_radii)
    mr = M.manifold_stats(s, t, k_pr=3, k_dc=5, real_radii=s_radii)
    for key in ("precision", "recall", "density", "coverage"):
        rule1[key] = {"value": getattr(mv, key), "reference": getattr(mr, key)}
    n_s = len(s)
    sig["precision"] = share_sigma(mv.precision, n, mr.precision, n)  # shares over the n samples
    sig["recall"] = share_sigma(mv.recall, n_s, mr.recall, n_s)  # shares over the n_s real points
    sig["coverage"] = share_sigma(mv.coverage, n_s, mr.coverage, n_s)
    sig["density"] = math.hypot(mv.density_std, mr.density_std) / math.sqrt(n)

    c_v, c_r = M.c2st(s, gen, seed=seed), M.c2st(s, t, seed=seed)
    rule1["c2st_accuracy"] = {"value": c_v, "reference": c_r}
    sig["c2st_accuracy"] = math.sqrt(0.25 / n)

    if nll is not None:
        rule1["nll_per_dim"] = {"value": nll.value, "reference": nll.reference, **nll.meta}
        sig["nll_per_dim"] = nll.sigma

    # ---------------------------------------------------------------- Rule 2
    rule2: dict[str, Any] = {}
    part = M.fit_cells(train, M.default_cells(len(t_a)), seed=seed)
    ct_v, _ = M.ct_from_partition(train, t_a, gen, part)
    ct_r, _ = M.ct_from_partition(train, t_a, t_b, part)
    rule2["ct"] = {"value": ct_v, "reference": ct_r, "cells": len(part.centers)}

    nb_g, nb_t = M.train_neighbours(train, gen), M.train_neighbours(train, t)
    mem_v = float((nb_g.ratio < M.MEMORIZATION_RATIO).mean())
    mem_r = float((nb_t.ratio < M.MEMORIZATION_RATIO).mean())
    rule2["memorization_rate"] = {"value": mem_v, "reference": mem_r}
    sig["memorization_rate"] = share_sigma(mem_v, n, mem_r, n)

    nn_g = M.train_nn_distance(train, nb_g.index)
    auth_v = float((nb_g.d1 > nn_g).mean())
    auth_r = float(M.authenticity_flags(train, nb_t).mean())
    rule2["authenticity"] = {"value": auth_v, "reference": auth_r}
    sig["authenticity"] = share_sigma(auth_v, n, auth_r, n)

    cl_v = M.closer_to_train_share(train, t_a, gen, seed=seed)
    cl_r = M.closer_to_train_share(train, t_a, t_b, seed=seed)
    rule2["closer_to_train_share"] = {"value": cl_v, "reference": cl_r}
    sig["closer_to_train_share"] = share_sigma(cl_v, n, cl_r, len(t_b))

    order = np.lexsort((nb_g.ratio, nb_g.d1))[:N_COPIES]  # nearest first, ties by ratio
    rule2["copies"] = [
        {
            "sample_index": int(i),
            "train_index": int(nb_g.index[i]),
            "distance": float(nb_g.d1[i]),
            "ratio": float(nb_g.ratio[i]),
            "train_nn_distance": float(nn_g[i]),
        }
        for i in order
    ]

    verdict = judge(rule1, rule2, sig)
    info = {"dim": int(train.shape[1]), **(features or {"kind": "given"})}
    return Evaluation(n, info, rule1, rule2, verdict, seed=int(seed), seconds=time.perf_counter() - started)


def _fd_bootstrap_std(mu_s: np.ndarray, cov_s: np.ndarray, x: np.ndarray, seed: int) -> float:
    """Bootstrap std of FD(S, x) over resamples of x; 0 above 512 dimensions (the 50% margin dominates)."""
    from genlab.evaluate import metrics as M

    if x.shape[1] > 512:
        return 0.0
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    fds = [
        M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(x[rng.integers(0, len(x), len(x))]))
        for _ in range(FD_BOOTSTRAP)
    ]
    return float(np.std(fds, ddof=1))


# ============================================================================ on a model or samples
def _check_dataset(dataset: Any) -> Any:
    if not (hasattr(dataset, "train") and hasattr(dataset, "test")):
        raise DataError(
            f"evaluate: expected a Dataset (genlab.load_dataset(...)) with train and test splits, "
            f"got {type(dataset).__name__}"
        )
    test = getattr(dataset, "test", None)
    if test is None or len(test) < MIN_N:
        got = 0 if test is None else len(test)
        raise DataError(
            f"evaluate: dataset {getattr(dataset, 'name', '?')!r} has {got} test rows; Rule 2 and the references "
            f"need a held-out test split of at least {MIN_N} (load it with test_fraction > 0)"
        )
    return dataset


def _samples(source: Any, dataset: Any, n: int | None, seed: int) -> tuple[np.ndarray, Any]:
    from genlab.models.base import check_array

    shape = tuple(np.asarray(dataset.train).shape[1:])
    n_test = len(dataset.test)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < MIN_N):
        raise GenlabError(f"evaluate: n must be an integer of at least {MIN_N}, got {n!r}")
    if n is not None and n > n_test:
        raise DataError(
            f"evaluate: n={n} exceeds the {n_test} rows of the test split; the reference needs a held-out "
            f"real sample of the same size, so use n <= {n_test}"
        )
    if hasattr(source, "sample") and hasattr(source, "is_fitted"):
        if not source.is_fitted:
            raise GenlabError(
                f"evaluate: the {getattr(source, 'name', 'model')} model is not fitted; call fit first"
            )
        if tuple(source.shape_) != shape:
            raise DataError(
                f"evaluate: the model makes observations of shape {tuple(source.shape_)}, the data has {shape}"
            )
        n = int(n if n is not None else min(n_test, DEFAULT_N_CAP))
        x = check_array(source.sample(n, seed=seed), what="generated samples", shape=shape)
        return x, source
    x = check_array(source, what="generated samples", shape=shape)
    n = int(n if n is not None else min(len(x), n_test, DEFAULT_N_CAP))
    if len(x) < n:
        raise DataError(f"evaluate: n={n} but only {len(x)} generated samples were given")
    return x[:n], None


def _nll(model: Any, dataset: Any, plan: Plan) -> NLL | None:
    """Held-out NLL per dimension and its reference (see the module docstring)."""
    kind = getattr(model, "log_prob_kind", None)
    if model is None or kind is None:
        return None
    idx = plan.test_idx[:NLL_CAP]
    x = np.asarray(dataset.test)[idx]
    dim = int(np.prod(x.shape[1:]))
    try:
        lq = np.asarray(model.log_prob(x), np.float64)
    except NotSupported:
        return None
    value = float(-lq.mean() / dim)
    meta: dict[str, Any] = {
        "kind": "exact" if kind == "exact" else "bound",
        "unit": "nats/dim",
        "n": len(idx),
    }
    log_density = getattr(dataset, "log_density", None)
    if log_density is not None:
        lp = np.asarray(log_density(x), np.float64)
        reference = float(-lp.mean() / dim)
        diff = (lp - lq) / dim
        sigma = float(diff.std(ddof=1) / math.sqrt(len(diff))) if np.isfinite(diff).all() else 0.0
        meta["reference_kind"] = "true entropy"  # -mean log p_data on the same test points
    else:
        xs = np.asarray(dataset.train)[plan.train_idx[: len(idx)]]
        reference = float(-np.asarray(model.log_prob(xs), np.float64).mean() / dim)
        sigma = None
        meta["reference_kind"] = "model on training data"  # the generalisation gap; not judged
    if getattr(dataset, "kind", "vector") == "image":
        meta["bits_per_dim"] = value / math.log(2)
        meta["reference_bits_per_dim"] = reference / math.log(2)
    return NLL(value, reference, sigma, meta)


def evaluate(
    source: Any, dataset: Any, *, n: int | None = None, features: Any = "auto", seed: int = 0
) -> Evaluation:
    """Judge a fitted model, or an array of samples (N, *shape), against `dataset` by Rule 1 and Rule 2.

    n defaults to min(test rows, 10,000) (for an array, also at most its length). `features`:
    "auto", "pixels", "random", a TorchScript path, an nn.Module, or a `FeatureExtractor`.
    """
    import time

    from genlab.evaluate.features import FeatureExtractor, make_extractor

    started = time.perf_counter()
    dataset = _check_dataset(dataset)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise GenlabError(f"evaluate: seed must be a non-negative integer, got {seed!r}")
    x, model = _samples(source, dataset, n, int(seed))
    train = np.asarray(dataset.train, np.float32)
    test = np.asarray(dataset.test, np.float32)
    plan = make_plan(len(train), len(test), len(x), int(seed))
    ext = features if isinstance(features, FeatureExtractor) else make_extractor(features, dataset)
    nll = _nll(model, dataset, plan)
    ev = evaluate_features(
        ext(train), ext(test), ext(x), seed=int(seed), features=dict(ext.info), nll=nll, plan=plan
    )
    ev.seconds = time.perf_counter() - started
    return ev


def evaluate_run(
    run_dir: str | Path, *, n: int | None = None, features: Any = "auto", seed: int = 0
) -> Evaluation:
    """Load RUN's model and data, evaluate, and write RUN/evaluation.json."""
    from genlab.data import dataset_from_json
    from genlab.fileio import read_json, write_json
    from genlab.models.persist import load_model

    run_dir = Path(run_dir)
    model = load_model(run_dir)
    dataset = dataset_from_json(read_json(run_dir / "data.json"))
    ev = evaluate(model, dataset, n=n, features=features, seed=seed)
    write_json(run_dir / "evaluation.json", ev.to_dict())
    return ev


# ============================================================================ printing
_GOOD = {
    "frechet_distance": "lower",
    "kid": "lower, ~0",
    "precision": "higher",
    "recall": "higher",
    "density": "higher, ~1",
    "coverage": "higher",
    "c2st_accuracy": "0.5",
    "nll_per_dim": "lower",
    "ct": "~0; > +3 under-fits",
    "memorization_rate": "lower",
    "authenticity": "higher",
    "closer_to_train_share": "0.5",
}


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
        if metric == "copies":
            continue
        good, value = _GOOD.get(metric, ""), _fmt(e.get("value"))
        c = checks.get(metric) or {}
        if c.get("ok") is not None:
            good += f"; pass {'<=' if c['bad'] == 'higher' else '>='} {c['limit']:.4g}"
            value += " ✓" if c["ok"] else " ✗"
        if metric == "kid":
            good += f"; std {_fmt(e.get('std'))} (ref {_fmt(e.get('reference_std'))})"
        if metric == "nll_per_dim":
            value += f" ({e.get('kind')})"
            if "bits_per_dim" in e:
                good += f"; nats ({_fmt(e['bits_per_dim'])} bits/dim)"
            good += "; ref: " + ("true entropy" if c.get("ok") is not None else "train NLL, not judged")
        table.add_row(metric, value, _fmt(e.get("reference")), good)
    return table


def print_evaluation(evaluation: Evaluation | dict[str, Any], console: Any) -> None:
    """Print the Rule 1 and Rule 2 tables, each followed by its verdict line, on a rich Console."""
    ev = evaluation if isinstance(evaluation, Evaluation) else Evaluation.from_dict(evaluation)
    f = ev.features
    quality = ", ".join(f"{k} {v}" for k, v in (f.get("quality") or {}).items())
    console.print(
        f"n = {ev.n} samples; features: {f.get('kind')} ({f.get('dim')}-d{'; ' + quality if quality else ''}); "
        f"reference = a held-out real sample of the same size"
    )
    checks = ev.verdict.get("checks", {})
    reasons = ev.verdict.get("reasons", [])
    for rule, title, entries in (
        ("rule1", "Rule 1: fidelity (do samples look drawn from the data?)", ev.rule1),
        ("rule2", "Rule 2: novelty (do samples differ from the training observations?)", ev.rule2),
    ):
        console.print(_table(title, entries, checks))
        verdict = ev.verdict[rule]
        style = "green" if verdict == "pass" else "red"
        console.print(f"[bold {style}]{'Rule 1' if rule == 'rule1' else 'Rule 2'}: {verdict.upper()}[/]")
        for r in reasons:
            if r.startswith(f"{rule}:"):
                console.print(f"  - {r[len(rule) + 2 :]}", markup=False, highlight=False)
        if rule == "rule2":
            for r in reasons:
                if r.startswith("note:"):
                    console.print(f"  {r}", markup=False, highlight=False)
            if ev.copies:
                c = ev.copies[0]
                console.print(
                    f"  nearest sample to a training point: sample {c['sample_index']} -> train {c['train_index']} "
                    f"at distance {c['distance']:.4g} (that training point's own nearest neighbour: "
                    f"{c['train_nn_distance']:.4g})",
                    highlight=False,
                )
