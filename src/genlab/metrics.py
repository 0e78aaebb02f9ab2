"""The evaluation metrics as plain functions on feature arrays (N, D); see `genlab.judge.metrics`.

Example: `frechet_distance(real_features, fake_features)`, `precision_recall(real, fake, k=3)`.
"""

from __future__ import annotations

from genlab.judge.metrics import (
    authenticity,
    c2st,
    closer_to_train_share,
    ct_test,
    density_coverage,
    frechet_distance,
    frechet_distance_from_moments,
    kid,
    memorization_rate,
    precision_recall,
)

__all__ = [
    "authenticity",
    "c2st",
    "closer_to_train_share",
    "ct_test",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_moments",
    "kid",
    "memorization_rate",
    "precision_recall",
]
