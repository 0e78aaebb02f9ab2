"""Gaussian copula: each column's own distribution, joined by one correlation matrix of normal scores.

The baseline SDV recommends trying first on a table (its `GaussianCopulaSynthesizer`). Every variable is
mapped to a standard normal score through its marginal CDF, the scores' correlation matrix is
estimated, and sampling runs backwards: correlated normal draws -> uniforms -> each marginal's inverse.

- numeric columns: the empirical marginal, kept as `n_quantiles` quantiles and interpolated linearly
  (so samples stay within the observed range and the model never stores training rows);
- categorical columns (a one-hot block of an encoded table) and missing-value indicators: each level
  owns an interval of [0, 1] as wide as its frequency (the encoding of SDV's `UniformEncoder`); a
  training value's score is drawn uniformly inside its level's interval, so the correlations see
  the levels' order without inventing a distance between them.

Plain numeric vectors are all numeric columns. The correlation matrix is shrunk towards the identity
by `shrinkage` so it stays positive definite. There is no `log_prob` (the empirical marginals have
no density). Fitting is one pass (seconds on diamonds' 43,000 rows).

Defaults: 1,000 quantiles (scikit-learn's `QuantileTransformer` default, and what TabDDPM uses) and
`shrinkage` 1e-3 (the smallest that kept diamonds' near-collinear carat/x/y/z correlation matrix
factorable in our runs). Their scores on penguins and diamonds beside SDV's are in docs/tables.md;
they were not tuned further.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.budget import Budget
from genlab.models.base import FitData, GenerativeModel
from genlab.models.params import check_float, check_int

__all__ = ["GaussianCopula"]


class GaussianCopula(GenerativeModel):
    """Gaussian copula with empirical marginals (numeric) and frequency intervals (categories)."""

    name = "copula"
    log_prob_kind = None
    conditions = ("labels",)  # one model per class
    per_class = True

    def __init__(
        self, n_quantiles: int = 1000, shrinkage: float = 1e-3, conditional: bool | str = False
    ) -> None:
        self.conditional = conditional
        self.n_quantiles = n_quantiles
        self.shrinkage = shrinkage

    def _check(self, data: FitData) -> None:
        check_int(self, "n_quantiles", minimum=2)
        check_float(self, "shrinkage", low=0.0, high=1.0)

    # ------------------------------------------------------------------ variables
    def _variables(self, x: np.ndarray) -> list[tuple[str, slice, np.ndarray]]:
        """(kind, encoded columns, parameters): numeric -> quantiles (Q,); discrete -> level shares (K,)."""
        out = []
        levels = np.linspace(0.0, 1.0, min(int(self.n_quantiles), len(x)))
        indicator = {b.name.removesuffix("=NA"): b.start for b in self.blocks_ if b.kind == "binary"}
        for b in self.blocks_:
            cols = slice(b.start, b.stop)
            if b.kind == "numeric":  # quantiles of the observed values (a missing cell's filler is not one)
                v = x[:, b.start]
                if b.name in indicator and (x[:, indicator[b.name]] < 0.5).any():
                    v = v[x[:, indicator[b.name]] < 0.5]
                out.append(("numeric", cols, np.quantile(v, levels)))
            else:
                codes = _codes(x[:, cols], b.kind)
                k = 2 if b.kind == "binary" else b.width
                out.append(("discrete", cols, np.bincount(codes, minlength=k) / len(codes)))
        return out

    def _fit(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        from scipy.special import ndtri

        x = data.train.reshape(len(data.train), -1).astype(np.float64)
        self.blocks_ = data.blocks()
        self.kinds_ = [b.kind for b in self.blocks_]
        rng = np.random.default_rng(seed)
        variables = self._variables(x)
        self.params_ = [p for _, _, p in variables]
        n = len(x)
        u = np.empty((n, len(variables)))
        for j, (kind, cols, p) in enumerate(variables):
            if kind == "numeric":  # mid-ranks, ties averaged: a score per distinct value
                from scipy.stats import rankdata

                u[:, j] = (rankdata(x[:, cols.start]) - 0.5) / n
            else:
                codes = _codes(x[:, cols], self.kinds_[j])
                lo = np.concatenate([[0.0], np.cumsum(p)[:-1]])
                u[:, j] = lo[codes] + rng.uniform(size=n) * p[codes]
        z = ndtri(np.clip(u, 1e-6, 1 - 1e-6))
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant column (an image's border pixel)
            corr = np.atleast_2d(np.corrcoef(z, rowvar=False)) if len(variables) > 1 else np.ones((1, 1))
        corr = np.nan_to_num(corr, nan=0.0)  # ... is uncorrelated with everything
        np.fill_diagonal(corr, 1.0)
        self.corr_ = (1 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))
        self.chol_ = np.linalg.cholesky(self.corr_)

    def _sample(self, n: int, seed: int) -> np.ndarray:
        from scipy.special import ndtr

        rng = np.random.default_rng(seed)
        u = ndtr(rng.standard_normal((n, len(self.corr_))) @ self.chol_.T)  # (n, V) correlated uniforms
        out = np.zeros((n, int(np.prod(self.shape_))))
        for j, (b, p) in enumerate(zip(self.blocks_, self.params_, strict=True)):
            if b.kind == "numeric":
                out[:, b.start] = np.interp(u[:, j], np.linspace(0.0, 1.0, len(p)), p)
            else:
                codes = np.minimum(np.searchsorted(np.cumsum(p), u[:, j], side="right"), len(p) - 1)
                if b.kind == "binary":
                    out[:, b.start] = codes
                else:
                    out[np.arange(n), b.start + codes] = 1.0
        return out

    # ------------------------------------------------------------------ state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"corr": self.corr_, **{f"param{j}": p for j, p in enumerate(self.params_)}}
        blocks = [[b.name, b.kind, b.start, b.stop] for b in self.blocks_]
        return arrays, {"blocks": blocks}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from genlab.data.table import Block

        self.blocks_ = [Block(str(n), str(k), int(a), int(b)) for n, k, a, b in meta["blocks"]]
        self.kinds_ = [b.kind for b in self.blocks_]
        self.params_ = [arrays[f"param{j}"].astype(np.float64) for j in range(len(self.blocks_))]
        self.corr_ = arrays["corr"].astype(np.float64)
        if self.corr_.shape != (len(self.blocks_),) * 2 or self.blocks_[-1].stop != int(np.prod(self.shape_)):
            raise ValueError("copula arrays do not match the data's columns")
        self.chol_ = np.linalg.cholesky(self.corr_)


def _codes(block: np.ndarray, kind: str) -> np.ndarray:
    """Level codes of a discrete block: a 0/1 indicator column, or the largest entry of a one-hot block."""
    if kind == "binary":
        return (block[:, 0] > 0.5).astype(np.int64)
    return block.argmax(1)
