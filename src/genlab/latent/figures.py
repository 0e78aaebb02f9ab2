"""All latent figures of one fitted model and its data, written to a folder (what `genlab latent` does).

OUT/
  latent_map.png       decoded grid over two latent dimensions (needs latent_dim >= 2)
  latent_scatter.png   encoded test data, coloured by label and by each factor (needs an encoder)
  interpolations.png   slerp paths between pairs of test observations (or prior draws without an encoder)
  latent.json          what was drawn (dims, span, reference, condition) and the factor R^2 where factors
                       are known

A conditional model encodes the data under their own labels (or factors). The map and the
interpolations decode under one condition: `labels` (a class, by index or name) or `factors` (a dict
{name: value}, the factors not named at their training medians), by default the most frequent
training class or the median factor row (`genlab.latent.default_condition`). The interpolations of a
label-conditional model run between test observations of that class (prior draws when it has fewer
than two). latent.json's "condition" records which, and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import GenlabError
from genlab.latent.core import (
    condition_of,
    decode_condition,
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


def _condition(model: Any, labels: Any, factors: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(decode's condition keywords, latent.json's "condition" record) of one decoding condition."""
    mode = getattr(model, "conditional_", False) or False
    cond = decode_condition(model, labels=labels, factors=factors)
    if mode == "labels":
        if np.ndim(cond["labels"]) != 0:
            raise GenlabError("latent figures: labels must be one class (an index or a name)")
        k = int(cond["labels"])
        chosen = "given" if labels is not None else "the most frequent training class"
        return cond, {"mode": mode, "label": k, "class": str(model.class_names_[k]), "chosen": chosen}
    if mode == "factors":
        row = np.asarray(cond["factors"], np.float64)
        if row.shape != (len(model.factor_names_),):
            raise GenlabError("latent figures: factors must be one row or a dict {name: value}")
        given = (
            set(factors)
            if isinstance(factors, dict)
            else set(model.factor_names_)
            if factors is not None
            else set()
        )
        values = [float(str(np.float32(v))) for v in row]  # the float32 value's shortest decimal
        named = dict(zip(map(str, model.factor_names_), values, strict=True))
        return cond, {
            "mode": mode,
            "factors": named,
            "chosen": {k: "given" if k in given else "training median" for k in named},
        }
    return cond, {}


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
    labels: Any = None,
    factors: Any = None,
) -> dict[str, Any]:
    """Write the latent figures of `model` on `dataset` (a Dataset) into `out_dir`; returns latent.json.

    `seed` picks the interpolation pairs; `max_encode` caps how many observations are encoded for the
    span, the scatter and the factor R^2 (encoding is slow for diffusion). `labels`/`factors`: the
    condition a conditional model's map and interpolations are decoded under (see the module docstring).
    """
    from genlab.fileio import write_json

    encoder = has_encoder(model)  # NotSupported for a family without a latent space, before any write
    cond, condition = _condition(model, labels, factors)
    if encoder and cond:
        condition_of(model, dataset, "test")  # a DataError before any write when the data lack it
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
    if condition:
        summary["condition"] = condition
    where = ""
    if "class" in condition:
        where = f", class {condition['class']!r}"
    elif "factors" in condition:
        where = ", " + ", ".join(f"{k}={v:.3g}" for k, v in condition["factors"].items())

    # the decoded latent map
    stats = latent_stats(model, dataset if encoder else None, max_n=max_encode)
    if d >= 2:
        dims = _map_dims(stats, d)
        span = (
            (float(stats["low"][dims[0]]), float(stats["high"][dims[0]])),
            (float(stats["low"][dims[1]]), float(stats["high"][dims[1]])),
        )
        z, v0, v1 = latent_grid(model, dims=dims, grid=grid, span=span, reference=stats["reference"])
        decoded = model.decode(z, **cond)
        plot_latent_map(
            decoded,
            out / "latent_map.png",
            values0=v0,
            values1=v1,
            dims=dims,
            reference=dataset.test[:2000] if dataset.kind != "image" else None,
            title=f"{model.name}: decoded latent map (other dims at the {stats['source']} mean{where})",
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
        z_test = embed(model, dataset.test[:n], **condition_of(model, dataset, "test", n))
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
    pool = np.arange(len(dataset.test))
    if "labels" in cond and encoder:  # pairs of the class decoded, encoded under their own (that) class
        pool = pool[np.asarray(condition_of(model, dataset, "test")["labels"]) == cond["labels"]]
    k = min(pairs, len(pool) // 2)
    if encoder and k >= 1:
        idx = rng.choice(pool, size=2 * k, replace=False)
        a, b = dataset.test[idx[:k]], dataset.test[idx[k:]]
        if "factors" in cond:  # encoded under their own factors, decoded under the one condition
            f = condition_of(model, dataset, "test")["factors"]
            za, zb = embed(model, a, factors=f[idx[:k]]), embed(model, b, factors=f[idx[k:]])
            strips = interpolate(model, za, zb, steps=steps, latent=True, **cond)
            between = "pairs of test observations (encoded under their own factors)"
        else:
            strips = interpolate(model, a, b, steps=steps, **cond)
            between = "pairs of test observations (endpoints are their reconstructions)"
    else:
        za, zb = rng.standard_normal((2, max(k, 1), d)).astype(np.float32)
        strips = interpolate(model, za, zb, steps=steps, latent=True, **cond)
        between = "pairs of draws from the prior N(0, I)"
    plot_interpolations(
        strips,
        out / "interpolations.png",
        reference=dataset.test[:2000] if dataset.kind != "image" else None,
        title=f"slerp between {between.split(' (')[0]}{where}",
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
