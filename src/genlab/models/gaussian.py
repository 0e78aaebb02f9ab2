"""One multivariate Gaussian with full covariance: the simplest baseline with an exact density."""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.budget import Budget
from genlab.models.base import FitData, GenerativeModel
from genlab.models.params import check_float

__all__ = ["Gaussian"]


class Gaussian(GenerativeModel):
    """N(mean, cov) fitted by maximum likelihood; images are flattened.

    `reg` is added to the covariance diagonal (times its mean variance) so constant pixels do not make it singular.
    """

    name = "gaussian"
    log_prob_kind = "exact"
    conditions = ("labels",)  # one model per class
    per_class = True

    def __init__(self, reg: float = 1e-6, conditional: bool | str = False) -> None:
        self.reg = reg
        self.conditional = conditional

    def _check(self, data: FitData) -> None:
        check_float(self, "reg", low=0.0)

    def _fit(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        x = np.asarray(data.train, dtype=np.float64).reshape(len(data.train), -1)
        self.mean_ = x.mean(0)
        cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
        self._set_cov(cov)

    def _set_cov(self, cov: np.ndarray) -> None:
        d = len(cov)
        self.cov_ = cov + self.reg * max(float(np.trace(cov)) / d, 1e-12) * np.eye(d)
        self.chol_ = np.linalg.cholesky(self.cov_)  # cov = L L^T

    def _sample(self, n: int, seed: int) -> np.ndarray:
        eps = np.random.default_rng(seed).standard_normal((n, len(self.mean_)))
        return self.mean_ + eps @ self.chol_.T

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        from scipy.linalg import solve_triangular

        diff = x.reshape(len(x), -1).astype(np.float64) - self.mean_
        z = solve_triangular(self.chol_, diff.T, lower=True)  # (D, n) whitened
        d = len(self.mean_)
        log_det = 2.0 * np.log(np.diag(self.chol_)).sum()
        return -0.5 * (z**2).sum(0) - 0.5 * (d * np.log(2 * np.pi) + log_det)

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"mean": self.mean_, "cov": self.cov_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.mean_ = arrays["mean"].astype(np.float64)
        self.cov_ = arrays["cov"].astype(np.float64)
        d = int(np.prod(self.shape_))
        if self.mean_.shape != (d,) or self.cov_.shape != (d, d):
            raise ValueError(
                f"mean/cov shapes {self.mean_.shape}/{self.cov_.shape} do not fit data dimension {d}"
            )
        self.chol_ = np.linalg.cholesky(self.cov_)
