"""Tiny stand-in latent models with exact linear encode/decode (PCA), for closed-form checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import NotSupported
from genlab.models.base import FitData, GenerativeModel


class LinearLatent(GenerativeModel):
    """z = ((x - mean) @ W) / scale, x = (z * scale) @ W.T + mean; W: the top `latent` principal axes."""

    name = "linear-standin"

    def __init__(self, latent: int = 2) -> None:
        self.latent = latent

    @property
    def latent_dim(self) -> int | None:
        return self.latent if self.is_fitted else None

    def _fit(self, data: FitData, **_: Any) -> None:
        x = data.train.reshape(len(data.train), -1).astype(np.float64)
        self.mean_ = x.mean(0)
        _, s, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        self.w_ = vt[: self.latent].T  # (D, latent), orthonormal columns
        self.scale_ = s[: self.latent] / np.sqrt(len(x))  # sd of each projection

    def _encode(self, x: np.ndarray) -> np.ndarray:
        return ((x.reshape(len(x), -1) - self.mean_) @ self.w_) / self.scale_

    def _decode(self, z: np.ndarray) -> np.ndarray:
        return (z * self.scale_) @ self.w_.T + self.mean_

    def _sample(self, n: int, seed: int) -> np.ndarray:
        return self._decode(np.random.default_rng(seed).standard_normal((n, self.latent)))


class DecoderOnly(LinearLatent):
    """Like a GAN: a decoder but no encoder."""

    name = "decoder-standin"

    def _encode(self, x: np.ndarray) -> np.ndarray:
        raise NotSupported(f"{self.name} has no encoder")


def vector_data(n: int = 400, d: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) * np.linspace(3.0, 0.5, d)).astype(np.float32)


def image_data(n: int = 120, seed: int = 0) -> np.ndarray:
    """8x8 images: a bright square whose side and position vary, so PCA finds a few strong axes."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 8, 8), np.float32)
    for i in range(n):
        s, r, c = rng.integers(2, 6), rng.integers(0, 3), rng.integers(0, 3)
        x[i, 0, r : r + s, c : c + s] = 1.0
    return x


class CondLinear(LinearLatent):
    """A conditional stand-in with exact linear encode/decode: the condition moves the data by an
    offset, z = PCA(x - offset(c)), x = PCA^-1(z) + offset(c). Labels: the class means; factors: a
    least-squares linear map of the factor row."""

    name = "cond-standin"
    conditions = ("labels", "factors")

    def __init__(self, latent: int = 2, conditional: Any = False) -> None:
        self.latent = latent
        self.conditional = conditional

    def _offset(self, cond: np.ndarray | None, n: int) -> np.ndarray:
        if cond is None:
            return np.zeros((n, len(self.mean_)))
        if self.conditional_ == "labels":
            return self.class_means_[np.asarray(cond, np.int64)]
        f = np.asarray(cond, np.float64)
        return np.c_[f, np.ones(len(f))] @ self.factor_map_

    def _fit(self, data: FitData, **_: Any) -> None:
        x = data.train.reshape(len(data.train), -1).astype(np.float64)
        if self.conditional_ == "labels":
            y = np.asarray(data.cond, np.int64)
            self.class_means_ = np.stack([x[y == k].mean(0) for k in range(self.n_classes_)])
        elif self.conditional_ == "factors":
            f = np.c_[np.asarray(data.cond, np.float64), np.ones(len(x))]
            self.factor_map_ = np.linalg.lstsq(f, x, rcond=None)[0]
        rest = x - (self._offset(data.cond, len(x)) if self.conditional_ else 0.0)
        super()._fit(FitData(rest.astype(np.float32), None, (rest.shape[1],), "vector"))

    def _encode(self, x: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        flat = x.reshape(len(x), -1) - self._offset(cond, len(x))
        return super()._encode(flat)

    def _decode(self, z: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        return super()._decode(z) + self._offset(cond, len(z))

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        z = np.random.default_rng(seed).standard_normal((n, self.latent))
        return self._decode(z, cond)
