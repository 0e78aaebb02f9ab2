"""The latent-space explorer: one HTML page, opened from a file, that decodes under the mouse.

    write_explorer(model, dataset, "explore/")   # -> explore/index.html (and explore/explore.json)
    explore_run("runs/tins-vae")                  # -> runs/tins-vae/explore/index.html

The page draws the encoded test and training points on a plane of the latent space and shows the
decoded picture of the point under the mouse, computed in the browser by the run's own decoder,
exported to ONNX (`genlab.explore.export`) and run by ONNX Runtime Web's wasm backend, which ships
with genlab (`vendor/`). Clicks show an observation, its reconstruction and nearest training
observations, and the lerp and slerp paths between two points. Where a family's decode cannot run in
the page (diffusion: a 50-step sampler; a spline flow: not expressible in ONNX) the page says so and
shows a grid of pictures decoded in Python instead. A label-conditional model's page has a class
selector: the point under the mouse and the interpolations are decoded with the chosen class, a
clicked observation's reconstruction with its own. See docs/explore.md and docs/conditional.md.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError, NotFittedError, NotSupported

__all__ = ["PAGE_FILE", "SUMMARY_FILE", "explore_run", "write_explorer"]

PAGE_FILE = "index.html"
SUMMARY_FILE = "explore.json"

#: families whose encode/decode is slow: fewer points and a coarser grid by default
_SLOW = {"diffusion": {"n_test": 200, "n_train": 200, "grid": 9}}

_NOTES = {
    "vae": (
        "Points: test observations (coloured) and training observations (grey), each encoded to the "
        "mean of its posterior q(z|x). The picture is the decoder's mean at the point under the mouse."
    ),
    "gan": (
        "A GAN has no encoder, so no observation can be placed in its latent space: the points are draws "
        "from the generator's N(0, I) prior, not encoded data. Clicking one shows the image it generates "
        "and the training observations nearest to that image."
    ),
    "flow": (
        "A flow's latent space has the data's dimension, and encode/decode are exact inverses: the points "
        "are the encoded observations, and the plane runs through their mean along their principal directions."
    ),
    "diffusion": (
        "A diffusion model's latent point of an observation is its DDIM inversion: the noise that the "
        "deterministic sampler turns back into it."
    ),
}


def _check_out(out_dir: Path, force: bool) -> tuple[Path, Path]:
    if out_dir.exists() and not out_dir.is_dir():
        raise GenlabError(f"{out_dir}: exists and is not a folder; choose another output folder")
    page, summary = out_dir / PAGE_FILE, out_dir / SUMMARY_FILE
    for path in (page, summary):
        if path.exists() and not force:
            raise GenlabError(f"{path}: already exists; pass force=True (--force) to replace it")
    return page, summary


def write_explorer(
    model: Any,
    dataset: Any,
    out_dir: str | Path,
    *,
    force: bool = False,
    n_test: int | None = None,
    n_train: int | None = None,
    neighbours: int = 4,
    grid: int | None = None,
    seed: int = 0,
    title: str | None = None,
    labels: Any = None,
    factors: Any = None,
) -> Path:
    """Write the explorer of a fitted `model` on its `dataset` (a Dataset) into `out_dir`; returns the
    page's path (`out_dir/index.html`). A summary (live or not, sizes, the export check) goes to
    `out_dir/explore.json`.

    n_test / n_train: how many test points (clickable, with pictures) and training points (background)
    to show (default 500 / 2000; 200 / 200 for diffusion, whose encoder is slow). neighbours: nearest
    training observations per test point. grid: side of the grid decoded in Python when the page cannot
    decode live (default 15; 9 for diffusion; 0: none). An existing page is replaced only with `force`.
    labels / factors: a conditional model's decoding condition (`genlab.latent.decode_condition`): the
    class the page's selector starts at (default the most frequent training class), or the factors of
    the grid decoded in Python (a factor-conditional model's page does not decode live).
    """
    from genlab.explore._links import atomic_write
    from genlab.explore.export import decoder_module, export_decoder
    from genlab.explore.page import ORT_VERSION, render_page
    from genlab.explore.scene import SceneOptions, build_scene
    from genlab.latent.core import condition_of, decode_condition, embed, has_encoder

    # ---- everything is checked before anything is written
    if not getattr(model, "is_fitted", False):
        raise NotFittedError("explore: the model is not fitted; call fit(data) first")
    if getattr(model, "latent_dim", None) is None:
        from genlab.models import models_with

        raise NotSupported(
            f"explore: {model.name} has no latent space and no decoder; families with one: "
            f"{', '.join(models_with('latent'))}"
        )
    page_path, summary_path = _check_out(Path(out_dir), force)
    condition = decode_condition(model, labels=labels, factors=factors)
    if "labels" in condition and np.ndim(condition["labels"]) != 0:
        raise GenlabError("explore: labels must be one class (an index or a name): the class to start at")
    slow = _SLOW.get(model.name, {})
    options = SceneOptions(
        n_test=slow.get("n_test", 500) if n_test is None else n_test,
        n_train=slow.get("n_train", 2000) if n_train is None else n_train,
        neighbours=neighbours,
        grid=slow.get("grid", 15) if grid is None else grid,
        seed=seed,
    )
    options.check()
    if tuple(dataset.shape) != tuple(model.shape_) or dataset.kind != model.kind_:
        raise DataError(
            f"explore: the data set ({dataset.kind} {tuple(dataset.shape)}) does not match the model "
            f"({model.kind_} {tuple(model.shape_)})"
        )

    # ---- the decoder: in the page if it exports and reproduces decode(), else pictures from Python
    exported, reason = None, ""
    try:
        decoder_module(model)  # a family known not to export says so before anything is encoded
        latents = (
            embed(model, dataset.test[:2], **condition_of(model, dataset, "test", 2))
            if has_encoder(model)
            else None
        )
        exported = export_decoder(model, latents=latents)
    except NotSupported as e:
        reason = str(e)
    except GenlabError as e:  # exported but wrong: a stale adapter; say so, and fall back
        warnings.warn(str(e), stacklevel=2)
        reason = str(e)
    live = exported is not None
    note = _NOTES.get(model.name, "")
    if live:
        decode_note = "The decoder runs in this page."
    else:
        g = options.grid
        shown = (
            f"the picture under the mouse is the nearest of a {g} x {g} grid decoded in Python when this page "
            "was written (on the default plane, the other directions at their defaults)"
            if g
            else "only the points, the observations and their nearest training observations are shown"
        )
        decode_note = f"The decoder does not run in this page: {reason}. Instead {shown}."
        if condition:
            decode_note += f" Python decoded them with {_condition_text(model, condition)}."
    title = title or f"genlab explorer: {model.name} on {getattr(dataset, 'name', 'data')}"
    scene = build_scene(
        model, dataset, options=options, live=live, note=note, decode_note=decode_note, title=title,
        condition=condition,
    )  # fmt: skip
    if exported is not None:
        scene.data["model"]["conditional"] = exported.conditional
    page = render_page(scene, exported.onnx if exported else None, title=title)

    summary = {
        "page": PAGE_FILE,
        "page_bytes": len(page.encode()),
        "model": model.name,
        "latent_dim": int(model.latent_dim),
        "live": live,
        "reason": reason,
        "runtime": f"onnxruntime-web {ORT_VERSION} (wasm)" if live else None,
        "decoder_bytes": len(exported.onnx) if exported else 0,
        "decoder_ops": list(exported.ops) if exported else [],
        "check_max_error": exported.max_error if exported else None,
        "points": {
            "test": scene.data["points"]["test"]["shape"][0],
            "train": scene.data["points"]["train"]["shape"][0],
        },
        "grid": None if live or not options.grid else options.grid,
    }
    atomic_write(page_path, page)
    atomic_write(summary_path, json.dumps(summary, indent=2) + "\n")
    return page_path


def _condition_text(model: Any, condition: dict[str, Any]) -> str:
    if "labels" in condition:
        return f"class {model.class_names_[int(condition['labels'])]!r}"
    row = np.asarray(condition["factors"], np.float64).reshape(-1)
    return ", ".join(f"{k}={v:.3g}" for k, v in zip(model.factor_names_, row, strict=True))


def explore_run(
    run_dir: str | Path, out_dir: str | Path | None = None, *, force: bool = False, **options: Any
) -> Path:
    """`genlab explore RUN`: the explorer of a run folder's model on the run's data, written to
    `out_dir` (default RUN/explore/, under the run's lock); returns the page's path. Options as
    `write_explorer`."""
    from genlab.explore._links import EXPLORE_DIR, load_run_dataset, load_run_model, require_run, run_lock

    run = require_run(run_dir)
    model = load_run_model(run)
    dataset = load_run_dataset(run)
    out = Path(out_dir) if out_dir is not None else run / EXPLORE_DIR
    title = f"genlab explorer: {model.name} on {getattr(dataset, 'name', 'data')} ({run.resolve().name})"
    with run_lock(run, "explore", enabled=out_dir is None):
        return write_explorer(model, dataset, out, force=force, title=title, **options)
