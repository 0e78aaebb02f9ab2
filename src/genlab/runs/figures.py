"""The pictures a run's report shows, drawn once when the run is evaluated and kept in RUN/figures/.

    figures/figures.json   what was drawn: {name: {"file", "caption"}} plus the latent summary
    figures/curves.png     training curves from log.jsonl
    figures/watch.png      the Rule 2 watch's checks over training (when a watch ran)
    figures/real.png, figures/samples.png   held-out test observations beside the judged samples
                                            (images); one scatter / pairs plot of both (vectors)
    figures/closest-K.png  the K-th generated sample closest to the training set beside its nearest
                           training observation (images); figures/closest.png, a scatter (vectors)
    figures/latent/        latent map, scatter, interpolations and latent.json (models with a latent)
    figures/by-class.png   a label-conditional model: the judged samples, one row per class asked for
    figures/guidance.png   a guided model (diffusion): label accuracy, precision, recall against the scale
    tables instead: figures/samples.png, each column's histogram (or level shares) of held-out rows
    beside the judged samples, and figures/closest.json, the samples closest to a training row (Gower)
    with that row, as table rows

The report (`genlab.report`) only reads these: it never samples, encodes or trains.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from genlab.fileio import atomic_write, write_json
from genlab.layout import FIGURES_DIR, FIGURES_FILE

__all__ = ["LATENT_SUBDIR", "N_CLOSEST", "N_PER_CLASS", "N_SCATTER", "N_SHOW", "draw_figures"]

N_SHOW = 64  # real and generated images shown side by side
N_SCATTER = 2000  # vector data: points per scatter
N_CLOSEST = 8
N_PER_CLASS = 8  # samples per class in figures/by-class.png
LATENT_SUBDIR = "latent"
#: the report's latent figures encode at most this many observations and decode a map of this side,
#: fewer for a slow model: about LATENT_SECONDS of encoding and as much of decoding (`latent_budget`)
LATENT_ENCODE_CAP = 1000
LATENT_GRID = 15
LATENT_SECONDS = 10.0
LATENT_MIN_ENCODE = 16  # a diffusion model encodes 3 to 10 Fashion-MNIST images a second on a CPU
LATENT_MIN_GRID = 5


def _put(out: Path, index: dict[str, Any], name: str, png: bytes | None, caption: str) -> None:
    if png is None:
        return
    atomic_write(out / f"{name}.png", png)
    index[name] = {"file": f"{name}.png", "caption": caption}


def draw_figures(
    run_dir: str | Path,
    *,
    model: Any,
    dataset: Any,
    evaluation: Any | None,
    log: list[dict[str, Any]],
    seed: int = 0,
) -> dict[str, Any]:
    """Draw every figure of the report into RUN/figures/ and write figures.json; returns that index.

    `evaluation` is the `Evaluation` just computed (its `samples` are the judged samples, so nothing is
    sampled again); without one only the curves and the latent figures are drawn.
    """
    from genlab.viz.images import image_grid_png
    from genlab.viz.plots import closest_scatter_png, curves_png, pairs_plot_png, watch_png

    out = Path(run_dir) / FIGURES_DIR
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {}
    _put(
        out,
        index,
        "curves",
        curves_png(log),
        "training curves (from log.jsonl; losses are averages since the previous log line)",
    )
    _put(
        out,
        index,
        "watch",
        watch_png(log),
        "the Rule 2 watch: each check's samples (purple) beside held-out data (dashed); red: failing checks; "
        "the vertical line: where the watch stopped training",
    )

    samples = getattr(evaluation, "samples", None)
    if samples is not None and getattr(dataset, "table", None) is not None:
        _table_figures(out, index, dataset, evaluation)
    elif samples is not None:
        if dataset.kind == "image":
            n = min(N_SHOW, len(samples), len(dataset.test))
            _put(
                out,
                index,
                "real",
                image_grid_png(dataset.test[:n]),
                f"real: the first {n} held-out test observations",
            )
            _put(
                out,
                index,
                "samples",
                image_grid_png(samples[:n]),
                f"generated: the first {n} judged samples (seed {evaluation.seed})",
            )
        else:
            n = min(N_SCATTER, len(samples), len(dataset.test))
            real, gen = dataset.test[:n].reshape(n, -1), samples[:n].reshape(n, -1)
            d = real.shape[1]
            caption = (
                f"{n} held-out test observations beside {n} generated (seed {evaluation.seed})"
                if d <= 2
                else f"the first {min(d, 4)} of {d} coordinates: marginals (diagonal) and pairs; grey real "
                f"(test), blue generated (seed {evaluation.seed})"
            )
            _put(
                out,
                index,
                "samples",
                pairs_plot_png(real, gen, getattr(dataset, "feature_names", None)),
                caption,
            )
        copies = evaluation.copies[:N_CLOSEST]
        if copies:
            g = np.stack([samples[c["sample_index"]] for c in copies])
            t = np.stack([dataset.train[c["train_index"]] for c in copies])
            if dataset.kind == "image":
                for k, c in enumerate(copies):
                    png = image_grid_png(np.stack([g[k], t[k]]), nrow=2, scale=max(1, 96 // g.shape[-1]))
                    _put(
                        out,
                        index,
                        f"closest-{k}",
                        png,
                        f"generated #{c['sample_index']} beside train #{c['train_index']}",
                    )
            else:
                _put(
                    out, index, "closest", closest_scatter_png(dataset.train, g, t), "pairs joined by a line"
                )

    _conditional_figures(out, index, dataset, evaluation)
    if getattr(model, "latent_dim", None) is not None:
        from genlab.latent import latent_figures

        max_encode, grid, pairs = latent_budget(model, dataset)
        summary = latent_figures(
            model, dataset, out / LATENT_SUBDIR, seed=seed, max_encode=max_encode, grid=grid, pairs=pairs
        )
        index["latent"] = {"dir": LATENT_SUBDIR, **summary}
    write_json(out / FIGURES_FILE, index)
    return index


def latent_budget(model: Any, dataset: Any) -> tuple[int, int, int]:
    """(observations to encode, latent-map side, interpolation pairs) for the report's latent figures:
    LATENT_ENCODE_CAP, LATENT_GRID and 6 pairs for a fast model; for a slow encoder or decoder (a
    diffusion model: DDIM inversion, 150 network passes an image to encode and 50 to decode) fewer, so
    that the encoding (of the training rows for the span, and as many test rows for the scatter) and the
    map's decoding each take about LATENT_SECONDS, measured on 4 observations (at least LATENT_MIN_ENCODE
    encoded, a map of at least LATENT_MIN_GRID x LATENT_MIN_GRID), and 3 interpolation pairs when under
    100 can be encoded. Without this, the figures after a 10-minute conditional diffusion fit on
    Fashion-MNIST took over 10 minutes."""
    from genlab.latent import decode_condition
    from genlab.latent.core import has_encoder, latent_stats

    pilot = 4
    max_encode = LATENT_ENCODE_CAP
    if has_encoder(model):
        t = time.perf_counter()
        latent_stats(
            model, dataset, max_n=pilot
        )  # the first `pilot` training rows, under their own condition
        rate = pilot / max(time.perf_counter() - t, 1e-9)
        # half the seconds each for the span's and the scatter's encodings
        max_encode = int(min(LATENT_ENCODE_CAP, max(LATENT_MIN_ENCODE, rate * LATENT_SECONDS / 2)))
    z = np.zeros((pilot, int(model.latent_dim)), np.float32)
    t = time.perf_counter()
    model.decode(z, **decode_condition(model))  # under the figures' default condition, as the map is
    rate = pilot / max(time.perf_counter() - t, 1e-9)
    grid = int(min(LATENT_GRID, max(LATENT_MIN_GRID, math.isqrt(int(rate * LATENT_SECONDS)))))
    return max_encode, grid, (6 if max_encode >= 100 else 3)


def _table_figures(out: Path, index: dict[str, Any], dataset: Any, evaluation: Any) -> None:
    """A table run: per-column marginals (real test rows beside the judged samples) and the closest pairs as rows."""
    from genlab.data.table import frame_rows
    from genlab.viz.plots import marginals_png

    codec, real, gen = dataset.table.codec, dataset.table.test, evaluation.frame
    columns = []
    for c in codec.columns:
        if c.kind == "categorical":
            values = [
                f[c.name].astype(object).where(f[c.name].notna(), "NA").astype(str).to_numpy()
                for f in (real, gen)
            ]
        else:
            values = [f[c.name].dropna().to_numpy(dtype=np.float64) for f in (real, gen)]
        columns.append((c.name, "categorical" if c.kind == "categorical" else "numeric", *values))
    _put(out, index, "samples", marginals_png(columns),
         f"each column: {len(real)} held-out test rows (grey) beside the {len(gen)} judged samples (blue, seed "
         f"{evaluation.seed})")  # fmt: skip
    closest = (evaluation.rule2.get("dcr") or {}).get("closest") or []
    if closest:
        pairs = [
            {**c, "sample": frame_rows(gen.iloc[[c["sample_index"]]])[0],
             "train": frame_rows(dataset.table.train.iloc[[c["train_index"]]])[0]}
            for c in closest[:N_CLOSEST]
        ]  # fmt: skip
        write_json(out / "closest.json", {"columns": codec.names, "pairs": pairs})
        index["closest_rows"] = {
            "file": "closest.json",
            "caption": "the samples closest to a training row (Gower)",
        }


def _conditional_figures(out: Path, index: dict[str, Any], dataset: Any, evaluation: Any) -> None:
    """A label-conditional model: its judged samples by class (images) and the guidance sweep, if one ran."""
    from genlab.viz.images import image_grid_png

    samples, labels = getattr(evaluation, "samples", None), getattr(evaluation, "labels", None)
    if samples is not None and labels is not None and getattr(dataset, "kind", "") == "image":
        names = list(getattr(dataset, "class_names", None) or [])
        classes = np.unique(labels)
        rows = []
        for c in classes:
            x = samples[np.flatnonzero(labels == c)[:N_PER_CLASS]]
            pad = np.full((N_PER_CLASS - len(x), *samples.shape[1:]), 0.5, np.float32)
            rows.append(np.concatenate([x, pad]) if len(pad) else x)
        shown = ", ".join(names[c] if 0 <= c < len(names) else str(c) for c in classes)
        _put(out, index, "by-class", image_grid_png(np.concatenate(rows), nrow=N_PER_CLASS),
             f"judged samples by the class asked for, one row per class from the top: {shown}")  # fmt: skip
    sweep = getattr(evaluation, "guidance", None)
    if sweep and sweep.get("scales"):
        _put(out, index, "guidance", _guidance_png(sweep),
             f"guidance sweep: {sweep['n']} samples per scale (same labels and seed at every scale); "
             "dashed: the held-out real reference")  # fmt: skip


def _guidance_png(sweep: dict[str, Any]) -> bytes:
    from genlab.viz.plots import new_panels, png_bytes

    fig, axes = new_panels(1, width=5.5, height=3.6)
    ax = axes[0, 0]
    ref = sweep.get("reference") or {}
    for key, colour in (
        ("label_accuracy", "tab:purple"),
        ("precision", "tab:blue"),
        ("recall", "tab:orange"),
    ):
        if key not in sweep:
            continue
        ax.plot(sweep["scales"], sweep[key], "o-", color=colour, label=key.replace("_", " "))
        if isinstance(ref.get(key), float):
            ax.axhline(ref[key], color=colour, ls="--", lw=1, alpha=0.7)
    ax.set_xlabel("guidance scale")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("label accuracy against diversity (recall)")
    ax.legend(loc="best", fontsize=8)
    return png_bytes(fig)
