"""Stand-in label-conditional models for the per-class judge: real held-out images of the asked class,
with knobs that break them in known ways. They follow only the public contract the judge relies on
(`conditional_ == "labels"`, `class_names_`, `n_classes_`, `shape_`, `is_fitted`,
`sample(n, *, seed=None, labels=None)`), so the tests do not depend on any family."""

from __future__ import annotations

from typing import Any

import numpy as np


class ResampleConditional:
    """Draws held-out test observations of the class asked for (a "perfect" conditional sampler).

    label_noise: share of samples taken from a random class instead. ignore_labels: every sample from
    a random class. black_class: that class's samples are all-zero images. copy_class: that class's
    samples are its training observations (copies).
    """

    name = "resample-standin"
    conditional_ = "labels"

    def __init__(
        self,
        dataset: Any,
        *,
        label_noise: float = 0.0,
        ignore_labels: bool = False,
        black_class: int | None = None,
        copy_class: int | None = None,
    ) -> None:
        self.pool, self.pool_labels = np.asarray(dataset.test), np.asarray(dataset.test_labels)
        self.train, self.train_labels = np.asarray(dataset.train), np.asarray(dataset.train_labels)
        self.class_names_ = list(dataset.class_names)
        self.n_classes_ = len(self.class_names_)
        self.shape_ = tuple(dataset.shape)
        self.is_fitted = True
        self.label_noise, self.ignore_labels = label_noise, ignore_labels
        self.black_class, self.copy_class = black_class, copy_class
        self.calls: list[dict[str, Any]] = []

    def _labels(self, n: int, labels: Any, rng: np.random.Generator) -> np.ndarray:
        if labels is None:
            freq = np.bincount(self.train_labels, minlength=self.n_classes_) / len(self.train_labels)
            return rng.choice(self.n_classes_, n, p=freq)
        if isinstance(labels, str):
            return np.full(n, self.class_names_.index(labels))
        y = np.asarray(labels, np.int64)
        return np.full(n, int(y)) if y.ndim == 0 else y

    def _from(
        self, pool: np.ndarray, pool_labels: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        out = np.empty((len(y), *self.shape_), np.float32)
        for c in np.unique(y):
            where = np.flatnonzero(y == c)
            src = np.flatnonzero(pool_labels == c)
            # every image once before any twice: duplicates would shrink recall like a real model's would
            reps = -(-len(where) // len(src))
            pick = np.concatenate([rng.permutation(src) for _ in range(reps)])[: len(where)]
            out[where] = pool[pick]
        return out

    def sample(self, n: int, *, seed: int | None = None, labels: Any = None) -> np.ndarray:
        rng = np.random.default_rng(seed)
        y = self._labels(int(n), labels, rng)
        self.calls.append({"n": int(n), "labels": None if labels is None else np.array(y)})
        drawn = y.copy()
        noisy = rng.random(len(y)) < (1.0 if self.ignore_labels else self.label_noise)
        drawn[noisy] = rng.integers(0, self.n_classes_, int(noisy.sum()))
        x = self._from(self.pool, self.pool_labels, drawn, rng)
        if self.copy_class is not None:
            mask = y == self.copy_class
            x[mask] = self._from(self.train, self.train_labels, y[mask], rng)
        if self.black_class is not None:
            x[y == self.black_class] = 0.0
        return x


class GuidedConditional(ResampleConditional):
    """A stand-in for classifier-free guidance: the higher the scale, the fewer samples of a wrong class
    (label noise 0.8 / (1 + g)) and the narrower each class (only the share 1 / (1 + g) of its images
    nearest the class mean): label accuracy rises with guidance while recall falls. `black_class` as above;
    the other knobs are ignored."""

    def sample(
        self, n: int, *, seed: int | None = None, labels: Any = None, guidance: float = 1.0
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        y = self._labels(int(n), labels, rng)
        g = float(guidance)
        drawn = y.copy()
        noisy = rng.random(len(y)) < 0.8 / (1.0 + g)
        drawn[noisy] = rng.integers(0, self.n_classes_, int(noisy.sum()))
        flat = self.pool.reshape(len(self.pool), -1)
        keep = np.zeros(len(self.pool), bool)
        for c in range(self.n_classes_):
            idx = np.flatnonzero(self.pool_labels == c)
            d = np.linalg.norm(flat[idx] - flat[idx].mean(0), axis=1)
            keep[idx[np.argsort(d)[: max(2, int(np.ceil(len(idx) / (1.0 + g))))]]] = True
        x = self._from(self.pool[keep], self.pool_labels[keep], drawn, rng)
        if self.black_class is not None:
            x[y == self.black_class] = 0.0
        return x
