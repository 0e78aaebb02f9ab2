"""Metrics of tables: the raw columns judged as SDMetrics judges them, and beyond, each beside its
held-out real reference (see `evaluation.py` for S, T and the rules).

Rule 1 (fidelity):
    column_shapes   mean over columns of the KS complement (numbers: 1 - the two-sample
                    Kolmogorov-Smirnov statistic) or the total-variation complement (categories:
                    1 - half the L1 distance of the level frequencies); missing cells are dropped,
                    as SDMetrics' `KSComplement` / `TVComplement` do
    pair_trends     mean over column pairs of the correlation similarity (two numeric columns:
                    1 - |Pearson r_real - r_synthetic| / 2, rows with both present) or the contingency
                    similarity (any other pair: 1 - half the L1 distance of the joint frequencies,
                    numbers cut into 10 equal-width bins of the real column, missing cells a level of
                    their own), as SDMetrics' `CorrelationSimilarity` / `ContingencySimilarity` and its
                    quality report's discretisation do
    tstr            train on synthetic, test on real: a scikit-learn gradient-boosting model learns the
                    target column (`codec.target`) from the other columns of G and is scored on T
                    (accuracy for a category, R^2 for a number), beside the same model trained on S
Rule 2 (novelty):
    dcr             median distance to the closest training record, by Gower's distance (numbers:
                    |a - b| / range; categories: 0 or 1; a missing cell is 0 from another missing and 1
                    from a value; averaged over columns), for the samples beside held-out rows
    exact_copies    share of samples equal to a training row in every column, beside held-out rows

Standard errors come from 8 bootstrap resamples of the rows (the FD's approach): the scores are means
of many dependent terms with no textbook variance. `tests/judge/test_eval_tables.py` checks the column
and pair scores against the `sdmetrics` package to 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from genlab.judge.measures import EvalContext, Measure, share_sigma

__all__ = [
    "BOOTSTRAP",
    "DCR_MAX",
    "TableFrames",
    "column_scores",
    "column_shapes",
    "contingency_similarity",
    "correlation_similarity",
    "dcr",
    "exact_copies",
    "gower_nearest",
    "ks_complement",
    "pair_scores",
    "pair_trends",
    "tstr",
    "tv_complement",
]

BOOTSTRAP = 8
DCR_MAX = 2000  # rows of G (and of T) whose closest training record is searched
N_BINS = 10


@dataclass
class TableFrames:
    """The raw tables of one evaluation: all training and test rows, and the n generated ones."""

    codec: Any
    train: Any  # pandas DataFrames
    test: Any
    gen: Any

    def s(self, ctx: EvalContext) -> Any:
        return self.train.iloc[ctx.plan.train_idx].reset_index(drop=True)

    def t(self, ctx: EvalContext) -> Any:
        return self.test.iloc[ctx.plan.test_idx].reset_index(drop=True)


# ============================================================================ plain scores
def ks_complement(real: Any, synth: Any) -> float:
    """1 - the two-sample KS statistic of two numeric columns, missing cells dropped."""
    from scipy.stats import ks_2samp

    a, b = _present(real).astype(np.float64), _present(synth).astype(np.float64)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(1.0 - ks_2samp(np.round(a, 14), np.round(b, 14)).statistic)


def tv_complement(real: Any, synth: Any) -> float:
    """1 - half the L1 distance between the level frequencies of two categorical columns (missing dropped)."""
    import pandas as pd

    p = pd.Series(_present(real)).value_counts(normalize=True)
    q = pd.Series(_present(synth)).value_counts(normalize=True)
    if len(p) == 0 or len(q) == 0:
        return float("nan")
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def correlation_similarity(real: Any, synth: Any, a: str, b: str) -> float:
    """1 - |Pearson r of (a, b) in real - the same in synth| / 2, over rows where both are present."""
    r = [_pearson(f[[a, b]].dropna().to_numpy(dtype=np.float64)) for f in (real, synth)]
    return float(1.0 - abs(r[0] - r[1]) / 2) if all(map(math.isfinite, r)) else float("nan")


def contingency_similarity(real: Any, synth: Any, a: str, b: str, numeric: set[str]) -> float:
    """1 - half the L1 distance of the joint frequencies of (a, b); numeric columns binned on the real data."""
    import pandas as pd

    cols = []
    for c in (a, b):
        if c in numeric:
            edges = np.histogram_bin_edges(real[c].dropna().to_numpy(dtype=np.float64), bins=N_BINS)
            edges[0], edges[-1] = -np.inf, np.inf
            cols.append(
                [np.digitize(f[c].to_numpy(dtype=np.float64, na_value=np.nan), edges) for f in (real, synth)]
            )
        else:
            cols.append([f[c].astype(object).where(f[c].notna(), "\0NA").to_numpy() for f in (real, synth)])
    p = pd.Series(list(zip(cols[0][0], cols[1][0], strict=True))).value_counts(normalize=True)
    q = pd.Series(list(zip(cols[0][1], cols[1][1], strict=True))).value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def column_scores(real: Any, synth: Any, codec: Any) -> dict[str, float]:
    """{column: KS or TV complement}."""
    return {
        c.name: (tv_complement if c.kind == "categorical" else ks_complement)(real[c.name], synth[c.name])
        for c in codec.columns
    }


def pair_scores(real: Any, synth: Any, codec: Any) -> dict[str, float]:
    """{"a & b": correlation similarity (two numeric columns) or contingency similarity (otherwise)}."""
    numeric = {c.name for c in codec.columns if c.kind != "categorical"}
    out = {}
    for a, b in combinations(codec.names, 2):
        if a in numeric and b in numeric:
            out[f"{a} & {b}"] = correlation_similarity(real, synth, a, b)
        else:
            out[f"{a} & {b}"] = contingency_similarity(real, synth, a, b, numeric)
    return out


def _present(s: Any) -> np.ndarray:
    return s[s.notna()].to_numpy()


def _pearson(xy: np.ndarray) -> float:
    if len(xy) < 2 or np.ptp(xy[:, 0]) == 0 or np.ptp(xy[:, 1]) == 0:
        return float("nan")
    return float(np.corrcoef(xy[:, 0], xy[:, 1])[0, 1])


def _mean(scores: dict[str, float]) -> float:
    v = [s for s in scores.values() if math.isfinite(s)]
    return float(np.mean(v)) if v else float("nan")


# ============================================================================ Gower's distance
def _gower_parts(frame: Any, codec: Any) -> tuple[np.ndarray, np.ndarray]:
    """(numbers scaled by their range, NaN where missing (n, Dn); category codes, -1 where missing (n, Dc))."""
    import pandas as pd

    num = [c for c in codec.columns if c.kind != "categorical"]
    cat = [c for c in codec.columns if c.kind == "categorical"]
    x = np.stack(
        [frame[c.name].to_numpy(dtype=np.float64, na_value=np.nan) / max(c.high - c.low, 1e-12) for c in num], 1
    ) if num else np.zeros((len(frame), 0))  # fmt: skip
    codes = np.stack(
        [pd.Categorical(frame[c.name], categories=c.categories).codes.astype(np.int64) for c in cat], 1
    ) if cat else np.zeros((len(frame), 0), np.int64)  # fmt: skip
    return x, codes


def gower_nearest(
    query: Any, ref: Any, codec: Any, *, k: int = 1, exclude_self: bool = False, block: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Gower distances (n, k) and indices (n, k) of each query row's k nearest rows of `ref` (frames)."""
    import torch

    qx, qc = (torch.from_numpy(a) for a in _gower_parts(query, codec))
    rx, rc = (torch.from_numpy(a) for a in _gower_parts(ref, codec))
    n_cols = qx.shape[1] + qc.shape[1]
    dist, idx = np.empty((len(qx), k)), np.empty((len(qx), k), np.int64)
    for s in range(0, len(qx), block):
        d = torch.zeros((min(block, len(qx) - s), len(rx)), dtype=torch.float64)
        for j in range(qx.shape[1]):
            a, b = qx[s : s + block, j, None], rx[None, :, j]
            dj = (a - b).abs()
            both, one = a.isnan() & b.isnan(), a.isnan() ^ b.isnan()
            d += torch.where(both, 0.0, torch.where(one, 1.0, dj))
        for j in range(qc.shape[1]):
            d += (qc[s : s + block, j, None] != rc[None, :, j]).double()
        if exclude_self:
            rows = torch.arange(len(d))
            d[rows, rows + s] = float("inf")
        v, i = torch.topk(d, k, dim=1, largest=False)
        dist[s : s + len(d)], idx[s : s + len(d)] = v.numpy() / max(n_cols, 1), i.numpy()
    return dist, idx


def _row_hashes(frame: Any) -> np.ndarray:
    import pandas as pd

    return pd.util.hash_pandas_object(frame.astype(object).where(frame.notna(), None), index=False).to_numpy()


# ============================================================================ measures
def _bootstrap_std(score: Any, real: Any, synth: Any, seed: int) -> float:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    vals = [score(real, synth.iloc[rng.integers(0, len(synth), len(synth))].reset_index(drop=True))
            for _ in range(BOOTSTRAP)]  # fmt: skip
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def _rule1_score(ctx: EvalContext, scores: Any) -> Measure | None:
    f = ctx.frames
    if f is None:
        return None
    s, t = f.s(ctx), f.t(ctx)
    codec = f.codec

    def score(real: Any, synth: Any) -> float:
        return _mean(scores(real, synth, codec))

    per_value, per_ref = scores(s, f.gen, codec), scores(s, t, codec)
    sigma = math.hypot(_bootstrap_std(score, s, f.gen, ctx.seed), _bootstrap_std(score, s, t, ctx.seed))
    return Measure(_mean(per_value), _mean(per_ref), sigma,
                   {"columns": {k: [per_value[k], per_ref[k]] for k in per_value}})  # fmt: skip


def column_shapes(ctx: EvalContext) -> Measure | None:
    return _rule1_score(ctx, column_scores)


def pair_trends(ctx: EvalContext) -> Measure | None:
    if ctx.frames is not None and len(ctx.frames.codec.columns) < 2:
        return None
    return _rule1_score(ctx, pair_scores)


def _xy(frame: Any, codec: Any) -> tuple[np.ndarray, np.ndarray]:
    x = codec.encode(frame)
    span = codec.span(codec.target)
    # a category's code; a number's standardised value (a missing one counts as the mean, 0)
    y = x[:, span].argmax(1) if codec.column(codec.target).kind == "categorical" else x[:, span.start]
    return np.delete(x, np.arange(span.start, span.stop), axis=1), y


def _fit_predict(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, classify: bool, seed: int) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if classify and len(np.unique(y)) < 2:
        return np.full(len(x_test), y[0])
    est = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        max_iter=100, early_stopping=False, random_state=seed
    )
    return est.fit(x, y).predict(x_test)


def tstr(ctx: EvalContext) -> Measure | None:
    f = ctx.frames
    if f is None or f.codec.target is None or len(f.codec.columns) < 2:
        return None
    codec = f.codec
    classify = codec.column(codec.target).kind == "categorical"
    xg, yg = _xy(f.gen, codec)
    xs, ys = _xy(f.s(ctx), codec)
    xt, yt = _xy(f.t(ctx), codec)
    pg, ps = _fit_predict(xg, yg, xt, classify, ctx.seed), _fit_predict(xs, ys, xt, classify, ctx.seed)

    def score(pred: np.ndarray, idx: np.ndarray) -> float:
        if classify:
            return float((pred[idx] == yt[idx]).mean())
        var = float(((yt[idx] - yt[idx].mean()) ** 2).mean())
        return 1.0 - float(((pred[idx] - yt[idx]) ** 2).mean()) / max(var, 1e-12)

    every = np.arange(len(yt))
    value, reference = score(pg, every), score(ps, every)
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 18]))
    diffs = []
    for _ in range(BOOTSTRAP):  # paired over the test rows: both models are scored on the same rows
        idx = rng.integers(0, len(yt), len(yt))
        diffs.append(score(pg, idx) - score(ps, idx))
    sigma = float(np.std(diffs, ddof=1))
    return Measure(
        value, reference, sigma, {"target": codec.target, "score": "accuracy" if classify else "R^2"}
    )


def dcr(ctx: EvalContext) -> Measure | None:
    f = ctx.frames
    if f is None:
        return None
    gen, t = f.gen.iloc[:DCR_MAX], f.t(ctx).iloc[:DCR_MAX]
    d_gen, i_gen = gower_nearest(gen, f.train, f.codec)
    d_ref, _ = gower_nearest(t, f.train, f.codec)
    d_gen, d_ref = d_gen[:, 0], d_ref[:, 0]
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 19]))

    def boot(d: np.ndarray) -> float:
        return float(
            np.std([np.median(d[rng.integers(0, len(d), len(d))]) for _ in range(BOOTSTRAP)], ddof=1)
        )

    order = np.argsort(d_gen, kind="stable")[:10]
    closest_train = i_gen[order, 0]
    own, _ = gower_nearest(f.train.iloc[closest_train], f.train, f.codec, k=2)
    # the nearest is the training row itself (distance 0) unless a duplicate came first: take the other
    own_nn = own[:, 1]
    closest = [
        {
            "sample_index": int(i),
            "train_index": int(j),
            "distance": float(d_gen[i]),
            "train_nn_distance": float(o),
        }
        for i, j, o in zip(order, closest_train, own_nn, strict=True)
    ]
    extra = {
        "distance": "gower",
        "n": len(d_gen),
        "share_zero": float((d_gen == 0).mean()),
        "reference_share_zero": float((d_ref == 0).mean()),
        "closest": closest,
    }
    return Measure(
        float(np.median(d_gen)), float(np.median(d_ref)), math.hypot(boot(d_gen), boot(d_ref)), extra
    )


def exact_copies(ctx: EvalContext) -> Measure | None:
    f = ctx.frames
    if f is None:
        return None
    train = set(_row_hashes(f.train).tolist())
    v = float(np.isin(_row_hashes(f.gen), list(train)).mean())
    r = float(np.isin(_row_hashes(f.t(ctx)), list(train)).mean())
    return Measure(v, r, share_sigma(v, len(f.gen), r, len(ctx.t)))
