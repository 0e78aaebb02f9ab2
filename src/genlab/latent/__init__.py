"""The latent space of a fitted model: embed observations, interpolate, traverse, decode a grid,
score known factors, and draw it all.

    from genlab.latent import embed, interpolate, latent_map, factor_r2
    z = embed(vae, ds.test)                          # (n, latent_dim)
    strip = interpolate(vae, ds.test[0], ds.test[1])  # (8, *shape), slerp
    grid = latent_map(vae, grid=15, data=ds)          # (225, *shape), row-major
    factor_r2(vae, ds)                               # {"height": {"linear": .., "knn": ..}, ...}

A conditional model: embed(cvae, x, labels=y) (the observations' own classes); latent_map(cvae,
grid=15, data=ds, labels=7) decodes every point as a 7 (default: the most frequent training class,
`default_condition`); factors={"height": 0.8} for a factor-conditional model.

Families with a latent space: vae, gan (decode only), flow, diffusion; others raise NotSupported.
"""

from genlab.latent.core import (
    condition_of,
    decode_condition,
    default_condition,
    embed,
    factor_r2,
    has_encoder,
    interpolate,
    latent_grid,
    latent_map,
    latent_stats,
    lerp,
    slerp,
    traverse,
)
from genlab.latent.figures import LATENT_FILES, LATENT_JSON, latent_figures
from genlab.latent.plots import plot_interpolations, plot_latent_map, plot_latent_scatter

__all__ = [
    "LATENT_FILES",
    "LATENT_JSON",
    "condition_of",
    "decode_condition",
    "default_condition",
    "embed",
    "factor_r2",
    "has_encoder",
    "interpolate",
    "latent_figures",
    "latent_grid",
    "latent_map",
    "latent_stats",
    "lerp",
    "plot_interpolations",
    "plot_latent_map",
    "plot_latent_scatter",
    "slerp",
    "traverse",
]
