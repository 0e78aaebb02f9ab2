"""`tins`: procedurally rendered biscuit tins with known generating factors.

A tin is a cylinder seen slightly from above: a body with cylindrical shading (lit from the front
left, with a highlight), a lid skirt ending in a groove, an elliptical lid on top (lighter, with a
rim), an elliptical bottom edge, on a plain dark background. The tin is centred in the frame.

Factors, in units of the frame size (so they do not depend on `size`):
- `height` ~ U[0.30, 0.85]: the tin's full visible height, top of the lid to the bottom edge;
- `width`  ~ U[0.30, 0.80]: the body's width (the lid ellipse's major axis).
The ellipses have minor/major axis ratio 0.25 (the viewing angle), so the cylinder's straight
side is height - 0.25 * width >= 0.1 and the tin stays inside the frame for every draw.
With `extra_factors=True`, `pattern` (0-3 horizontal stripes round the body, as a float) is
appended to the factors, then `hue` (in [0, 1), the body's colour) when `color=True`. Without
them the colour tin is red (hue 0).

Rendering is numpy, vectorised over a chunk of images, with antialiased edges from approximate
signed distances (coverage = clip(0.5 - distance_in_pixels, 0, 1)): no per-pixel Python loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.data.dataset import DATA_STREAM, check_split_params, make_dataset, rng_for
from genlab.errors import DataError

__all__ = ["HEIGHT_RANGE", "WIDTH_RANGE", "load_tins", "render_tins", "sample_tin_factors"]

HEIGHT_RANGE = (0.30, 0.85)
WIDTH_RANGE = (0.30, 0.80)
ASPECT = 0.25  # lid ellipse minor/major axis: how far from above we look
MAX_STRIPES = 3
BACKGROUND = 0.08
_CHUNK_PIXELS = 32 * 32 * 32  # images per chunk x pixels: small chunks stay in cache, which is faster


def sample_tin_factors(
    n: int, rng: np.random.Generator, *, extra_factors: bool = False, color: bool = False
) -> tuple[np.ndarray, list[str]]:
    """Draw factors (n, F) and their names: height, width [, pattern [, hue]]."""
    cols = [rng.uniform(*HEIGHT_RANGE, n), rng.uniform(*WIDTH_RANGE, n)]
    names = ["height", "width"]
    if extra_factors:
        cols.append(rng.integers(0, MAX_STRIPES + 1, n).astype(np.float64))
        names.append("pattern")
        if color:
            cols.append(rng.uniform(0.0, 1.0, n))
            names.append("hue")
    return np.stack(cols, 1), names


def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Hue array (B,) -> RGB (B, 3)."""
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * h[:, None]) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _coverage(d: np.ndarray, px: float) -> np.ndarray:
    """Signed distance (frame units, negative inside) -> antialiased coverage in [0, 1]."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def _ellipse_sdf(dx: np.ndarray, dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse, F / |grad F| with F = (dx/a)^2 + (dy/b)^2 - 1.

    Exact to first order at the edge (all that antialiasing needs); -inf-like deep inside.
    dx varies along x only and dy along y only, so only the sums are full-size arrays.
    """
    f = (dx / a) ** 2 + ((dy / b) ** 2 - 1.0)
    grad2 = (2 * dx / a**2) ** 2 + 1e-12 + (2 * dy / b**2) ** 2
    return f / np.sqrt(grad2)


def _render_chunk(f: np.ndarray, size: int, colors: np.ndarray) -> np.ndarray:
    """f: (B, F) factors (height, width, pattern?); colors: (B, C) body colour -> (B, C, size, size)."""
    B = len(f)
    f = f.astype(np.float32)
    px = 1.0 / size
    c = (np.arange(size, dtype=np.float32) + 0.5) * px
    u, v = c[None, None, :], c[None, :, None]  # pixel centres: x (1, 1, S), y (1, S, 1)
    h = f[:, 0, None, None]  # (B, 1, 1)
    a = f[:, 1, None, None] / 2  # half width
    b = ASPECT * a  # ellipse half height
    yt = 0.5 - h / 2 + b  # lid ellipse centre
    yb = 0.5 + h / 2 - b  # bottom ellipse centre
    dx = u - 0.5  # (1, 1, S)
    nx = np.clip(dx / a, -1.0, 1.0)  # cylinder normal's x component, (B, 1, S)
    nz = np.sqrt(1.0 - nx**2)  # facing the viewer
    arc = b * nz  # how far the front of a horizontal circle bulges below its centre line

    # body: rectangle between the ellipse centres, union the bottom ellipse
    d_rect = np.maximum(np.abs(dx) - a, np.maximum(yt - v, v - yb))
    d_bottom = _ellipse_sdf(dx, v - yb, a, b)
    body_alpha = _coverage(np.minimum(d_rect, d_bottom), px)  # (B, S, S)
    # cylinder shading: light from the front left, plus a soft specular highlight
    light = np.array([-0.45, 0.0, 0.89], dtype=np.float32)
    tone = (
        0.42
        + 0.5 * np.maximum(0.0, light[0] * nx + light[2] * nz)
        + 0.22 * np.exp(-(((nx + 0.4) / 0.12) ** 2))
    )
    tone = np.broadcast_to(tone, body_alpha.shape)
    # a darker band along the bottom edge, following its ellipse
    bevel = np.clip(1.0 + d_bottom / (1.5 * px), 0.0, 1.0) * (v > yb)
    tone = tone * (1.0 - 0.3 * bevel)

    # stripes (pattern factor): k horizontal bands, each curving with the cylinder's front
    skirt = yt + 0.1 * (yb - yt) + 0.6 * px  # the lid's skirt ends here (at the centre line)
    stripe_alpha = np.zeros_like(body_alpha)
    if f.shape[1] > 2:
        k = f[:, 2, None, None]
        span = yb - skirt
        rel = v - arc - skirt  # height above the skirt line, along the cylinder's curve
        half = np.maximum(0.35 * span / (k + 1) / 2, 0.6 * px)
        for i in range(MAX_STRIPES):
            centre = np.where(k > i, (i + 1) / (k + 1) * span, 10.0)  # no stripe i: put it far off-frame
            stripe_alpha = np.maximum(stripe_alpha, _coverage(np.abs(rel - centre) - half, px))
    # the groove where the lid's skirt ends
    groove = np.clip(1.0 - np.abs(v - (skirt + arc)) / (0.8 * px), 0.0, 1.0)

    # lid: an ellipse, light, with a rim ring and a slightly darker recessed centre
    d_lid = _ellipse_sdf(dx, v - yt, a, b)
    lid_alpha = _coverage(d_lid, px)
    inner = _coverage(_ellipse_sdf(dx, v - yt, 0.8 * a, 0.8 * b), px)
    lid_tone = 0.98 - 0.12 * inner - 0.06 * (v - yt) / np.maximum(b, px)

    # composite, per channel: background, body, stripes, groove, lid
    C = colors.shape[1]
    col = colors[:, :, None, None].astype(np.float32)  # (B, C, 1, 1)
    lid_col = 0.6 * col + 0.4  # the lid: the body's colour, lighter
    stripe_col = np.float32(0.97) if C == 1 else np.array([0.97, 0.9, 0.65], np.float32)[None, :, None, None]
    img = np.full((B, C, size, size), BACKGROUND, dtype=np.float32)
    img += body_alpha[:, None] * (tone[:, None] * col - img)
    img += (stripe_alpha * body_alpha)[:, None] * (tone[:, None] * stripe_col - img)
    img *= (1.0 - 0.45 * groove * body_alpha)[:, None]
    img += lid_alpha[:, None] * (lid_tone[:, None] * lid_col - img)
    return np.clip(img, 0.0, 1.0)


def render_tins(factors: np.ndarray, *, size: int = 32, color: bool = False) -> np.ndarray:
    """Render factors (n, F) as images (n, C, size, size) float32 in [0, 1]; C = 3 with color, else 1.

    Columns: height, width, then optionally pattern (stripe count) and hue (used when color).
    """
    factors = np.asarray(factors, dtype=np.float64)
    n = len(factors)
    if color:
        hue = factors[:, 3] if factors.shape[1] > 3 else np.zeros(n)
        colors = _hsv_to_rgb(hue, 0.75, 0.85)  # (n, 3)
    else:
        colors = np.full((n, 1), 0.62)
    out = np.empty((n, colors.shape[1], size, size), dtype=np.float32)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for s in range(0, n, chunk):
        out[s : s + chunk] = _render_chunk(factors[s : s + chunk], size, colors[s : s + chunk])
    return out


def load_tins(spec: Any, options: dict[str, Any], test_fraction: Any, seed: Any) -> Any:
    """The registry's loader: n tins drawn from the data stream of `seed`, rendered, then split."""
    where = "dataset 'tins'"
    for name, minimum in (("n", 2), ("size", 8)):
        if options[name] < minimum:
            raise DataError(f"{where}: option {name} must be at least {minimum}, got {options[name]}")
    check_split_params(test_fraction, seed)  # before generating anything
    factors, names = sample_tin_factors(
        options["n"],
        rng_for(seed, DATA_STREAM),
        extra_factors=options["extra_factors"],
        color=options["color"],
    )
    x = render_tins(factors, size=options["size"], color=options["color"])
    return make_dataset(
        name="tins",
        kind="image",
        x=x,
        factors=factors,
        where=where,
        source="tins",
        options=options,
        test_fraction=test_fraction,
        seed=seed,
        factor_names=names,
    )
