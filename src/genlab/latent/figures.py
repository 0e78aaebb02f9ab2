"""All latent figures of one fitted model and its data, written to a folder (what `genlab latent` does).

OUT/
  latent_map.png       decoded grid over two latent dimensions (needs latent_dim >= 2)
  latent_scatter.png   encoded test data, coloured by label and by each factor (needs an encoder)
  interpolations.png   slerp paths between pairs of test observations (or prior draws without an encoder)
  latent.json          what was drawn (dims, span, reference) and the factor R^2 where factors are known
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.latent.core import (
    embed,
    factor_r2,
    has_encoder,
    interpolate,
    latent_grid,
    latent_stats,
)
from genlab.latent.plots import plot_interpolations, plot_latent_map, plot_latent_scatter

__all__ = ["LATENT_FILES", "LATENT_JSON", "latent_figures"]

LATENT_JSON = "latent.json"
#: every file `latent_figures` may write
LATENT_FILES = ("latent_map.png", "latent_scatter.png", "interpolations.png", LATENT_JSON)


def _map_dims(stats: dict[str, Any], d: int) -> tuple[int, int]:
    """The two most spread-out latent dimensions of the encoded data (a VAE's active units), else (0, 1)."""
    if stats["source"] != "data" or d == 2:
        return 0, 1
    i, j = np.argsort(-np.asarray(stats["std"]), kind="stable")[:2]
    return int(min(i, j)), int(max(i, j))


def latent_figures(
    model: Any,
    dataset: Any,
    out_dir: str | Path,
    *,
    seed: int = 0,
    grid: int = 15,
    pairs: int = 6,
    steps: int = 10,
    max_encode: int = 2000,
) -> dict[str, Any]:
    """Write the latent figures of `model` on `dataset` (a Dataset) into `out_dir`; returns latent.json.

    `seed` picks the interpolation pairs; `max_encode` caps how many observations are encoded for the
    span, the scatter and the factor R^2 (encoding is slow for diffusion).
    """
    from genlab.fileio import write_json

    encoder = has_encoder(model)  # NotSupported for a family without a latent space, before any write
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = int(model.latent_dim)
    rng = np.random.default_rng(seed)
    summary: dict[str, Any] = {
        "model": model.name,
        "data": getattr(dataset, "name", None),
        "latent_dim": d,
        "has_encoder": encoder,
        "figures": {},
    }

    # the decoded latent map
    stats = latent_stats(model, dataset if encoder else None, max_n=max_encode)
    if d >= 2:
        dims = _map_dims(stats, d)
        span = (
            (float(stats["low"][dims[0]]), float(stats["high"][dims[0]])),
            (float(stats["low"][dims[1]]), float(stats["high"][dims[1]])),
        )
        z, v0, v1 = latent_grid(model, dims=dims, grid=grid, span=span, reference=stats["reference"])
        decoded = model.decode(z)
        plot_latent_map(
            decoded,
            out / "latent_map.png",
            values0=v0,
            values1=v1,
            dims=dims,
            reference=dataset.test[:2000] if dataset.kind != "image" else None,
            title=f"{model.name}: decoded latent map (other dims at the {stats['source']} mean)",
        )
        summary["figures"]["latent_map"] = "latent_map.png"
        summary["map"] = {
            "dims": list(dims),
            "grid": grid,
            "span": [list(span[0]), list(span[1])],
            "span_from": "2nd-98th percentiles of encoded training data"
            if stats["source"] == "data"
            else "+-2 prior standard deviations",
            "order": "row-major; columns: z[dims[0]] ascending left to right; rows: z[dims[1]] ascending top to bottom",
        }

    # the latent scatter of test data, coloured by label and each factor
    if encoder:
        n = min(len(dataset.test), max_encode)
        z_test = embed(model, dataset.test[:n])
        colors: dict[str, tuple[np.ndarray, bool]] = {}
        if getattr(dataset, "test_labels", None) is not None:
            names = getattr(dataset, "class_names", None)
            labels = np.asarray(dataset.test_labels[:n])
            colors["label"] = (np.array([names[k] for k in labels]) if names else labels, True)
        if getattr(dataset, "test_factors", None) is not None and dataset.factor_names:
            for k, name in enumerate(dataset.factor_names):
                colors[str(name)] = (np.asarray(dataset.test_factors[:n, k]), False)
        plot_latent_scatter(z_test, out / "latent_scatter.png", colors=colors)
        summary["figures"]["latent_scatter"] = "latent_scatter.png"

    # interpolations: between test observations, or between prior draws for a decoder-only model
    k = min(pairs, len(dataset.test) // 2)
    if encoder and k >= 1:
        idx = rng.choice(len(dataset.test), size=2 * k, replace=False)
        strips = interpolate(model, dataset.test[idx[:k]], dataset.test[idx[k:]], steps=steps)
        between = "pairs of test observations (endpoints are their reconstructions)"
    else:
        za, zb = rng.standard_normal((2, max(k, 1), d)).astype(np.float32)
        strips = interpolate(model, za, zb, steps=steps, latent=True)
        between = "pairs of draws from the prior N(0, I)"
    plot_interpolations(
        strips,
        out / "interpolations.png",
        reference=dataset.test[:2000] if dataset.kind != "image" else None,
        title=f"slerp between {between.split(' (')[0]}",
    )
    summary["figures"]["interpolations"] = "interpolations.png"
    summary["interpolations"] = {"method": "slerp", "steps": steps, "between": between, "seed": seed}

    # factor R^2 where the data set knows its factors
    if (
        encoder
        and getattr(dataset, "factor_names", None)
        and getattr(dataset, "test_factors", None) is not None
    ):
        summary["factor_r2"] = factor_r2(model, dataset, max_train=max_encode, max_test=max_encode)
    write_json(out / LATENT_JSON, summary)
    return summary
