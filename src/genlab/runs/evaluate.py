"""`evaluate_run`: judge a run's model on its own data and keep the result in the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genlab.fileio import read_json, write_json
from genlab.layout import DATA_FILE, EVALUATION_FILE
from genlab.runs.folder import read_log, require_run, run_lock

__all__ = ["evaluate_run", "load_run_dataset", "load_run_model"]


def load_run_dataset(path: str | Path) -> Any:
    """Reload the run's data exactly (same split); DataError if the source changed since the fit."""
    from genlab.data import dataset_from_json

    path = Path(path)
    if not path.name.endswith(".partial"):
        path = require_run(path)
    return dataset_from_json(read_json(path / DATA_FILE))


def load_run_model(path: str | Path) -> Any:
    from genlab.models.loading import load_model

    return load_model(path)


#: a slow sampler's guidance sweep: about this many seconds of sampling per scale, at least SWEEP_MIN_N
SWEEP_SECONDS = 8.0
SWEEP_MIN_N = 100


def evaluate_run(
    run_dir: str | Path,
    *,
    n: int | None = None,
    features: Any = "auto",
    seed: int = 0,
    model: Any = None,
    dataset: Any = None,
    lock: bool = True,
    guidance_scales: tuple[float, ...] | list[float] | None = None,
    guidance_n: int | None = None,
) -> Any:
    """Evaluate RUN's model (Rule 1 and Rule 2) and write RUN/evaluation.json and the report's figures.

    `model` and `dataset`: the ones in memory right after a fit (otherwise loaded from the run).
    `lock=False` when the caller already holds the run's lock (`fit_run`).
    A label-conditional model whose `sample` takes a `guidance` scale (diffusion) also gets the guidance
    sweep (`genlab.judge.perclass.guidance_sweep`: `guidance_n` samples, default 200, at each of
    `guidance_scales`, default 0, 1, 2, 4; with neither `n` nor `guidance_n` given and a sampler slow
    enough for the evaluation to cut its n, what SWEEP_SECONDS draws per scale, at least SWEEP_MIN_N);
    `guidance_n=0` skips it.
    """
    from genlab.judge.evaluation import evaluate
    from genlab.judge.perclass import (
        GUIDANCE_N,
        GUIDANCE_SCALES,
        accepts_guidance,
        guidance_sweep,
        is_label_conditional,
    )
    from genlab.runs.figures import draw_figures

    run_dir = Path(run_dir)
    with run_lock(run_dir, "evaluate", enabled=lock):
        if model is None:
            model = load_run_model(run_dir)
        if dataset is None:
            dataset = load_run_dataset(run_dir)
        ev = evaluate(model, dataset, n=n, features=features, seed=seed)
        sweep_n = GUIDANCE_N if guidance_n is None else int(guidance_n)
        if guidance_n is None and ev.n_choice is not None:  # a slow sampler (its n was cut): the sweep
            # gets about SWEEP_SECONDS per scale too, at least SWEEP_MIN_N samples
            sweep_n = int(min(sweep_n, max(SWEEP_MIN_N, ev.n_choice["samples_per_s"] * SWEEP_SECONDS)))
        if (
            sweep_n > 0
            and is_label_conditional(model)
            and accepts_guidance(model)
            and ev.per_class is not None
        ):
            scales = GUIDANCE_SCALES if guidance_scales is None else tuple(guidance_scales)
            ev.guidance = guidance_sweep(model, dataset, ev, scales=scales, n=sweep_n, seed=seed)
        write_json(run_dir / EVALUATION_FILE, ev.to_dict())
        draw_figures(run_dir, model=model, dataset=dataset, evaluation=ev, log=read_log(run_dir), seed=seed)
    return ev
