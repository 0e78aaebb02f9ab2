"""Gaussian mixture: scikit-learn's GaussianMixture for fitting and densities; our own seeded sampler."""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.budget import Budget
from genlab.errors import GenlabError
from genlab.models.base import FitData, GenerativeModel
from genlab.models.params import check_choice, check_float, check_int

__all__ = ["GMM"]

_COV_TYPES = ("full", "tied", "diag", "spherical")


class GMM(GenerativeModel):
    """Mixture of `n_components` Gaussians fitted by EM (scikit-learn). Images are flattened.

    Sampling draws from the fitted parameters with the given seed (scikit-learn's own `sample`
    uses the estimator's stored random state instead).
    """

    name = "gmm"
    log_prob_kind = "exact"
    conditions = ("labels",)  # one model per class
    per_class = True

    def __init__(
        self,
        n_components: int = 10,
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
        max_iter: int = 200,
        n_init: int = 1,
        conditional: bool | str = False,
    ) -> None:
        self.conditional = conditional
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init

    def _check(self, data: FitData) -> None:
        check_int(self, "n_components")
        check_choice(self, "covariance_type", _COV_TYPES)
        check_float(self, "reg_covar", low=0.0)
        check_int(self, "max_iter")
        check_int(self, "n_init")
        if self.n_components > len(data.train):
            raise GenlabError(
                f"gmm: n_components={self.n_components} exceeds the {len(data.train)} training observations"
            )

    def _estimator(self, seed: int = 0):
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(
            n_components=int(self.n_components),
            covariance_type=self.covariance_type,
            reg_covar=float(self.reg_covar),
            max_iter=int(self.max_iter),
            n_init=int(self.n_init),
            random_state=seed,
        )

    def _fit(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        x = np.asarray(data.train, dtype=np.float64).reshape(len(data.train), -1)
        if int(self.n_components) > len(x):
            raise GenlabError(
                f"gmm: n_components={self.n_components} exceeds the {len(x)} training observations"
            )
        self.gm_ = self._estimator(seed).fit(x)
        self._cache_cholesky()

    def _cache_cholesky(self) -> None:
        """Per-component square roots of the covariances, for sampling."""
        cov, t = self.gm_.covariances_, self.covariance_type
        if t == "full":
            self.sqrt_cov_ = np.linalg.cholesky(cov)  # (K, D, D)
        elif t == "tied":
            self.sqrt_cov_ = np.linalg.cholesky(cov)  # (D, D)
        else:
            self.sqrt_cov_ = np.sqrt(cov)  # diag: (K, D); spherical: (K,)

    def _sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        gm = self.gm_
        k = rng.choice(len(gm.weights_), size=n, p=gm.weights_ / gm.weights_.sum())
        eps = rng.standard_normal((n, gm.means_.shape[1]))
        t = self.covariance_type
        if t == "full":
            noise = np.einsum("nij,nj->ni", self.sqrt_cov_[k], eps)
        elif t == "tied":
            noise = eps @ self.sqrt_cov_.T
        elif t == "diag":
            noise = eps * self.sqrt_cov_[k]
        else:
            noise = eps * self.sqrt_cov_[k][:, None]
        return gm.means_[k] + noise

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        return self.gm_.score_samples(x.reshape(len(x), -1).astype(np.float64))

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        gm = self.gm_
        arrays = {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_}
        meta = {
            "converged": bool(gm.converged_),
            "n_iter": int(gm.n_iter_),
            "lower_bound": float(gm.lower_bound_),
        }
        return arrays, meta

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

        gm = self._estimator()
        gm.weights_ = arrays["weights"].astype(np.float64)
        gm.means_ = arrays["means"].astype(np.float64)
        gm.covariances_ = arrays["covariances"].astype(np.float64)
        k, d = gm.means_.shape
        if k != int(self.n_components) or d != int(np.prod(self.shape_)) or gm.weights_.shape != (k,):
            raise ValueError(f"mixture arrays (K={k}, D={d}) do not match n_components/shape")
        gm.n_features_in_ = d
        gm.precisions_cholesky_ = _compute_precision_cholesky(gm.covariances_, self.covariance_type)
        gm.converged_, gm.n_iter_, gm.lower_bound_ = meta["converged"], meta["n_iter"], meta["lower_bound"]
        self.gm_ = gm
        self._cache_cholesky()
