"""Kernel density estimate with a Gaussian kernel (scikit-learn KernelDensity), optionally in a PCA space.

Vectors are standardised per column first (the kernel is isotropic, columns may have other units); the
Jacobian is counted, so `log_prob` is a density in the data's own units. Images are used as they are.

With `pca=k` (as in scikit-learn's digits example) the density is a proper one in data space:
KDE on the first k principal coordinates times an isotropic Gaussian on the discarded directions,
whose variance is the mean discarded eigenvalue (the probabilistic-PCA estimate). `sample` draws from
that same density, so samples carry a little residual noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.budget import Budget
from genlab.errors import GenlabError
from genlab.models.base import FitData, GenerativeModel
from genlab.models.params import check_float, check_int

__all__ = ["KDE"]


class KDE(GenerativeModel):
    """Gaussian KDE. `bandwidth="cv"` picks it by 5-fold cross-validated likelihood over a log grid."""

    name = "kde"
    log_prob_kind = "exact"
    conditions = ("labels",)  # one model per class
    per_class = True

    def __init__(
        self,
        bandwidth: float | str = "cv",
        pca: int | None = None,
        cv_max_points: int = 2000,
        conditional: bool | str = False,
    ) -> None:
        self.conditional = conditional
        self.bandwidth = bandwidth
        self.pca = pca
        self.cv_max_points = cv_max_points

    def _check(self, data: FitData) -> None:
        if self.bandwidth != "cv":
            check_float(self, "bandwidth", low=0.0, strict=True)
        check_int(self, "pca", none=True, maximum=max(1, data.dim - 1))
        check_int(self, "cv_max_points", minimum=10)

    # ------------------------------------------------------------------ transforms
    def _to_coords(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Data (n, D) -> (coordinates for the KDE (n, k), squared residual norms (n,))."""
        z = (x - self.center_) / self.scale_
        if self.components_ is None:
            return z, np.zeros(len(z))
        c = z @ self.components_.T
        resid = np.maximum((z**2).sum(1) - (c**2).sum(1), 0.0)
        return c, resid

    # ------------------------------------------------------------------ fit
    def _fit(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        from sklearn.model_selection import GridSearchCV
        from sklearn.neighbors import KernelDensity

        x = np.asarray(data.train, dtype=np.float64).reshape(len(data.train), -1)
        d = x.shape[1]
        self.center_ = x.mean(0)
        if data.kind != "image":  # vectors and encoded tables
            s = x.std(0)
            self.scale_ = np.where(s > 0, s, 1.0)
        else:
            self.scale_ = np.ones(d)
        z = (x - self.center_) / self.scale_
        self.components_, self.resid_var_ = None, 0.0
        if self.pca is not None:
            k = int(self.pca)
            if not 1 <= k < d:
                raise GenlabError(
                    f"kde: pca must be between 1 and {d - 1} for {d}-dimensional data, got {self.pca}"
                )
            _, sv, vt = np.linalg.svd(z, full_matrices=False)
            eig = sv**2 / len(z)
            self.components_ = vt[:k]
            self.resid_var_ = max(float(eig[k:].sum() / (d - k)), 1e-12)
        coords, _ = self._to_coords(x)
        if self.bandwidth == "cv":
            rng = np.random.default_rng(seed)
            sub = coords[rng.permutation(len(coords))[: int(self.cv_max_points)]]
            scale = float(np.sqrt(sub.var(0).mean()))
            grid = scale * np.logspace(-2, 0, 21)
            search = GridSearchCV(KernelDensity(kernel="gaussian"), {"bandwidth": grid}, cv=5)
            search.fit(sub)
            bw = float(search.best_params_["bandwidth"])
        else:
            bw = float(self.bandwidth)
            if not bw > 0:
                raise GenlabError(f"kde: bandwidth must be positive or 'cv', got {self.bandwidth!r}")
        self.bandwidth_ = bw
        self.points_ = coords
        self.kde_ = KernelDensity(kernel="gaussian", bandwidth=bw).fit(coords)

    # ------------------------------------------------------------------ density and sampling
    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        coords, resid = self._to_coords(x.reshape(len(x), -1).astype(np.float64))
        lp = self.kde_.score_samples(coords)
        if self.components_ is not None:
            m = len(self.center_) - len(self.components_)
            lp = lp - 0.5 * resid / self.resid_var_ - 0.5 * m * np.log(2 * np.pi * self.resid_var_)
        return lp - np.log(self.scale_).sum()

    def _sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        c = self.points_[rng.integers(0, len(self.points_), n)]
        c = c + self.bandwidth_ * rng.standard_normal(c.shape)
        if self.components_ is None:
            z = c
        else:
            eps = rng.standard_normal((n, len(self.center_)))
            eps -= (eps @ self.components_.T) @ self.components_  # keep only discarded directions
            z = c @ self.components_ + np.sqrt(self.resid_var_) * eps
        return z * self.scale_ + self.center_

    # ------------------------------------------------------------------ state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"center": self.center_, "scale": self.scale_, "points": self.points_}
        if self.components_ is not None:
            arrays["components"] = self.components_
        return arrays, {"bandwidth": self.bandwidth_, "resid_var": self.resid_var_}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from sklearn.neighbors import KernelDensity

        self.center_ = arrays["center"].astype(np.float64)
        self.scale_ = arrays["scale"].astype(np.float64)
        self.points_ = arrays["points"].astype(np.float64)
        self.components_ = arrays["components"].astype(np.float64) if "components" in arrays else None
        if (self.pca is None) != (self.components_ is None):
            raise ValueError("pca setting and stored components disagree")
        d = int(np.prod(self.shape_))
        k = d if self.components_ is None else len(self.components_)
        if self.center_.shape != (d,) or self.points_.ndim != 2 or self.points_.shape[1] != k:
            raise ValueError("stored arrays do not fit the data shape")
        self.bandwidth_ = float(meta["bandwidth"])
        self.resid_var_ = float(meta["resid_var"])
        self.kde_ = KernelDensity(kernel="gaussian", bandwidth=self.bandwidth_).fit(self.points_)
