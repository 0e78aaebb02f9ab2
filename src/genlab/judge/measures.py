"""Each metric of the registry (`specs.py`) as a function of one shared `EvalContext`.

The context holds the feature sets the evaluation compares (see `evaluation.py` for what G, S, T,
T_A and T_B are) and computes what several metrics share (k-NN balls, nearest training points,
k-means cells) once, on first use. A measure returns a `Measure`: the value for the generated samples,
the same figure for the held-out real reference, the standard error of their difference under the
null (None: not judged) and any extra fields for evaluation.json; or None when it does not apply.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from genlab.errors import NotSupported
from genlab.judge import metrics as M

__all__ = [
    "MIN_N_EFF",
    "NLL_CAP",
    "Q_COPY",
    "Q_NEAR",
    "CopyNeighbours",
    "CopyReference",
    "EvalContext",
    "Measure",
    "Plan",
    "distinct_count",
    "fd_null_sigma",
    "make_plan",
    "share_sigma",
]

FD_BOOTSTRAP = 8
NLL_CAP = 2_000
#: the held-out NLL uses NLL_START points, doubling until the standard error of its judged mean per
#: dimension is below NLL_SE nats (a tenth of its 0.1-nat margin), at most NLL_CAP
NLL_START = 200
NLL_SE = 0.01
#: ... and while the next doubling, at the rate measured so far, keeps the held-out log-likelihoods within
#: NLL_SECONDS (a slow density, e.g. a large flow on images, stops earlier; "n" in the record says where)
NLL_SECONDS = 10.0
#: a "copy": closer to its nearest training point, relative to that point's own nearest-neighbour
#: distance, than all but Q_COPY of held-out rows are; a "near copy": than all but Q_NEAR (docs/metrics.md)
Q_COPY = 0.05
Q_NEAR = 0.25
#: fewer distinct samples than this, and the copy shares are not judged (n identical samples are one)
MIN_N_EFF = 20


def share_sigma(value: float, n_value: int, reference: float, n_reference: int) -> float:
    """Standard error of the difference of two shares under H0 (pooled binomial)."""
    p = (value * n_value + reference * n_reference) / max(n_value + n_reference, 1)
    return math.sqrt(max(p * (1 - p), 0.0) * (1 / max(n_value, 1) + 1 / max(n_reference, 1)))


@dataclass
class Measure:
    value: float
    reference: float
    sigma: float | None
    extra: dict[str, Any] = field(default_factory=dict)


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


class EvalContext:
    """The feature sets of one evaluation and the pieces several metrics share (computed once)."""

    def __init__(
        self,
        train: np.ndarray,
        test: np.ndarray,
        gen: np.ndarray,
        plan: Plan,
        *,
        seed: int,
        model: Any = None,
        dataset: Any = None,
        frames: Any = None,
        mirror: tuple[np.ndarray, np.ndarray] | None = None,
        copy_dims: int | None = None,
    ) -> None:
        self.train, self.test, self.gen, self.plan, self.seed = train, test, gen, plan, int(seed)
        # Rule 2's copy shares: features of the mirrored samples and of mirrored T (images), and how many
        # leading feature columns describe content (the embedding; None: all columns)
        self.mirror, self.copy_dims = mirror, copy_dims
        self.model, self.dataset = model, dataset
        self.frames = frames  # tables: the raw rows (`genlab.judge.tables.TableFrames`), else None
        self.n = len(gen)
        self.t = test[plan.test_idx]  # T (n, D)
        self.s = train[plan.train_idx]  # S (n, D)
        self.t_a, self.t_b = self.t[plan.half_a], self.t[plan.half_b]

    # ------------------------------------------------------------------ shared pieces
    @cached_property
    def s_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return M.moments(self.s)

    @cached_property
    def manifold(self) -> tuple[M.ManifoldStats, M.ManifoldStats]:
        radii = M.sq_radii(self.s, [3, 5])  # the real k-NN balls, shared by value and reference
        return (
            M.manifold_stats(self.s, self.gen, k_pr=3, k_dc=5, real_radii=radii),
            M.manifold_stats(self.s, self.t, k_pr=3, k_dc=5, real_radii=radii),
        )

    @cached_property
    def neighbours(self) -> tuple[M.TrainNeighbours, M.TrainNeighbours]:
        """Nearest training points of G and of T."""
        return M.train_neighbours(self.train, self.gen), M.train_neighbours(self.train, self.t)

    @cached_property
    def gen_nn_distance(self) -> np.ndarray:
        """For each sample, its nearest training point's distance to that point's own nearest neighbour."""
        return M.train_nn_distance(self.train, self.neighbours[0].index)

    @cached_property
    def copy_space(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """train, G, T and the mirrored G and T in the copy space (the content columns)."""
        k = self.copy_dims
        cut = (lambda a: a) if k is None else (lambda a: np.ascontiguousarray(a[:, :k]))
        gm, tm = (None, None) if self.mirror is None else (cut(self.mirror[0]), cut(self.mirror[1]))
        return cut(self.train), cut(self.gen), cut(self.t), gm, tm

    @cached_property
    def copy_reference(self) -> CopyReference:
        train, _, t, _, tm = self.copy_space
        return CopyReference(train, t, tm, self.plan.half_a, self.plan.half_b)

    @cached_property
    def copies(self) -> dict[str, Any]:
        """The samples' copy neighbours and effective size, beside the reference's thresholds and T_B ratios."""
        _, g, _, gm, _ = self.copy_space
        return self.copy_reference.of(g, gm)

    @cached_property
    def cells(self) -> M.CellPartition:
        return M.fit_cells(self.train, M.default_cells(len(self.t_a)), seed=self.seed)


# ============================================================================ Rule 2: copy neighbours
@dataclass
class CopyNeighbours:
    """For each row: distance to its nearest training point, mirror-aware (the smaller of the row's and
    its mirror image's), that point's index, and the distance relative to that point's own nearest
    other training point (`ratio`: 0 for an exact copy, about 1 for a typical fresh point)."""

    d: np.ndarray
    index: np.ndarray
    own: np.ndarray
    mirrored: np.ndarray  # True where the mirror image was the nearer one

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(self.own > 0, self.own, 1.0)
            return np.where(self.own > 0, self.d / safe, np.where(self.d > 0, np.inf, 0.0))


def copy_neighbours(train: np.ndarray, x: np.ndarray, x_mirror: np.ndarray | None) -> CopyNeighbours:
    """Mirror-aware nearest training points of the rows of x; `own` is filled in by the caller."""
    from genlab.judge.neighbors import knn

    d, idx = knn(x, train, 1)
    d, idx = d[:, 0], idx[:, 0]
    mirrored = np.zeros(len(x), bool)
    if x_mirror is not None:
        dm, im = knn(x_mirror, train, 1)
        mirrored = dm[:, 0] < d
        d, idx = np.where(mirrored, dm[:, 0], d), np.where(mirrored, im[:, 0], idx)
    return CopyNeighbours(d, idx, np.empty(0), mirrored)


class CopyReference:
    """What the copy shares compare with, from the held-out rows T (copy space; `t_mirror` their mirror
    images or None): the ratio thresholds (quantiles Q_COPY and Q_NEAR of T_A's ratios), T_B's ratios
    (the reference shares) and the duplicate radius (T_A's Q_COPY quantile of plain distances)."""

    def __init__(
        self,
        train: np.ndarray,
        t: np.ndarray,
        t_mirror: np.ndarray | None,
        half_a: np.ndarray,
        half_b: np.ndarray,
    ) -> None:
        self.train = train
        nb_t = copy_neighbours(train, t, t_mirror)
        nb_t.own = M.train_nn_distance(train, nb_t.index)
        ratio = nb_t.ratio
        self.rho = {q: float(np.quantile(ratio[half_a], q)) for q in (Q_COPY, Q_NEAR)}
        self.radius = float(
            np.quantile(nb_t.d[half_a], Q_COPY)
        )  # "as close as a copy is to its training point"
        self.ratio_b = ratio[half_b]

    def of(self, g: np.ndarray, g_mirror: np.ndarray | None) -> dict[str, Any]:
        nb_g = copy_neighbours(self.train, g, g_mirror)
        nb_g.own = M.train_nn_distance(self.train, nb_g.index)
        return {
            "gen": nb_g,
            "ratio_b": self.ratio_b,
            "rho": self.rho,
            "n_eff": distinct_count(g, self.radius),
        }

    def share(self, of: dict[str, Any], q: float) -> tuple[float, float, float | None]:
        """(value, reference, sigma) of the share at quantile q; sigma None when n_eff < MIN_N_EFF.

        sigma is the standard error of value - reference when the samples come from p_data: both shares
        are then about q (the threshold is T_A's q-quantile), so sqrt(q (1 - q) (1/n_eff + 1/|T_B|)),
        with the effective number of distinct samples in place of n (n identical samples are one).
        """
        rho = self.rho[q]
        v = float((of["gen"].ratio < rho).mean())
        r = float((self.ratio_b < rho).mean())
        n_eff = int(of["n_eff"])
        sigma = math.sqrt(q * (1 - q) * (1 / n_eff + 1 / len(self.ratio_b))) if n_eff >= MIN_N_EFF else None
        return v, r, sigma


def distinct_count(x: np.ndarray, radius: float) -> int:
    """The effective number of samples: rows farther than `radius` from every earlier row (n identical
    rows count once). Exact, from blocked distances of each row to all rows before it."""
    import torch

    from genlab.judge.neighbors import as_tensor, sq_distance_blocks

    t = as_tensor(x)
    r2 = float(radius) ** 2
    count = 0
    for start, d2 in sq_distance_blocks(t, t):  # (rows, n)
        rows = torch.arange(start, start + len(d2))
        earlier = torch.arange(len(t))[None, :] < rows[:, None]  # j < i
        near = ((d2 <= r2) & earlier).any(1)
        count += int((~near).sum())
    return count


# ============================================================================ Rule 1
def fd_null_sigma(
    mu_s: np.ndarray, cov_s: np.ndarray, t: np.ndarray, seed: int, *, tag: int = 7, max_dim: int | None = 512
) -> float:
    """The standard error of FD(S, G) - FD(S, T) when G is drawn like T (the null): sqrt(2) x the bootstrap
    std of FD(S, T*) over resamples of the reference sample T. Not the samples' own bootstrap: the spread
    of an FD grows with the distance, so a far-off model would get a wide tolerance and a flattering
    score. 0 above `max_dim` dimensions, where the relative noise is tiny and the 50% margin decides."""
    if max_dim is not None and t.shape[1] > max_dim:
        return 0.0
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(tag)]))
    fds = [
        M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(t[rng.integers(0, len(t), len(t))]))
        for _ in range(FD_BOOTSTRAP)
    ]
    return math.sqrt(2.0) * float(np.std(fds, ddof=1))


def frechet_distance(ctx: EvalContext) -> Measure:
    mu_s, cov_s = ctx.s_moments
    value = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(ctx.gen))
    reference = M.frechet_distance_from_moments(mu_s, cov_s, *M.moments(ctx.t))
    sigma = fd_null_sigma(mu_s, cov_s, ctx.t, ctx.seed)
    return Measure(value, reference, sigma)


def kid(ctx: EvalContext) -> Measure:
    subset = max(2, min(1000, ctx.n // 2))
    v, sv = M.kid(ctx.s, ctx.gen, subset_size=subset, seed=ctx.seed)
    r, sr = M.kid(ctx.s, ctx.t, subset_size=subset, seed=ctx.seed)
    return Measure(v, r, math.hypot(sv, sr), {"std": sv, "reference_std": sr})


def precision(ctx: EvalContext) -> Measure:
    v, r = ctx.manifold
    return Measure(v.precision, r.precision, share_sigma(v.precision, ctx.n, r.precision, ctx.n))


def recall(ctx: EvalContext) -> Measure:
    v, r = ctx.manifold
    n_s = len(ctx.s)  # shares over the real points
    return Measure(v.recall, r.recall, share_sigma(v.recall, n_s, r.recall, n_s))


def density(ctx: EvalContext) -> Measure:
    v, r = ctx.manifold
    return Measure(v.density, r.density, math.hypot(v.density_std, r.density_std) / math.sqrt(ctx.n))


def coverage(ctx: EvalContext) -> Measure:
    v, r = ctx.manifold
    n_s = len(ctx.s)
    return Measure(v.coverage, r.coverage, share_sigma(v.coverage, n_s, r.coverage, n_s))


def c2st_accuracy(ctx: EvalContext) -> Measure:
    v, r = M.c2st(ctx.s, ctx.gen, seed=ctx.seed), M.c2st(ctx.s, ctx.t, seed=ctx.seed)
    return Measure(v, r, math.sqrt(0.25 / ctx.n))


def _log_probs(
    model: Any, x: np.ndarray, dim: int, judge_against: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """log q (and log p_data when given) on growing prefixes of x (NLL_START points, then doubling, at most
    len(x)), stopping once the standard error of the mean per-dimension figure that is judged (the KL
    estimate with a true density, else the NLL) is below NLL_SE: the points are chosen by the error, not a
    fixed count; a slow density also stops once the next doubling would pass NLL_SECONDS. Prefixes keep
    the result deterministic for a given count."""
    lq_parts, lp_parts, done = [], [], 0
    started = time.perf_counter()
    while done < len(x):
        stop = min(len(x), NLL_START if done == 0 else 2 * done)
        chunk = x[done:stop]
        lq_parts.append(np.asarray(model.log_prob(chunk), np.float64))
        if judge_against is not None:
            lp_parts.append(np.asarray(judge_against(chunk), np.float64))
        done = stop
        lq = np.concatenate(lq_parts)
        per = (np.concatenate(lp_parts) - lq if judge_against is not None else -lq) / dim
        if not np.isfinite(per).all():
            break
        if len(per) > 1 and per.std(ddof=1) / math.sqrt(len(per)) < NLL_SE:
            break
        spent = time.perf_counter() - started
        if spent + spent / done * (min(len(x), 2 * done) - done) > NLL_SECONDS:
            break
    return np.concatenate(lq_parts), (np.concatenate(lp_parts) if lp_parts else None)


def nll_per_dim(ctx: EvalContext) -> Measure | None:
    """Held-out NLL per dimension on (at most 2,000 points of) T, beside the true entropy per dimension
    when the data set knows its density (their difference is KL(p_data || model) per dimension, judged),
    else the model's own NLL on as many training points of S (the generalisation gap, not judged).
    Points are added (200, 400, 800, ...) until the standard error of the judged mean is below NLL_SE."""
    model, dataset = ctx.model, ctx.dataset
    kind = getattr(model, "log_prob_kind", None)
    if model is None or kind is None or dataset is None:
        return None
    x_all = np.asarray(dataset.test)[ctx.plan.test_idx[:NLL_CAP]]
    dim = int(np.prod(x_all.shape[1:]))
    log_density = getattr(dataset, "log_density", None)
    try:
        lq, lp = _log_probs(model, x_all, dim, log_density)
    except NotSupported:
        return None
    n_used = len(lq)
    value = float(-lq.mean() / dim)
    se = float(lq.std(ddof=1) / dim / math.sqrt(n_used)) if n_used > 1 else float("nan")
    extra: dict[str, Any] = {
        "kind": "exact" if kind == "exact" else "bound",
        "unit": "nats/dim",
        "n": n_used,
        "se": se,
    }
    if lp is not None:
        reference = float(-lp.mean() / dim)
        diff = (lp - lq) / dim
        sigma: float | None = (
            float(diff.std(ddof=1) / math.sqrt(len(diff))) if np.isfinite(diff).all() else 0.0
        )
        extra["reference_kind"] = "true entropy"  # -mean log p_data on the same test points
    else:
        xs = np.asarray(dataset.train)[ctx.plan.train_idx[:n_used]]
        reference = float(-np.asarray(model.log_prob(xs), np.float64).mean() / dim)
        sigma = None
        extra["reference_kind"] = "model on training data"  # the generalisation gap; not judged
    if getattr(dataset, "kind", "vector") == "image":
        extra["bits_per_dim"] = value / math.log(2)
        extra["reference_bits_per_dim"] = reference / math.log(2)
    return Measure(value, reference, sigma, extra)


# ============================================================================ Rule 2
def _copy_share(ctx: EvalContext, q: float) -> Measure:
    c = ctx.copies
    rho = c["rho"][q]
    v, r, sigma = ctx.copy_reference.share(c, q)
    n_eff = int(c["n_eff"])
    extra = {
        "n_eff": n_eff,
        "quantile": q,
        "threshold_ratio": rho,
        "mirrored": float(c["gen"].mirrored.mean()) if ctx.mirror is not None else None,
    }
    return Measure(v, r, sigma, {k: x for k, x in extra.items() if x is not None})


def copy_share(ctx: EvalContext) -> Measure:
    """Share of samples nearer their nearest training point (relative to its own nearest neighbour) than
    all but 5% of held-out rows T_A are; reference: the same share of T_B (about 0.05)."""
    return _copy_share(ctx, Q_COPY)


def near_copy_share(ctx: EvalContext) -> Measure:
    """As `copy_share`, at the looser quantile 0.25 (noisy or slightly changed copies)."""
    return _copy_share(ctx, Q_NEAR)


def copy_notes(entry: dict[str, Any]) -> list[str]:
    n_eff = entry.get("n_eff")
    if isinstance(n_eff, int) and n_eff < MIN_N_EFF:
        return [
            f"copy shares not judged: only {n_eff} distinct samples (n_eff < {MIN_N_EFF}; identical samples count "
            "once), too few to tell copying from chance"
        ]
    return []


def ct(ctx: EvalContext) -> Measure:
    part = ctx.cells
    value, _ = M.ct_from_partition(ctx.train, ctx.t_a, ctx.gen, part)
    reference, _ = M.ct_from_partition(ctx.train, ctx.t_a, ctx.t_b, part)
    return Measure(value, reference, None, {"cells": len(part.centers)})


def ct_notes(entry: dict[str, Any]) -> list[str]:
    ct_v, ref = entry.get("value"), entry.get("reference")
    notes = []
    if not _finite(ct_v):
        notes.append("ct not computed: no k-means cell holds more than 20 generated samples (n too small)")
    elif ct_v < -3.0:
        notes.append(
            f"ct = {ct_v:.3g} < -3: samples sit closer to training points than held-out data do (a diagnostic: "
            "collapsed or repeated samples do this too; the verdict rests on the copy shares)"
        )
    elif ct_v > 3.0:
        notes.append(
            f"ct = {ct_v:.3g} > 3: samples lie farther from the training data than held-out data do "
            "(under-fitting; not copying)"
        )
    if _finite(ref) and ref < -3.0:
        notes.append(
            f"the reference ct = {ref:.3g} is itself below -3: the test split holds near-duplicates of "
            "training points, so copying is hard to tell apart"
        )
    return notes


def memorization_rate(ctx: EvalContext) -> Measure:
    nb_g, nb_t = ctx.neighbours
    v = float((nb_g.ratio < M.MEMORIZATION_RATIO).mean())
    r = float((nb_t.ratio < M.MEMORIZATION_RATIO).mean())
    return Measure(v, r, share_sigma(v, ctx.n, r, ctx.n))


def authenticity(ctx: EvalContext) -> Measure:
    nb_g, nb_t = ctx.neighbours
    v = float((nb_g.d1 > ctx.gen_nn_distance).mean())
    r = float(M.authenticity_flags(ctx.train, nb_t).mean())
    return Measure(v, r, share_sigma(v, ctx.n, r, ctx.n))


def closer_to_train_share(ctx: EvalContext) -> Measure:
    v = M.closer_to_train_share(ctx.train, ctx.t_a, ctx.gen, seed=ctx.seed)
    r = M.closer_to_train_share(ctx.train, ctx.t_a, ctx.t_b, seed=ctx.seed)
    return Measure(v, r, share_sigma(v, ctx.n, r, len(ctx.t_b)))


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
