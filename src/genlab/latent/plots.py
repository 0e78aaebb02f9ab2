"""Latent-space figures as PNG: the decoded latent map, a latent scatter, interpolation strips.

Images are drawn as image grids; vector data is drawn in its first two coordinates over the real data.
matplotlib is imported lazily (through `genlab.viz.plots`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genlab.viz.images import image_grid
from genlab.viz.plots import new_figure, new_panels, save_figure

__all__ = ["plot_interpolations", "plot_latent_map", "plot_latent_scatter", "project_2d"]


def _show_grid(ax: Any, images: np.ndarray, nrow: int) -> tuple[int, int]:
    """Draw (N, C, H, W) as one grid on `ax`; returns the cell size in pixels (with padding)."""
    g = image_grid(images, nrow=nrow, pad=1)
    ax.imshow(g[..., 0] if g.shape[2] == 1 else g, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    return images.shape[2] + 1, images.shape[3] + 1


def _xy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = np.asarray(x).reshape(len(x), -1)
    return flat[:, 0], (flat[:, 1] if flat.shape[1] > 1 else np.zeros(len(flat)))


def plot_latent_map(
    decoded: np.ndarray,
    path: str | Path,
    *,
    values0: np.ndarray,
    values1: np.ndarray,
    dims: tuple[int, int] = (0, 1),
    reference: np.ndarray | None = None,
    title: str = "decoded latent map",
) -> Path:
    """`decoded` is `latent_map(...)` output (grid*grid, *shape) in its row-major order.

    Images: one image grid, z[dims[0]] along x (left to right) and z[dims[1]] along y (top to bottom),
    with the latent values on the axes. Vectors: the decoded lattice drawn as a deformed mesh in data
    coordinates (first two), over `reference` (real data) in grey.
    """
    g0, g1 = len(values0), len(values1)
    if decoded.ndim == 4:
        size = min(7.0, max(4.0, 0.45 * g0 * decoded.shape[-1] / 8))
        fig, ax = new_figure(size, size * g1 / g0)
        ch, cw = _show_grid(ax, decoded, nrow=g0)
        step = max(1, g0 // 5)
        ax.set_xticks([0.5 + cw * (c + 0.5) for c in range(0, g0, step)])
        ax.set_xticklabels([f"{v:.3g}" for v in values0[::step]])
        step = max(1, g1 // 5)
        ax.set_yticks([0.5 + ch * (r + 0.5) for r in range(0, g1, step)])
        ax.set_yticklabels([f"{v:.3g}" for v in values1[::step]])
    else:
        fig, ax = new_figure(5.5, 5.5)
        if reference is not None:
            rx, ry = _xy(reference)
            ax.scatter(rx, ry, s=2, c="0.8", label="real data")
        x, y = _xy(decoded)
        x, y = x.reshape(g1, g0), y.reshape(g1, g0)
        for r in range(g1):
            ax.plot(x[r], y[r], c="tab:blue", lw=0.8)
        for c in range(g0):
            ax.plot(x[:, c], y[:, c], c="tab:orange", lw=0.8)
        ax.plot([], [], c="tab:blue", label=f"z[{dims[0]}] varies")
        ax.plot([], [], c="tab:orange", label=f"z[{dims[1]}] varies")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(f"z[{dims[0]}]" if decoded.ndim == 4 else "x0")
    ax.set_ylabel(f"z[{dims[1]}]" if decoded.ndim == 4 else "x1")
    ax.set_title(title)
    return save_figure(fig, path)


def project_2d(z: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(n, d) -> (n, 2) and axis names: the latents themselves for d <= 2, else their first two
    principal components (a 1-D latent gets a zero second coordinate)."""
    z = np.asarray(z, np.float64)
    if z.shape[1] == 1:
        return np.c_[z, np.zeros(len(z))], ["z[0]", ""]
    if z.shape[1] == 2:
        return z, ["z[0]", "z[1]"]
    zc = z - z.mean(0)
    _, _, vt = np.linalg.svd(zc, full_matrices=False)
    return zc @ vt[:2].T, ["latent PC 1", "latent PC 2"]


def plot_latent_scatter(
    z: np.ndarray,
    path: str | Path,
    *,
    colors: dict[str, tuple[np.ndarray, bool]] | None = None,
    title: str = "test data in latent space",
) -> Path:
    """Scatter of latent points, one panel per colouring: `colors` maps a name to (values, categorical).
    Categorical values (labels) get a discrete palette and legend, others a colour bar. The axes span
    the 0.5th-99.5th percentiles, so a few far outliers do not squash the picture."""
    p, names = project_2d(z)
    panels = list((colors or {}).items()) or [("", (None, False))]
    fig, axes = new_panels(len(panels), 4.6, 4.2)
    for ax, (name, (values, categorical)) in zip(axes[0], panels, strict=True):
        if values is None:
            ax.scatter(p[:, 0], p[:, 1], s=4, c="tab:blue")
        elif categorical:
            for c in np.unique(values):
                m = values == c
                ax.scatter(p[m, 0], p[m, 1], s=4, label=str(c))
            ax.legend(markerscale=3, fontsize=7, ncol=2, loc="best", title=name, title_fontsize=8)
        else:
            sc = ax.scatter(p[:, 0], p[:, 1], s=4, c=values, cmap="viridis")
            fig.colorbar(sc, ax=ax, label=name, fraction=0.046, pad=0.04)
        lo, hi = np.percentile(p, [0.5, 99.5], axis=0)  # a few outliers must not squash the rest
        pad = 0.05 * (hi - lo) + 1e-9
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"coloured by {name}" if name else title, fontsize=10)
    if len(panels) > 1 or panels[0][0]:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_interpolations(
    strips: np.ndarray,
    path: str | Path,
    *,
    reference: np.ndarray | None = None,
    title: str = "interpolations (one pair per row)",
) -> Path:
    """`strips` (pairs, steps, *shape) from `interpolate`: images as one row per pair; vectors as paths
    through data space (first two coordinates) over `reference` in grey."""
    n, steps = strips.shape[:2]
    if strips.ndim == 5:
        w = min(12.0, max(4.0, 0.5 * steps * strips.shape[-1] / 8))
        fig, ax = new_figure(w, w * n / steps + 0.5)
        _show_grid(ax, strips.reshape(n * steps, *strips.shape[2:]), nrow=steps)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("start  \u2192  end")
    else:
        fig, ax = new_figure(5.5, 5.5)
        if reference is not None:
            rx, ry = _xy(reference)
            ax.scatter(rx, ry, s=2, c="0.8")
        for i in range(n):
            x, y = _xy(strips[i])
            ax.plot(x, y, "-o", ms=3, lw=1)
            ax.plot(x[[0, -1]], y[[0, -1]], "ks", ms=4)
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    ax.set_title(title)
    return save_figure(fig, path)
