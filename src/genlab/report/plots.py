"""Matplotlib figures saved as PNG (Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["new_figure", "new_panels", "png_bytes", "save_figure", "scatter_png"]


def new_figure(width: float = 5.0, height: float = 5.0):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def new_panels(ncols: int, width: float = 4.5, height: float = 4.0, nrows: int = 1):
    """A figure of nrows x ncols panels, each `width` x `height` inches; returns (fig, 2-D array of axes)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), dpi=100, squeeze=False)


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (closes it); for embedding in HTML."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def save_figure(fig, path: str | Path) -> Path:
    import io

    import matplotlib.pyplot as plt

    from genlab.fileio import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return Path(path)


def scatter_png(
    x: np.ndarray, path: str | Path, *, reference: np.ndarray | None = None, title: str = ""
) -> Path:
    """Scatter of the first two columns; `reference` (e.g. real data) drawn underneath in grey."""
    x = np.asarray(x).reshape(len(x), -1)
    fig, ax = new_figure()
    if reference is not None:
        r = np.asarray(reference).reshape(len(reference), -1)
        ax.scatter(r[:, 0], r[:, 1] if r.shape[1] > 1 else np.zeros(len(r)), s=3, c="0.75", label="real")
    ax.scatter(x[:, 0], x[:, 1] if x.shape[1] > 1 else np.zeros(len(x)), s=3, c="tab:blue", label="generated")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1" if x.shape[1] > 1 else "")
    if reference is not None:
        ax.legend(loc="upper right", markerscale=4)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
