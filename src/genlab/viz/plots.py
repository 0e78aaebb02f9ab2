"""Matplotlib figures saved as PNG (Agg backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "closest_scatter_png",
    "curves_png",
    "marginals_png",
    "new_figure",
    "new_panels",
    "pairs_plot_png",
    "png_bytes",
    "save_figure",
    "scatter_png",
    "watch_png",
]


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


def curves_png(log: list[dict[str, Any]]) -> bytes | None:
    """Training curves from log.jsonl: one panel per logged loss, plus the validation loss."""
    rows = [r for r in log if isinstance(r.get("losses"), dict) and "step" in r]
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        for k, v in r["losses"].items():
            if isinstance(v, int | float) and np.isfinite(v):
                series.setdefault(k, ([], []))[0].append(r["step"])
                series[k][1].append(v)
    val = [
        (r["step"], r["val_loss"]) for r in log if isinstance(r.get("val_loss"), int | float) and "step" in r
    ]
    if val:
        series["validation loss"] = ([s for s, _ in val], [v for _, v in val])
    series = {k: v for k, v in series.items() if len(v[0]) >= 2}
    if not series:
        return None
    names = list(series)[:6]
    fig, axes = new_panels(len(names), 3.6, 2.8)
    for ax, name in zip(axes[0], names, strict=True):
        s, v = series[name]
        ax.plot(s, v, "-", lw=1.4, color="tab:orange" if name == "validation loss" else "tab:blue")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def pairs_plot_png(real: np.ndarray, gen: np.ndarray, names: list[str] | None) -> bytes:
    """2-D data: one scatter, real beside generated. More dimensions: a pairwise plot of the first four
    (marginal histograms on the diagonal, scatters off it), generated over real."""
    d = real.shape[1]
    names = names or [f"x{i}" for i in range(d)]
    if d <= 2:
        fig, axes = new_panels(2, 4.2, 4.0)
        for ax, x, title, c in (
            (axes[0, 0], real, "real (test)", "0.35"),
            (axes[0, 1], gen, "generated", "tab:blue"),
        ):
            ax.scatter(x[:, 0], x[:, 1] if d > 1 else np.zeros(len(x)), s=2, c=c)
            ax.set_title(title)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1] if d > 1 else "")
        lo, hi = np.percentile(np.r_[real, gen], [0.5, 99.5], axis=0)
        pad = 0.05 * (hi - lo + 1e-9)
        for ax in axes[0]:
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            if d > 1:
                ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        fig.tight_layout()
        return png_bytes(fig)
    k = min(d, 4)
    fig, axes = new_panels(k, 2.4, 2.4, nrows=k)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if i == j:
                bins = np.histogram_bin_edges(np.r_[real[:, i], gen[:, i]], bins=30)
                ax.hist(real[:, i], bins=bins, density=True, color="0.6", alpha=0.8, label="real")
                ax.hist(
                    gen[:, i],
                    bins=bins,
                    density=True,
                    histtype="step",
                    color="tab:blue",
                    lw=1.5,
                    label="generated",
                )
            else:
                ax.scatter(real[:, j], real[:, i], s=1, c="0.7")
                ax.scatter(gen[:, j], gen[:, i], s=1, c="tab:blue", alpha=0.6)
            ax.tick_params(labelsize=7)
            if i == k - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(names[i], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return png_bytes(fig)


def closest_scatter_png(train: np.ndarray, gen: np.ndarray, nearest: np.ndarray) -> bytes:
    """Vector data: samples (red) joined to their nearest training points (blue) over the training set."""
    fig, ax = new_figure(5.5, 5.0)
    tr = np.asarray(train).reshape(len(train), -1)[:4000]
    ax.scatter(
        tr[:, 0], tr[:, 1] if tr.shape[1] > 1 else np.zeros(len(tr)), s=2, c="0.8", label="training data"
    )
    for k in range(len(gen)):
        g, t = np.asarray(gen[k]).reshape(-1), np.asarray(nearest[k]).reshape(-1)
        gy, ty = (g[1], t[1]) if len(g) > 1 else (0.0, 0.0)
        ax.plot([g[0], t[0]], [gy, ty], "-", c="0.3", lw=0.8)
        ax.scatter([g[0]], [gy], c="tab:red", s=16, label="generated" if k == 0 else None, zorder=3)
        ax.scatter(
            [t[0]],
            [ty],
            c="tab:blue",
            s=16,
            marker="s",
            label="nearest training point" if k == 0 else None,
            zorder=3,
        )
    ax.legend(fontsize=8)
    ax.set_title("closest samples and their nearest training points (first two coordinates)", fontsize=9)
    return png_bytes(fig)


def watch_png(log: list[dict[str, Any]]) -> bytes | None:
    """The Rule 2 watch over training: the loss, the copy shares the stop rests on (with their limits), C_T
    and the memorisation rate (diagnostics) and the Frechet distance at each check, each beside its held-out
    reference (dashed), with the stop marked. Logs from before the copy shares draw what they hold."""
    checks = [r for r in log if r.get("event") == "watch"]
    if not checks:
        return None
    steps = [r["step"] for r in checks]
    losses = [
        (r["step"], next(iter(r["losses"].values())))
        for r in log
        if isinstance(r.get("losses"), dict) and r["losses"]
    ]
    stop = next(
        (
            r
            for r in log
            if r.get("event") == "message"
            and "watch:" in str(r.get("message"))
            and "stopped" in str(r.get("message"))
        ),
        None,
    )
    panels = [
        ("loss", None, None),
        ("copy share (the stop rule)", "copy_share", "copy_share_reference"),
        ("near-copy share (the stop rule)", "near_copy_share", "near_copy_share_reference"),
        ("C_T (diagnostic; below -3: copying)", "ct", "ct_reference"),
        ("memorisation rate (diagnostic)", "memorization_rate", "memorization_reference"),
        ("Frechet distance (fidelity)", "frechet_distance", "frechet_reference"),
    ]
    panels = [p for p in panels if p[1] is None or any(r.get(p[1]) is not None for r in checks)]
    cols = min(3, len(panels))
    fig, axes = new_panels(cols, 3.4, 2.8, nrows=-(-len(panels) // cols))
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    for ax, (title, key, ref) in zip(axes.ravel(), panels, strict=False):
        if key is None:
            if losses:
                ax.plot(*zip(*losses, strict=True), "-", lw=1.2, color="tab:blue")
        else:
            ax.plot(
                steps, [r.get(key) for r in checks], "o-", ms=3, lw=1.2, color="tab:purple", label="samples"
            )
            ax.plot(steps, [r.get(ref) for r in checks], "--", lw=1, color="0.4", label="held-out")
            if key == "ct":
                ax.axhline(-3.0, color="tab:red", lw=0.8, ls=":")
            limit = {"memorization_rate": "memorization_limit"}.get(key, f"{key}_limit")
            if any(r.get(limit) is not None for r in checks):
                ax.plot(steps, [r.get(limit) for r in checks], ":", lw=0.8, color="tab:red", label="limit")
            bad = [(r["step"], r.get(key)) for r in checks if r.get("fail")]
            if bad:
                ax.scatter(*zip(*bad, strict=True), s=18, color="tab:red", zorder=3, label="failing check")
        if stop is not None:
            ax.axvline(stop["step"], color="tab:red", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig)


def marginals_png(columns: list[tuple[str, str, np.ndarray, np.ndarray]], *, per_row: int = 4) -> bytes:
    """One panel per table column: histograms (numbers) or level shares (categories) of real (grey) and
    generated (blue). `columns`: (name, "numeric" | "categorical", real values, generated values), where
    categorical values are level names as strings ("NA" for missing) and numbers drop missing cells."""
    rows = max(1, -(-len(columns) // per_row))
    fig, axes = new_panels(min(per_row, len(columns)), 3.2, 2.4, nrows=rows)
    for ax in axes.ravel()[len(columns) :]:
        ax.axis("off")
    for ax, (name, kind, real, gen) in zip(axes.ravel(), columns, strict=False):
        if kind == "categorical":
            levels = sorted(set(real.tolist()) | set(gen.tolist()))[:20]
            pos = np.arange(len(levels))
            share = [[float(np.mean(v == lv)) if len(v) else 0.0 for lv in levels] for v in (real, gen)]
            ax.bar(pos - 0.2, share[0], 0.4, color="0.6", label="real")
            ax.bar(pos + 0.2, share[1], 0.4, color="tab:blue", label="generated")
            ax.set_xticks(
                pos, [str(lv)[:10] for lv in levels], rotation=45 if len(levels) > 3 else 0, fontsize=7
            )
        else:
            both = np.concatenate([real, gen]) if len(real) + len(gen) else np.zeros(1)
            bins = np.histogram_bin_edges(both, bins=30)
            ax.hist(real, bins=bins, density=True, color="0.6", label="real")
            ax.hist(
                gen, bins=bins, density=True, histtype="step", lw=1.5, color="tab:blue", label="generated"
            )
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig)
