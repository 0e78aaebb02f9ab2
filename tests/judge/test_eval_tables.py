"""Table metrics: the column-shape and pair-trend scores agree with the `sdmetrics` package, Gower's
distance with a brute-force reference, and the evaluation of a table catches a copier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genlab
from genlab.data.table import codec_from_frame
from genlab.judge import tables as T


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, n)
    f = pd.DataFrame(
        {
            "size": np.round(size, 2),
            "price": np.round(50 + 4 * size + rng.normal(0, 5, n)).astype(np.int64),
            "shape": np.where(size + rng.normal(0, 2, n) > 10, "round", "square").astype(object),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]).astype(object),
        }
    )
    f.loc[rng.choice(n, 5, replace=False), "size"] = np.nan
    f.loc[rng.choice(n, 4, replace=False), "colour"] = np.nan
    return f


def test_scores_agree_with_sdmetrics() -> None:
    sdmetrics = pytest.importorskip("sdmetrics")
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement

    real, synth = _frame(300, 0), _frame(200, 1)
    codec, _ = codec_from_frame(real)
    cols = T.column_scores(real, synth, codec)
    assert cols["size"] == pytest.approx(KSComplement.compute(real["size"], synth["size"]), abs=1e-12)
    assert cols["price"] == pytest.approx(KSComplement.compute(real["price"], synth["price"]), abs=1e-12)
    for c in ("shape", "colour"):
        assert cols[c] == pytest.approx(TVComplement.compute(real[c], synth[c]), abs=1e-6)
    pairs = T.pair_scores(real, synth, codec)
    assert pairs["size & price"] == pytest.approx(
        CorrelationSimilarity.compute(real[["size", "price"]], synth[["size", "price"]]), abs=1e-12
    )
    numeric = {"size", "price"}
    for a, b in [("size", "shape"), ("price", "colour"), ("shape", "colour")]:
        expected = ContingencySimilarity.compute(
            real[[a, b]], synth[[a, b]], continuous_column_names=[c for c in (a, b) if c in numeric] or None,
            num_discrete_bins=10,
        )  # fmt: skip
        assert pairs[f"{a} & {b}"] == pytest.approx(expected, abs=1e-9), (a, b, sdmetrics.__version__)


def test_gower_matches_brute_force() -> None:
    real, query = _frame(80, 2), _frame(15, 3)
    codec, _ = codec_from_frame(real)
    d, i = T.gower_nearest(query, real, codec, k=2)

    def gower(a: pd.Series, b: pd.Series) -> float:
        total = 0.0
        for c in codec.columns:
            x, y = a[c.name], b[c.name]
            if pd.isna(x) or pd.isna(y):
                total += 0.0 if pd.isna(x) and pd.isna(y) else 1.0
            elif c.kind == "categorical":
                total += float(x != y)
            else:
                total += abs(float(x) - float(y)) / (c.high - c.low)
        return total / len(codec.columns)

    for q in range(len(query)):
        ref = np.array([gower(query.iloc[q], real.iloc[r]) for r in range(len(real))])
        np.testing.assert_allclose(d[q], np.sort(ref)[:2], atol=1e-12)
        assert ref[i[q, 0]] == pytest.approx(d[q, 0])


def test_evaluation_of_a_table_catches_copies() -> None:
    """Samples that are training rows fail Rule 2 (DCR 0, exact copies); fresh rows from the same
    distribution pass both rules."""
    ds = genlab.load_dataset(_frame(1200, 4), test_fraction=0.25)
    copies = ds.table.train.iloc[:200].reset_index(drop=True)
    ev = genlab.evaluate(copies, ds, n=200)
    assert ev.verdict["rule2"] == "fail"
    assert ev.rule2["exact_copies"]["value"] == 1.0 and ev.rule2["dcr"]["value"] == 0.0
    assert ev.rule2["dcr"]["closest"][0]["distance"] == 0.0
    fresh = _frame(200, 5)
    ev = genlab.evaluate(fresh, ds, n=200)
    assert ev.passed, ev.verdict["reasons"]
    for name in ("column_shapes", "pair_trends", "tstr"):
        assert name in ev.rule1
    assert ev.rule1["tstr"]["target"] == "shape"
