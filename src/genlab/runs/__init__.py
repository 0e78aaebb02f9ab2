"""Run folders: what `genlab fit` writes and every other command reads (file names in `genlab.layout`).

    fit_run(data, model, out=..., budget=...)   check everything, build beside the old run, swap in, evaluate
    resume_run(RUN)                             continue an interrupted or killed fit exactly
    evaluate_run(RUN)                           judge the model; write evaluation.json and figures/
    leading(options) / serve_draws(options, load)   share the draws of a command over processes

Modules: `folder` (reading, the partial-then-swap build, locks), `fit`, `evaluate`, `figures`,
`sharing`.
"""

from genlab.runs.evaluate import evaluate_run, load_run_dataset, load_run_model
from genlab.runs.fit import FitResult, Interrupted, finish_fit, fit_run, process_rank, resume_run
from genlab.runs.folder import (
    RunLock,
    default_run_dir,
    find_run,
    is_run_folder,
    partial_path,
    read_log,
    read_run,
    require_run,
    run_lock,
    write_run,
)
from genlab.runs.sharing import leading, serve_draws, shared_text

__all__ = [
    "FitResult",
    "Interrupted",
    "RunLock",
    "default_run_dir",
    "evaluate_run",
    "find_run",
    "finish_fit",
    "fit_run",
    "is_run_folder",
    "leading",
    "load_run_dataset",
    "load_run_model",
    "partial_path",
    "process_rank",
    "read_log",
    "read_run",
    "require_run",
    "resume_run",
    "run_lock",
    "serve_draws",
    "shared_text",
    "write_run",
]
