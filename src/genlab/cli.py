"""The `genlab` command line. Heavy libraries (torch, lightning, sklearn) are imported inside commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from genlab.errors import GenlabError
from genlab.layout import DATA_FILE, EVALUATION_FILE

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="genlab: fit generative models, sample them, judge them (fidelity and novelty), explore their latents.",
)
out = Console()
err = Console(stderr=True)
_STATE = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False) -> None:
    _STATE["debug"] = debug


# ---------------------------------------------------------------------- helpers
def parse_value(text: str) -> Any:
    """`--set` values: JSON scalars/lists (8, 0.1, true, null, [64,64]), "64,64" as a tuple, else the string."""
    try:
        v = json.loads(text)
        return tuple(v) if isinstance(v, list) else v
    except json.JSONDecodeError:
        pass
    if "," in text:
        return tuple(parse_value(p.strip()) for p in text.split(",") if p.strip())
    return text


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    out_: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise GenlabError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        if not k.strip():
            raise GenlabError(f"--set expects key=value, got {item!r}")
        out_[k.strip()] = parse_value(v.strip())
    return out_


def split_sets(
    sets: dict[str, Any], model_name: str, model_params: list[str], data_options: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`--set` keys naming a hyperparameter go to the model, `data.KEY` and the loader's options to the
    data; anything else is an error that lists both."""
    hyper, data_opts = {}, {}
    for k, v in sets.items():
        if k.startswith("data."):
            data_opts[k[5:]] = v
        elif k in model_params:
            hyper[k] = v
        elif k in data_options:
            data_opts[k] = v
        else:
            raise GenlabError(
                f"--set {k}: not a hyperparameter of {model_name} ({', '.join(model_params) or 'none'}) "
                f"nor an option of the data ({', '.join(data_options) or 'none'})"
            )
    return hyper, data_opts


def _check_out_file(path: Path, force: bool, suffixes: tuple[str, ...]) -> None:
    """An output file the user named: right type, and an existing file only replaced with --force."""
    if path.suffix.lower() not in suffixes:
        raise GenlabError(
            f"{path}: unsupported output type {path.suffix or '(none)'}; use one of {', '.join(suffixes)}"
        )
    if path.is_dir():
        raise GenlabError(f"{path}: is a folder; give a file name (e.g. {path / ('out' + suffixes[0])})")
    if path.exists() and not force:
        raise GenlabError(f"{path}: already exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise GenlabError(f"{parent}: is not a folder")


# the device options, one definition for every command that takes them (fit, sample, evaluate)
Accelerator = Annotated[str, typer.Option(help="auto (a GPU when there is one), cpu or gpu.")]
Devices = Annotated[int, typer.Option(help="Devices per machine (processes with --strategy ddp).")]
NumNodes = Annotated[
    int, typer.Option("--num-nodes", help="Machines (see the guide: more than one machine).")
]
Strategy = Annotated[str, typer.Option(help="auto or ddp.")]


def _shard_options(accelerator: str, devices: int, num_nodes: int, strategy: str) -> dict[str, Any] | None:
    """The device options of `sample`/`evaluate`, checked (a GenlabError naming the option); None for
    the defaults (one process: nothing is started, torch and Lightning are not even imported)."""
    if (accelerator, devices, num_nodes, strategy) == ("auto", 1, 1, "auto"):
        return None
    from genlab.train.shard import check_shard_options

    return check_shard_options(
        accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy
    )


def _not_label_conditional(option: str, run: Path, mode: str | bool) -> str:
    what = "conditioned on factors (use --where FACTOR=VALUE)" if mode == "factors" else "not conditional"
    return f"{option}: the model in {run} is {what}; fit one with --set conditional=labels on labelled data"


def condition_options(
    model: Any, run: Path, klass: str | None, where: list[str] | None
) -> tuple[int | None, dict[str, float] | None]:
    """`--class` and `--where FACTOR=VALUE` of a command that decodes (latent, explore) -> (class index,
    factors); one-line GenlabErrors when the model conditions on something else."""
    from genlab.models.where import factor_where

    mode = model.conditional_mode
    if klass is not None and mode != "labels":
        raise GenlabError(_not_label_conditional("--class", run, mode))
    if where and mode != "factors":
        raise GenlabError(
            f"--where: the model in {run} is "
            + ("conditioned on labels (use --class)" if mode == "labels" else "not conditional")
            + "; --where FACTOR=VALUE needs a model fitted with --set conditional=factors"
        )
    labels = model.class_index(klass) if klass is not None else None
    return labels, (factor_where(model, where) if where else None)


def check_guidance(model: Any, run: Path, option: str, *, sweep: bool) -> None:
    """A one-line GenlabError unless `model` takes a classifier-free guidance scale (a conditional
    diffusion model; for the sweep of `evaluate`, conditional on labels)."""
    from genlab.judge.perclass import accepts_guidance

    mode = model.conditional_mode
    if not accepts_guidance(model):
        raise GenlabError(
            f"{option}: the {model.name} model in {run} has no classifier-free guidance; it is for a "
            "conditional diffusion model (--model diffusion --set conditional=true)"
        )
    if not mode or (sweep and mode != "labels"):
        what = "not conditional" if not mode else "conditioned on factors, and the sweep judges classes"
        raise GenlabError(
            f"{option}: the {model.name} model in {run} is {what}; the guidance "
            f"{'sweep needs' if sweep else 'scale needs'} a model fitted with --set conditional="
            f"{'labels' if sweep else 'true'}"
        )


def check_scale(value: float, option: str) -> float:
    import math

    if not math.isfinite(value) or value < 0:
        raise GenlabError(f"{option}: a guidance scale is a finite number >= 0, got {value:g}")
    return float(value)


def parse_scales(text: str, option: str) -> list[float]:
    """Scales "0,1,2,4" -> [0.0, 1.0, 2.0, 4.0]: finite numbers >= 0, at least one, none repeated."""
    scales = []
    for part in text.split(","):
        try:
            scales.append(check_scale(float(part.strip()), option))
        except ValueError:
            raise GenlabError(
                f"{option} {text}: expects guidance scales separated by commas (e.g. 0,1,2,4); "
                f"{part.strip()!r} is not a number"
            ) from None
    if len(set(scales)) != len(scales):
        raise GenlabError(f"{option} {text}: a scale is repeated")
    return scales


# ---------------------------------------------------------------------- listing
@app.command()
def datasets() -> None:
    """List the built-in data sets (any .npz/.npy/.csv file, image folder or IDX file works too)."""
    from genlab.data import list_datasets

    table = Table("name", "description", title="built-in data sets")
    items = list_datasets()
    for name, desc in items.items() if isinstance(items, dict) else ((n, "") for n in items):
        table.add_row(name, desc)
    out.print(table)


@app.command()
def models() -> None:
    """List the model families: likelihood kind and whether they have a latent space."""
    from genlab.models import REGISTRY

    table = Table("name", "family", "log_prob", "latent", "conditional", "summary", title="model families")
    labels = {"exact": "exact", "lower_bound": "lower bound", "none": "none"}
    for s in REGISTRY.values():
        cond = ", ".join(s.conditions) if s.conditions else "no"
        table.add_row(s.name, s.family, labels[s.likelihood], "yes" if s.latent else "no", cond, s.summary)
    out.print(table)
    out.print(
        "conditional: fit with --set conditional=true on labelled data (or tins' factors), then "
        "`genlab sample RUN --class 7`, `--per-class 8` or `--where height=0.8`; see docs/conditional.md."
    )
    out.print(
        "log_prob is a natural-log density in the data's own units, except: autoregressive on discrete images gives "
        "a log probability mass (compare via bits per dimension after dequantisation); lower bound = ELBO/IWAE; "
        "ebm has an unnormalised energy(x) instead."
    )
    from genlab.models.sizing import SIZING, describe

    out.print(
        "Network size: a hyperparameter left at its default (None) is chosen at fit time from the data's shape, "
        "the budget and the device (a --set value always wins; docs/images.md):"
    )
    for name in SIZING:
        out.print(f"  {name}: {describe(name)}")


# ---------------------------------------------------------------------- fit
@app.command()
def fit(
    data: Annotated[str | None, typer.Argument(help="Built-in data set name or a path.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model family (see `genlab models`).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder (default runs/DATA-MODEL).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split-independent fit randomness.")] = 0,
    budget: Annotated[str | None, typer.Option(help="e.g. 90s, 5m, 3000steps, 20epochs.")] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="key=value hyperparameter or loader option.")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace an existing run folder (once the new fit has succeeded).")
    ] = False,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the run in this folder from its last checkpoint.")
    ] = None,
    accelerator: Accelerator = "auto",
    devices: Devices = 1,
    num_nodes: NumNodes = 1,
    strategy: Strategy = "auto",
    precision: Annotated[str, typer.Option(help="32, bf16-mixed or 16-mixed.")] = "32",
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Judge the model after fitting.")
    ] = True,
    test_fraction: Annotated[float, typer.Option(help="Held-out share of the data.")] = 0.2,
    split_seed: Annotated[int, typer.Option(help="Seed of the train/test split.")] = 0,
    watch: Annotated[
        str, typer.Option(help="Rule 2 watch during training: auto (small data sets), rule2 or off.")
    ] = "auto",
    watch_action: Annotated[
        str,
        typer.Option(
            "--watch-action", help="When the watch sees copying: stop (keep the last good model) or warn."
        ),
    ] = "stop",
) -> None:
    """Fit a model and write a run folder."""
    from genlab import runs

    say = _say()
    engine = {"accelerator": accelerator, "devices": devices, "num_nodes": num_nodes, "strategy": strategy,
              "precision": precision}  # fmt: skip
    if resume is not None:
        if data is not None or model is not None or sets:
            raise GenlabError(
                f"--resume {resume} continues the run with the data, model and settings it recorded; "
                "drop DATA, --model and --set"
            )
        res = runs.resume_run(resume, engine=engine, evaluate=evaluate, say=say)
    else:
        if data is None or model is None:
            raise GenlabError("fit needs DATA and --model (or --resume RUN)")
        from genlab.data import dataset_options
        from genlab.models import get_model_class

        cls = get_model_class(model)
        hyper, data_opts = split_sets(
            parse_sets(sets), model, cls._param_names(), list(dataset_options(data))
        )
        res = runs.fit_run(
            data, model, out=out_dir, hyper=hyper, data_options=data_opts, budget=budget, seed=seed,
            engine=engine, force=force, evaluate=evaluate, test_fraction=test_fraction,
            split_seed=split_seed, watch=watch, watch_action=watch_action, say=say,
        )  # fmt: skip
    if res.evaluation is not None and runs.process_rank(devices) == 0:
        from genlab.judge.console import print_evaluation

        print_evaluation(res.evaluation, out)
        err.print(f"evaluated in {res.evaluation.seconds:.1f}s -> {res.run_dir / EVALUATION_FILE}")


def _say():  # noqa: ANN202 - a callable(str)
    return lambda text: err.print(text, highlight=False)


# ---------------------------------------------------------------------- sample / info
@app.command()
def sample(
    run: Annotated[Path, typer.Argument(help="Run folder (or saved model folder).")],
    n: Annotated[int, typer.Option("-n", help="How many samples.")] = 64,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help=".npz, .npy, .png (grid or scatter), .csv; a table model writes .csv"
        ),
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Sampling settings, e.g. sampler=ddim.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="Table models: keep rows with COLUMN=VALUE (rejection sampling); factor-conditional "
            "models: draw with FACTOR=VALUE (e.g. height=0.8, in the data's factor units).",
        ),
    ] = None,
    klass: Annotated[
        str | None,
        typer.Option(
            "--class", help="Conditional models: draw this class (its index or name, e.g. 7 or Sandal)."
        ),
    ] = None,
    per_class: Annotated[
        int | None,
        typer.Option(
            "--per-class",
            help="Conditional models: this many draws of every class (a PNG: one row per class).",
        ),
    ] = None,
    guidance: Annotated[
        float | None,
        typer.Option(
            "--guidance",
            help="Conditional diffusion: the classifier-free guidance scale (0 unconditional, 1 plain "
            "conditional, larger: truer to the class, less diverse; default: the model's, 2).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    accelerator: Accelerator = "auto",
    devices: Devices = 1,
    num_nodes: NumNodes = 1,
    strategy: Strategy = "auto",
) -> None:
    """Draw samples from a fitted model (a table model writes a CSV with the table's header and types).
    With --devices N (or --num-nodes) the draws are shared over the processes; the file is the same."""
    import numpy as np

    import genlab
    from genlab import runs
    from genlab.models.where import factor_where

    shard = _shard_options(accelerator, devices, num_nodes, strategy)
    if runs.process_rank(devices) != 0:  # started by rank 0 (or a launcher): draw its chunks, write nothing
        runs.serve_draws(shard, lambda: genlab.load(run))
        return
    if out_file is not None:
        _check_out_file(out_file, force, (".npz", ".npy", ".png", ".csv"))
    m = genlab.load(run)
    table = m.table is not None
    out_file = out_file or Path("samples.csv" if table else "samples.png")
    _check_out_file(out_file, force, (".csv",) if table else (".npz", ".npy", ".png", ".csv"))
    mode = m.conditional_mode
    if (klass is not None or per_class is not None) and mode != "labels":
        raise GenlabError(_not_label_conditional("--class/--per-class", run, mode))
    if klass is not None and per_class is not None:
        raise GenlabError("--class and --per-class: give one of them")
    if per_class is not None and per_class < 1:
        raise GenlabError(f"--per-class must be a positive integer, got {per_class}")
    factors = None
    if where and mode == "factors":
        factors = factor_where(m, where)
    elif where and not table:
        raise GenlabError(
            f"--where: {run} holds a model fitted on arrays, not a table, and not conditioned on factors; "
            "it has nothing to condition on"
        )
    labels: Any = None
    if klass is not None:
        labels = m.class_index(klass)
    elif per_class is not None:
        n = per_class * m.n_classes_
        labels = np.repeat(np.arange(m.n_classes_), per_class)
    if sets:
        m.set_params(**parse_sets(sets))
    if guidance is not None:
        check_guidance(m, run, "--guidance", sweep=False)
        m.set_params(guidance=check_scale(guidance, "--guidance"))
    t0 = time.time()
    if table:
        from genlab.models.where import sample_where

        with runs.leading(shard) as sharing:
            if where:
                frame = sample_where(m, n, where, seed=seed, labels=labels)
            else:
                frame = m.sample(n, seed=seed, labels=labels)
        write_table(frame, out_file)
        took = f"in {time.time() - t0:.1f}s{runs.shared_text(sharing)}"
        err.print(f"{n} rows of {frame.shape[1]} columns {took} -> {out_file}")
        return
    with runs.leading(shard) as sharing:
        x, used = m.sample(n, seed=seed, labels=labels, factors=factors, return_labels=True)
    rows = list(m.class_names_) if per_class is not None else None
    write_samples(x, out_file, kind=m.kind_, labels=used, row_labels=rows, nrow=per_class)
    what = f" of class {m.class_names_[labels]!r}" if klass is not None else ""
    what += f" at guidance {guidance:g}" if guidance is not None else ""
    took = f"in {time.time() - t0:.1f}s{runs.shared_text(sharing)}"
    err.print(f"{n} samples{what} of shape {tuple(x.shape[1:])} {took} -> {out_file}")


def write_table(frame: Any, path: Path) -> None:
    """A table as CSV: the header, integers as integers, NA for a missing cell (what pandas.read_csv reads)."""
    from genlab.fileio import atomic_write

    atomic_write(path, frame.to_csv(index=False, na_rep="NA", lineterminator="\n"))


def write_samples(
    x: Any,
    path: Path,
    *,
    kind: str,
    labels: Any = None,
    row_labels: list[str] | None = None,
    nrow: int | None = None,
) -> None:
    """Samples as .npy, .npz (with `labels`, the conditions drawn, beside them), .csv, or a PNG (a grid of
    images, `nrow` per row with `row_labels` beside the rows, or a scatter of vectors)."""
    import io

    import numpy as np

    from genlab.fileio import atomic_write

    suffix = path.suffix.lower()
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, x)
        atomic_write(path, buf.getvalue())
    elif suffix == ".npz":
        buf = io.BytesIO()
        np.savez_compressed(buf, samples=x, **({} if labels is None else {"labels": labels}))
        atomic_write(path, buf.getvalue())
    elif suffix == ".csv":
        flat = x.reshape(len(x), -1)
        header = ",".join(f"x{i}" for i in range(flat.shape[1]))
        buf = io.StringIO()
        np.savetxt(buf, flat, delimiter=",", header=header, comments="", fmt="%.7g")
        atomic_write(path, buf.getvalue())
    elif kind == "image":
        from genlab.viz.images import image_grid_png

        atomic_write(path, image_grid_png(x, nrow=nrow, row_labels=row_labels))
    else:
        from genlab.viz.plots import scatter_png

        scatter_png(x, path)


@app.command()
def info(
    run: Annotated[Path, typer.Argument(help="Run folder, or a data file to see how genlab reads it.")],
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Loader options, e.g. types=year:numeric.")
    ] = None,
) -> None:
    """Summarise a run (data and its column types, model, training, verdicts), or a data file before fitting."""
    from genlab import runs
    from genlab.fileio import read_json

    if not run.is_dir() and run.exists():
        from genlab.data import load_dataset

        ds = load_dataset(run, **parse_sets(sets))
        table = Table(show_header=False, title=str(run))
        table.add_row(
            "data", f"{ds.name}: {ds.n_train} train / {ds.n_test} test, {ds.kind}, shape {ds.shape}"
        )
        out.print(table)
        if ds.table is not None:
            out.print(_columns_table(ds.table.codec.to_json()))
        return
    if sets:
        raise GenlabError(
            "--set applies to a data file, not a run folder (its data was read when it was fitted)"
        )
    folder = runs.find_run(run)
    r = runs.read_run(folder)
    table = Table(show_header=False, title=str(run))
    table.add_row("model", str(r.get("model", "?")))
    table.add_row("hyperparameters", json.dumps(r.get("hyperparameters", {})))
    table.add_row("conditional", _condition_text(folder))
    d = read_json(folder / DATA_FILE) if (folder / DATA_FILE).is_file() else {}
    if d:
        table.add_row(
            "data",
            f"{d.get('name', d.get('source'))}: {d.get('n_train')} train / {d.get('n_test')} test, "
            f"shape {tuple(d.get('shape', []))}, fingerprint {d.get('fingerprint')}",
        )
    status = str(r.get("status", "?"))
    if status == "interrupted":
        status += f" (continue with: genlab fit --resume {run})"
    elif status == "running" and folder != run:
        status += " (or killed: if no genlab process is fitting it, continue with `genlab fit --resume`)"
    table.add_row("status", status)
    if "fit_seconds" in r:
        steps = f", {r['steps']} steps, stopped by {r.get('stopped_by')}" if "steps" in r else ""
        table.add_row(
            "fit time",
            f"{r['fit_seconds']:.1f}s (budget {r.get('budget') or 'default'}, seed {r.get('seed')}{steps})",
        )
    if r.get("watch_result"):
        w = r["watch_result"]
        stop = w.get("stopped")
        text = f"{w['checks']} checks, {w['seconds']:.1f}s"
        if stop:
            text += f"; stopped at step {stop['step']} ({stop.get('reason')}), kept the model of step {stop.get('kept_step')}"
        table.add_row("Rule 2 watch", text)
    if r.get("device"):
        dev = r["device"]
        table.add_row(
            "trained on",
            f"{dev.get('device')} x {dev.get('processes')} process(es), precision {dev.get('precision')}",
        )
    if r.get("fabric"):
        table.add_row("asked for", ", ".join(f"{k}={v}" for k, v in r["fabric"].items()))
    log = runs.read_log(folder)
    if log:
        last = log[-1]
        table.add_row(
            "log",
            f"{len(log)} lines; last: "
            + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items()),
        )
    ev = folder / EVALUATION_FILE
    if ev.is_file():
        v = read_json(ev).get("verdict", {})
        table.add_row("verdict", f"Rule 1 (fidelity): {v.get('rule1')}, Rule 2 (novelty): {v.get('rule2')}")
    out.print(table)
    if isinstance(d.get("table"), dict):
        out.print(_columns_table(d["table"]))


def _condition_text(folder: Path) -> str:
    """What a run's saved model conditions on, in words (from its config.json)."""
    from genlab.fileio import read_json
    from genlab.layout import CONFIG_FILE

    path = folder / CONFIG_FILE
    cfg = read_json(path) if path.is_file() else {}
    cond = cfg.get("condition") if isinstance(cfg, dict) else None
    if not isinstance(cond, dict):
        return "no"
    if cond.get("mode") == "labels":
        names = [str(c) for c in cond.get("class_names", [])]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"on labels: {len(names)} classes ({shown}); sample with --class or --per-class"
    return (
        f"on factors: {', '.join(map(str, cond.get('factor_names', [])))}; sample with --where FACTOR=VALUE"
    )


def _columns_table(table_json: dict[str, Any]) -> Any:
    """The columns of a table as genlab inferred them."""
    from genlab.data.table import TableCodec

    codec = TableCodec.from_json(table_json)
    t = Table("column", "kind", "dtype", "values", "missing", title=f"columns (TSTR target: {codec.target})")
    for c in codec.columns:
        t.add_row(c.name, c.kind, c.dtype, c.values_text(), f"{c.missing:.1%}")
    return t


# ---------------------------------------------------------------------- evaluate
@app.command("evaluate")
def evaluate_cmd(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    n: Annotated[
        int | None,
        typer.Option(
            "--n",
            help="Number of generated samples (default: min(test rows, 2,000) for images, 10,000 otherwise).",
        ),
    ] = None,
    features: Annotated[str, typer.Option(help="auto, pixels, random or a TorchScript file.")] = "auto",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the result here.")] = None,
    guidance: Annotated[
        str | None,
        typer.Option(
            "--guidance",
            help="Label-conditional diffusion: the scales of the guidance sweep, e.g. 0,1,2,4 (the "
            "default); label accuracy, precision and recall at each.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --json file.")] = False,
    accelerator: Accelerator = "auto",
    devices: Devices = 1,
    num_nodes: NumNodes = 1,
    strategy: Strategy = "auto",
) -> None:
    """Judge a fitted model: Rule 1 (fidelity) and Rule 2 (novelty), each beside a held-out reference.
    With --devices N (or --num-nodes) the samples are drawn by all the processes; rank 0 judges them.
    A label-conditional model is judged per class too; a label-conditional diffusion model also gets
    the guidance sweep (--guidance sets its scales)."""
    from genlab import runs
    from genlab.judge.console import print_evaluation

    shard = _shard_options(accelerator, devices, num_nodes, strategy)
    if runs.process_rank(devices) != 0:  # started by rank 0 (or a launcher): draw its chunks, write nothing
        runs.serve_draws(shard, lambda: runs.load_run_model(run))
        return
    runs.require_run(run)
    if json_out is not None:
        _check_out_file(json_out, force, (".json",))
        if json_out.resolve().parent == run.resolve():
            raise GenlabError(f"{json_out}: inside the run folder; choose a path outside {run}")
    model = scales = None
    if guidance is not None:
        scales = parse_scales(guidance, "--guidance")
        model = runs.load_run_model(run)
        check_guidance(model, run, "--guidance", sweep=True)
    t0 = time.time()
    with runs.leading(shard) as sharing:
        ev = runs.evaluate_run(run, n=n, features=features, model=model, guidance_scales=scales)
    if scales is not None and ev.guidance is None:
        err.print("note: no guidance sweep: the data set has no held-out labels to judge classes by")
    print_evaluation(ev, out)
    if json_out is not None:
        from genlab.fileio import write_json

        write_json(json_out, ev.to_dict())
    err.print(f"evaluated in {time.time() - t0:.1f}s{runs.shared_text(sharing)} -> {run / EVALUATION_FILE}")


# ---------------------------------------------------------------------- latent / report / compare / demo
@app.command()
def latent(
    run: Annotated[Path, typer.Argument(help="Run folder of a model with a latent space.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the figures (default RUN/latent).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed that picks the interpolation pairs.")] = 0,
    grid: Annotated[int, typer.Option(help="Latent map size: grid x grid decoded points.")] = 15,
    klass: Annotated[
        str | None,
        typer.Option(
            "--class",
            help="Label-conditional models: decode the map and interpolations with this class (index or "
            "name; default: the most frequent training class).",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="Factor-conditional models: decode with FACTOR=VALUE (e.g. height=0.8); factors not "
            "named stay at their training medians.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite figures already in --out.")] = False,
) -> None:
    """Latent-space figures (map, scatter, interpolations) and factor R^2, as PNGs and latent.json.
    A conditional model encodes the data with their own labels (or factors) and decodes with --class
    (or --where)."""
    from genlab import runs
    from genlab.latent import LATENT_FILES, latent_figures

    runs.require_run(run)
    target = out_dir or run / "latent"
    taken = [f for f in LATENT_FILES if (target / f).exists()]
    if taken and not force:
        raise GenlabError(f"{target}: already holds {', '.join(taken)}; pass --force to overwrite them")
    model = runs.load_run_model(run)
    labels, factors = condition_options(model, run, klass, where)
    ds = runs.load_run_dataset(run)
    t0 = time.time()
    summary = latent_figures(model, ds, target, seed=seed, grid=grid, labels=labels, factors=factors)
    cond = summary.get("condition", {})
    if "class" in cond:
        why = "" if cond["chosen"] == "given" else " (the most frequent training class; choose with --class)"
        err.print(f"decoded with class {cond['class']!r}{why}", highlight=False)
    elif "factors" in cond:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in cond["factors"].items())
        err.print(f"decoded with {shown} (factors not in --where: training medians)", highlight=False)
    for key, value in summary.get("factor_r2", {}).items():
        out.print(f"factor {key}: linear R^2 {value['linear']:.3f}, k-NN R^2 {value['knn']:.3f}")
    files = ", ".join([*summary["figures"].values(), "latent.json"])
    err.print(f"latent figures in {time.time() - t0:.1f}s -> {target} ({files})")


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default RUN/report.html).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out file.")] = False,
) -> None:
    """One self-contained HTML report of a run (data, training, samples, Rule 1/2, latent space), drawn
    from what the run folder holds: it never samples or trains."""
    from genlab.report.html import write_report

    if out_file is not None:
        _check_out_file(out_file, force, (".html", ".htm"))
    t0 = time.time()
    path = write_report(run, out_file)
    err.print(f"report in {time.time() - t0:.1f}s -> {path} (open {path.resolve().as_uri()})")


@app.command()
def explore(
    run: Annotated[Path, typer.Argument(help="Run folder of a model with a latent space.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the page (default RUN/explore/).")
    ] = None,
    klass: Annotated[
        str | None,
        typer.Option(
            "--class",
            help="Label-conditional models: the class the page's class selector starts at (index or "
            "name; default: the most frequent training class).",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="Factor-conditional models: FACTOR=VALUE of the grid decoded in Python (others: "
            "training medians).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing page.")] = False,
) -> None:
    """A page of the run's latent space that decodes the point under the mouse, in the browser, with the
    run's own decoder (opens from a file, no server, no network). A label-conditional model's page has a
    class selector: the point under the mouse is decoded with the chosen class."""
    from genlab import runs
    from genlab.explore import explore_run

    labels = factors = None
    if klass is not None or where:
        labels, factors = condition_options(runs.load_run_model(runs.require_run(run)), run, klass, where)
    t0 = time.time()
    path = explore_run(run, out_dir, force=force, labels=labels, factors=factors)
    err.print(f"explorer in {time.time() - t0:.1f}s -> {path} (open {path.resolve().as_uri()})")


@app.command()
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders to compare.")],
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Also write .html or .md.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out file.")] = False,
) -> None:
    """One table of the key metrics across runs, the best per column (per data set) marked."""
    from genlab.report.compare import collect, print_comparison, write_comparison

    if out_file is not None:
        _check_out_file(out_file, force, (".html", ".htm", ".md"))
    print_comparison(collect(run_dirs), out)
    if out_file is not None:
        write_comparison(run_dirs, out_file)
        err.print(f"comparison -> {out_file}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for runs and index.html.")] = Path(
        "demo-out"
    ),
    quick: Annotated[bool, typer.Option(help="Tiny data and budgets (seconds; for tests).")] = False,
    force: Annotated[
        bool, typer.Option(help="Write into a non-empty folder that is not earlier demo output.")
    ] = False,
) -> None:
    """Fit a 2-D-latent VAE on tins, a few families on digits and a table model on penguins; judge them,
    write reports and index.html."""
    from genlab.demo import run_demo

    run_demo(out_dir, quick=quick, force=force, console=err)


# ---------------------------------------------------------------------- entry point
def main() -> None:
    try:
        app(standalone_mode=False)
    except GenlabError as e:
        if _STATE["debug"]:
            raise
        code = getattr(e, "exit_code", 2)  # Interrupted: 130 (Ctrl-C) or 143 (SIGTERM)
        label = "[red]error:[/]" if code == 2 else "[yellow]stopped:[/]"
        err.print(f"{label} {e}", highlight=False, soft_wrap=True)
        sys.exit(code)
    except (KeyboardInterrupt, EOFError):
        err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:
        # typer vendors its own click: recognise usage errors and aborts by interface, not by class
        if type(e).__name__ == "Abort":
            sys.exit(130)
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(2)
        if _STATE["debug"]:
            raise
        err.print(
            f"[red]internal error:[/] {type(e).__name__}: {e} (run with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
