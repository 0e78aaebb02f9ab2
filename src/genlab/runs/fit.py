"""`fit_run`: data + model + budget + options -> a complete run folder, and `resume_run` to continue one.

`genlab fit`, `genlab demo` and the benchmarks all fit through here. The order is what keeps a user's
files safe:

1. everything is checked before anything is written: the data loads, the hyperparameters and
   training options are valid for it, the budget parses, the test split is large enough to evaluate,
   the output folder may be written;
2. under the run's lock, the new run is built in its hidden sibling `.NAME.partial` (run.json, data.json,
   checkpoints, log, model) and swapped into place only when the fit has succeeded, so an existing
   run is replaced only by a complete one (`--force`), and a failed or interrupted fit leaves it as
   it was;
3. Ctrl-C or SIGTERM during training stops after the current step with a checkpoint, marks the run
   "interrupted" and raises `Interrupted` (exit 130 or 143); `resume_run` continues it exactly.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.budget import parse_budget
from genlab.errors import GenlabError
from genlab.fileio import atomic_write, write_json
from genlab.layout import CHECKPOINTS_DIR, DATA_FILE, LOG_FILE
from genlab.runs.folder import (
    default_run_dir,
    find_run,
    is_run_folder,
    partial_path,
    path_is_partial,
    read_run,
    remove_tree,
    run_lock,
    swap_in,
    write_run,
)
from genlab.runs.sharing import leading, serve_draws, shared_text

__all__ = ["FitResult", "Interrupted", "fit_run", "process_rank", "resume_run"]

#: the fit options that only neural families take (closed-form families fit on one CPU)
DEVICE_KEYS = ("accelerator", "devices", "strategy", "precision", "num_nodes")
CLOSED_FORM_DEFAULTS = {
    "accelerator": ("cpu", "auto"),
    "devices": (1, "auto"),
    "strategy": ("auto",),
    "num_nodes": (1,),
}


class Interrupted(GenlabError):
    """A fit stopped by Ctrl-C (exit code 130) or SIGTERM (143); the message says how to resume."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class FitResult:
    run_dir: Path
    model: Any
    dataset: Any
    info: dict[str, Any]
    seconds: float
    evaluation: Any = None


def process_rank(devices: Any = None) -> int:
    """This process's global rank, read from the environment a launcher sets, as Lightning reads it:
    torchrun's RANK; SLURM's SLURM_PROCID in a job of several tasks; else NODE_RANK * (processes per
    node) + LOCAL_RANK (Lightning's own launcher and a hand-set multi-node environment); 0 alone."""
    env = os.environ
    if env.get("RANK"):
        return int(env["RANK"])
    if int(env.get("SLURM_NTASKS", "1") or 1) > 1 and env.get("SLURM_PROCID"):
        return int(env["SLURM_PROCID"])
    local = int(env.get("LOCAL_RANK", "0") or 0)
    node = int(env.get("NODE_RANK", env.get("GROUP_RANK", "0")) or 0)
    per_node = int(env.get("LOCAL_WORLD_SIZE") or (devices if isinstance(devices, int) else 1))
    return node * per_node + local


def _noop(_: str) -> None:
    pass


def _load_saved(run: Path) -> Any:
    from genlab.models.loading import load_model

    return load_model(run)


# ---------------------------------------------------------------------------------------------- checks
def _check_out(out: Path, force: bool) -> None:
    """May a new run be written to `out`? Raises a GenlabError saying why not."""
    if out.is_symlink():
        raise GenlabError(f"{out}: is a symbolic link; give the folder it points to, or another --out")
    if out.exists():
        if not out.is_dir():
            raise GenlabError(f"{out}: exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            if not force:
                raise GenlabError(
                    f"{out}: run folder already exists; pass --force to replace it, or choose another --out"
                )
            if not is_run_folder(out):
                raise GenlabError(f"{out}: not a genlab run folder; refusing to replace it even with --force")
    partial = partial_path(out)
    if partial.is_dir() and not force:
        try:
            status = read_run(partial).get("status")
        except GenlabError:
            status = None
        if status in ("interrupted", "running"):
            raise GenlabError(
                f"{out}: holds an unfinished fit ({status}); continue it with `genlab fit --resume {out}`, "
                "or pass --force to start again"
            )
    if not os.access(out.parent if out.parent.exists() else _first_existing(out.parent), os.W_OK):
        raise GenlabError(f"{out.parent}: folder is not writable")


def _first_existing(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _engine_options(model: Any, engine: dict[str, Any]) -> dict[str, Any]:
    """The options `model.fit` gets, checked now (before anything is written)."""
    from genlab.models.neural import NeuralModel
    from genlab.train import EngineOptions

    EngineOptions.from_kwargs("fit", **engine)  # raises on bad values, for every family
    if isinstance(model, NeuralModel):
        return dict(engine)
    for k, v in engine.items():
        if k in CLOSED_FORM_DEFAULTS and v not in CLOSED_FORM_DEFAULTS[k]:
            raise GenlabError(
                f"{model.name} is fitted in closed form on the CPU; --{k.replace('_', '-')} does not apply"
            )
    return {}


def _watch_options(model: Any, ds: Any, watch: Any, action: str) -> dict[str, Any]:
    """The watch options `model.fit` gets, checked now; closed-form families train no steps to watch."""
    from genlab.judge.watch import watch_for
    from genlab.models.neural import NeuralModel

    if not isinstance(model, NeuralModel):
        if watch not in ("auto", "off", None):
            raise GenlabError(
                f"{model.name} is fitted in closed form: there is no training to watch (--watch)"
            )
        return {}
    watch_for(ds, watch, action=action)  # raises on bad values
    return {"watch": watch, "watch_action": action}


def _check_evaluable(ds: Any, test_fraction: float) -> None:
    from genlab.judge.evaluation import MIN_N

    n_test = len(ds.test)
    if n_test < MIN_N:
        raise GenlabError(
            f"{ds.name}: the evaluation needs at least {MIN_N} held-out rows, but the split leaves {n_test} "
            f"({len(ds.train) + n_test} rows, test fraction {test_fraction:g}); raise --test-fraction, "
            "or pass --no-evaluate to fit without judging"
        )


def _tuples(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters read back from JSON: lists become tuples, as the families declare them."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


# ---------------------------------------------------------------------------------------------- signals
@contextmanager
def _stop_on_signals(graceful: bool, say: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """Ctrl-C / SIGTERM while fitting: with `graceful`, the first one asks the engine to stop after the
    current step (it checkpoints); a second one, or any one without `graceful`, stops at once."""
    state: dict[str, Any] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        first = state["signal"] is None
        state["signal"] = state["signal"] or signum
        if graceful and first:
            say("stopping after this step with a checkpoint (press Ctrl-C again to stop at once)")
            return
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _interrupted(build: Path, run: Path, info: dict[str, Any], signum: int | None) -> Interrupted:
    info.update(status="interrupted", interrupted=time.strftime("%Y-%m-%dT%H:%M:%S"))
    resumable = (build / CHECKPOINTS_DIR / "last").is_dir()
    if build.is_dir():
        write_run(build, info)
    code = 128 + int(signum or signal.SIGINT)
    what = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    if resumable:
        msg = f"interrupted ({what}); checkpoint saved. Continue with: genlab fit --resume {run}"
    else:
        msg = f"interrupted ({what}) before the first checkpoint; nothing to resume: fit {run} again"
    return Interrupted(msg, code)


# ---------------------------------------------------------------------------------------------- fit
def fit_run(
    data: Any,
    model: Any,
    *,
    out: str | Path | None = None,
    hyper: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    budget: str | None = None,
    seed: int = 0,
    engine: dict[str, Any] | None = None,
    force: bool = False,
    evaluate: bool = True,
    features: Any = "auto",
    test_fraction: float = 0.2,
    split_seed: int = 0,
    progress: Any = None,
    watch: Any = "auto",
    watch_action: str = "stop",
    say: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit `model` (a registered name, with `hyper`, or an unfitted model) on `data` (a built-in name or
    path, with `data_options`, or a Dataset) into the run folder `out` (default runs/DATA-MODEL), and
    evaluate it unless `evaluate=False`. `engine`: the training options of neural families
    (accelerator, devices, strategy, precision, num_nodes, ...). `watch`/`watch_action`: the Rule 2 watch
    of neural families ("auto", "rule2", "off"; "stop" or "warn"). `say` prints progress lines."""
    from genlab.data import load_dataset
    from genlab.models.base import resolve_seed
    from genlab.models.registry import make_model

    say = say or _noop
    engine = dict(engine or {})
    # 1. check everything before touching the disk
    parse_budget(budget)
    resolve_seed(seed)
    if isinstance(data, str | Path):
        ds = load_dataset(data, test_fraction=test_fraction, seed=split_seed, **(data_options or {}))
        source = str(data)
    else:
        if data_options:
            raise GenlabError(
                "fit_run: data_options apply to a data source given by name or path, not a Dataset"
            )
        ds, source = data, getattr(data, "source", "") or getattr(data, "name", "?")
    m = make_model(model, **(hyper or {})) if isinstance(model, str) else model
    if hyper and not isinstance(model, str):
        raise GenlabError("fit_run: hyper applies to a model given by name, not a model instance")
    m.check(ds)
    fit_options = _engine_options(m, engine)
    fit_options.update(_watch_options(m, ds, watch, watch_action))
    if evaluate:
        _check_evaluable(ds, test_fraction)
    run = Path(out) if out is not None else default_run_dir(source, m.name)
    rank = process_rank(engine.get("devices"))
    if rank == 0:
        _check_out(run, force)

    info: dict[str, Any] = {
        "model": m.name,
        "hyperparameters": m.get_params(),
        "data": source,
        "seed": seed,
        "budget": budget,
        "fabric": {k: engine[k] for k in DEVICE_KEYS if k in engine},
        "watch": {
            "watch": watch if isinstance(watch, str) or watch is None else "custom",
            "action": watch_action,
        },
        "status": "running",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "argv": sys.argv[1:],
    }
    build = partial_path(run)
    if rank != 0:  # a DDP worker: train beside rank 0, which alone writes the run folder
        m.fit(ds, budget=budget, seed=seed, **fit_options, run_dir=build, progress="off")
        # then draw its share of the evaluation's samples, from the model rank 0 saved
        if evaluate and getattr(m.train_result_, "stopped_by", None) != "interrupted":
            serve_draws(None, lambda: _load_saved(run))
        return FitResult(run, m, ds, info, 0.0)

    # 2. build beside the old run, under its lock
    with run_lock(run, "fit"):
        _check_out(run, force)  # again, now that no one else can change it
        remove_tree(build)
        try:
            build.mkdir(parents=True)
        except OSError as e:
            raise GenlabError(f"{build}: cannot create the run folder ({e.strerror})") from None
        write_json(build / DATA_FILE, ds.to_json())
        write_run(build, info)
        say(
            f"fitting [bold]{m.name}[/] on [bold]{ds.name}[/] ({len(ds.train)} train / {len(ds.test)} test, "
            f"shape {ds.shape}) -> {run}"
        )
        seconds = _fit_into(m, ds, build, run, info, budget=budget, seed=seed, options=fit_options,
                            resume=False, progress=progress, say=say)  # fmt: skip
        swap_in(build, run)
        say(f"fitted in {seconds:.1f}s; saved to {run}")
        ev = None
        if evaluate:
            from genlab.runs.evaluate import evaluate_run

            with leading(None) as sharing:  # the fit's processes share the draws
                ev = evaluate_run(run, features=features, model=m, dataset=ds, seed=0, lock=False)
            if shared_text(sharing):
                say(f"evaluation samples{shared_text(sharing)}")
    return FitResult(run, m, ds, info, seconds, ev)


def _fit_into(
    m: Any,
    ds: Any,
    build: Path,
    run: Path,
    info: dict[str, Any],
    *,
    budget: str | None,
    seed: int,
    options: dict[str, Any],
    resume: bool,
    progress: Any,
    say: Callable[[str], None],
) -> float:
    """Fit (or resume) in `build`, then save the model and mark run.json done; seconds spent."""
    from genlab.models.neural import NeuralModel

    neural = isinstance(m, NeuralModel)
    t0 = time.time()
    with _stop_on_signals(neural, say) as stop:
        try:
            if neural:
                m.fit(ds, budget=budget, seed=seed, **options, run_dir=build, resume=resume, progress=progress,
                      should_stop=lambda: stop["signal"] is not None)  # fmt: skip
            else:
                m.fit(ds, budget=budget, seed=seed)
        except KeyboardInterrupt:
            raise _interrupted(build, run, info, stop["signal"]) from None
        except BaseException as e:
            if build.is_dir():
                write_run(build, {**info, "status": "failed", "error": f"{type(e).__name__}: {e}"})
            raise
    if neural and m.train_result_.stopped_by == "interrupted":
        raise _interrupted(build, run, info, stop["signal"])
    seconds = time.time() - t0
    finish_fit(build, m, ds, info, seconds)
    return seconds


def finish_fit(path: str | Path, model: Any, data: Any, info: dict[str, Any], seconds: float) -> None:
    """After a fit into run folder `path`: save the model, give closed-form families the one log line that
    neural families' training writes (wall time, train/test log-likelihood), and mark run.json done."""
    import json

    path = Path(path)
    model.save(path, overwrite=True)
    if not (path / LOG_FILE).exists():
        row: dict[str, Any] = {"step": 0, "epoch": 0, "wall_time": round(seconds, 3)}
        if model.log_prob_kind is not None:
            row["train_log_prob"] = float(model.log_prob(data.train[:5000]).mean())
            if len(data.test):
                row["test_log_prob"] = float(model.log_prob(data.test[:5000]).mean())
        atomic_write(path / LOG_FILE, json.dumps(row) + "\n")
    result = getattr(model, "train_result_", None)
    if result is not None and result.watch is not None:
        w = result.watch
        info["watch_result"] = {"checks": w["checks"], "seconds": round(w["seconds"], 3),
                                "last_passed_step": w["passed_step"], "stopped": w["stopped"]}  # fmt: skip
    if result is not None:
        info["steps"] = result.steps
        info["stopped_by"] = result.stopped_by
        info["device"] = {
            "device": result.device,
            "processes": result.world_size,
            "precision": result.precision,
        }
    else:
        info["device"] = {"device": "cpu", "processes": 1, "precision": "64 (closed form)"}
    info.update(status="done", fit_seconds=round(seconds, 3), finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_run(path, info)


# ---------------------------------------------------------------------------------------------- resume
def resume_run(
    run: str | Path,
    *,
    engine: dict[str, Any] | None = None,
    evaluate: bool = True,
    features: Any = "auto",
    progress: Any = None,
    say: Callable[[str], None] | None = None,
) -> FitResult:
    """Continue an interrupted or killed fit of RUN from its last checkpoint, with the run's own data,
    model, seed and budget (`engine` may change devices); then swap it into place and evaluate it."""
    from genlab.models.neural import NeuralModel
    from genlab.models.registry import make_model
    from genlab.runs.evaluate import load_run_dataset

    say = say or _noop
    run = Path(run)
    rank = process_rank((engine or {}).get("devices"))
    with run_lock(run, "fit --resume", enabled=rank == 0):
        folder = find_run(run)
        info = read_run(folder)
        if info.get("status") == "done":
            raise GenlabError(f"{run}: this run already finished; nothing to resume")
        if "model" not in info:
            raise GenlabError(f"{folder}: run.json does not say which model was fitted")
        m = make_model(info["model"], **_tuples(info.get("hyperparameters", {})))
        if not isinstance(m, NeuralModel):
            raise GenlabError(
                f"{run}: {m.name} fits in closed form; there is nothing to resume, fit again instead"
            )
        if not (folder / CHECKPOINTS_DIR / "last").is_dir():
            raise GenlabError(
                f"{run}: the fit was stopped before its first checkpoint, so there is nothing to resume; "
                f"fit it again (with --force)"
            )
        ds = load_run_dataset(folder)
        fabric = {**info.get("fabric", {}), **{k: v for k, v in (engine or {}).items() if v is not None}}
        options = _engine_options(m, fabric)
        w = info.get("watch") or {}
        options.update(_watch_options(m, ds, w.get("watch", "auto") if w.get("watch") != "custom" else "auto",
                                      w.get("action", "stop")))  # fmt: skip
        if evaluate:
            _check_evaluable(ds, float(getattr(ds, "test_fraction", 0.2)))
        if rank != 0:
            m.fit(ds, budget=info.get("budget"), seed=info.get("seed", 0), **options, run_dir=folder,
                  resume=True, progress="off")  # fmt: skip
            if evaluate and getattr(m.train_result_, "stopped_by", None) != "interrupted":
                serve_draws(None, lambda: _load_saved(run))
            return FitResult(run, m, ds, info, 0.0)
        info.update(status="running", fabric=fabric, resumed=time.strftime("%Y-%m-%dT%H:%M:%S"))
        write_run(folder, info)
        say(f"resuming {info['model']} in {run}")
        seconds = _fit_into(m, ds, folder, run, info, budget=info.get("budget"), seed=info.get("seed", 0),
                            options=options, resume=True, progress=progress, say=say)  # fmt: skip
        if path_is_partial(folder):
            swap_in(folder, run)
        say(f"fitted in {seconds:.1f}s; saved to {run}")
        ev = None
        if evaluate:
            from genlab.runs.evaluate import evaluate_run

            with leading(None) as sharing:
                ev = evaluate_run(run, features=features, model=m, dataset=ds, lock=False)
            if shared_text(sharing):
                say(f"evaluation samples{shared_text(sharing)}")
    return FitResult(run, m, ds, info, seconds, ev)
