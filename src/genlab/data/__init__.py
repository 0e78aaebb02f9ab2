"""The data layer: `load_dataset(source, *, test_fraction=0.2, seed=0, **options) -> Dataset`.

`source` is a built-in name (`list_datasets()`) or a path: .npz, .npy, .csv, an IDX file (raw or
.gz) or a folder of images. Options are loader-specific and may be strings from the CLI
("500", "0.1", "true"); an unknown option is a DataError listing the valid ones.

Built-in options: toys `n` (10,000) and, for moons/circles/swissroll/spirals, `noise`; `tins`
`n` (10,000), `size` (32), `color` (false), `extra_factors` (false). Files: npz `key`, `labels`
(array names); csv `label` (column), `delimiter`; image folders `size`, `color`; IDX `labels`
(path of an IDX labels file).

Importing this package imports numpy only (sklearn, PIL load inside the loaders that need them).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.builtin import SKLEARN_SETS
from genlab.data.dataset import (
    DATA_STREAM,
    Dataset,
    OptionSpec,
    check_split_params,
    coerce_options,
    make_dataset,
    rng_for,
)
from genlab.data.toys import TOYS
from genlab.errors import DataError

__all__ = ["Dataset", "coerce_options", "dataset_from_json", "list_datasets", "load_dataset"]

DEFAULT_N = 10_000
TINS_DESCRIPTION = "procedural biscuit-tin images (1x32x32 by default), factors height and width"


def list_datasets() -> dict[str, str]:
    """Built-in names -> a one-line description each."""
    out = {name: toy.description for name, toy in TOYS.items()}
    out.update({name: desc for name, (_, desc) in SKLEARN_SETS.items()})
    out["tins"] = TINS_DESCRIPTION
    return out


def _positive(opts: dict[str, Any], name: str, where: str, minimum: int = 2) -> None:
    if opts[name] < minimum:
        raise DataError(f"{where}: option {name} must be at least {minimum}, got {opts[name]}")


def _load_toy(name: str, options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    toy, where = TOYS[name], f"dataset {name!r}"
    spec: OptionSpec = {"n": (int, DEFAULT_N), **toy.options}
    opts = coerce_options(options, spec, where)
    _positive(opts, "n", where)
    if "noise" in opts and opts["noise"] < 0:
        raise DataError(f"{where}: option noise must be >= 0, got {opts['noise']}")
    check_split_params(test_fraction, seed)  # before generating anything
    x = toy.fn(opts["n"], rng_for(seed, DATA_STREAM), **{k: v for k, v in opts.items() if k != "n"})
    return make_dataset(
        name=name,
        kind="vector",
        x=x.astype(np.float32),
        where=where,
        source=name,
        options=opts,
        test_fraction=test_fraction,
        seed=seed,
        log_density=toy.log_density,
        feature_names=["x1", "x2"],
    )


def _load_sklearn(name: str, options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    from genlab.data.builtin import load_sklearn

    opts = coerce_options(options, {}, f"dataset {name!r}")
    d = load_sklearn(name)
    return make_dataset(
        name=name,
        kind=d["kind"],
        x=d["x"],
        labels=d["labels"],
        where=f"dataset {name!r}",
        source=name,
        options=opts,
        test_fraction=test_fraction,
        seed=seed,
        class_names=d["class_names"],
        feature_names=d["feature_names"],
    )


def _load_tins(options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    from genlab.data.tins import render_tins, sample_tin_factors

    where = "dataset 'tins'"
    spec: OptionSpec = {
        "n": (int, DEFAULT_N),
        "size": (int, 32),
        "color": (bool, False),
        "extra_factors": (bool, False),
    }
    opts = coerce_options(options, spec, where)
    _positive(opts, "n", where)
    _positive(opts, "size", where, minimum=8)
    check_split_params(test_fraction, seed)  # before generating anything
    factors, names = sample_tin_factors(
        opts["n"], rng_for(seed, DATA_STREAM), extra_factors=opts["extra_factors"], color=opts["color"]
    )
    x = render_tins(factors, size=opts["size"], color=opts["color"])
    return make_dataset(
        name="tins",
        kind="image",
        x=x,
        factors=factors,
        where=where,
        source="tins",
        options=opts,
        test_fraction=test_fraction,
        seed=seed,
        factor_names=names,
    )


def _load_path(path: Path, options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    from genlab.data.files import FILE_OPTIONS, file_format, load_file

    fmt = file_format(path)
    what = {"folder": "image folder", "idx": "IDX file"}.get(fmt, f".{fmt} file")
    opts = coerce_options(options, FILE_OPTIONS[fmt], f"{path} ({what})")
    if opts.get("labels") is not None and fmt == "idx":
        opts["labels"] = str(Path(opts["labels"]).expanduser().resolve())  # reloadable from anywhere
    d = load_file(path, fmt, opts)
    name = path.name
    for suffix in (".gz", ".npz", ".npy", ".csv"):
        name = name.removesuffix(suffix)
    return make_dataset(
        name=name,
        kind=d["kind"],
        x=d.get("x"),
        labels=d.get("labels"),
        presplit=d.get("presplit"),
        where=str(path),
        source=str(path),
        options=opts,
        test_fraction=test_fraction,
        seed=seed,
        class_names=d.get("class_names"),
        feature_names=d.get("feature_names"),
    )


def load_dataset(source: str | Path, *, test_fraction: float = 0.2, seed: int = 0, **options: Any) -> Dataset:
    """Load a built-in set by name, or a file/folder by path, split into train/test by `seed`.

    The split is stratified by label when there are labels, else uniformly random; round(n *
    test_fraction) observations go to test (at least 1 when test_fraction > 0, always leaving 2
    to train on). An npz holding x_train/x_test keeps its own split. For generated sets (toys,
    tins) the seed also draws the data, from a stream independent of the split's. A built-in
    name wins over a file of the same name: write "./iris" for the file.

    >>> ds = load_dataset("moons", n=1000)   # 800 train, 200 test
    """
    if isinstance(source, str) and source in TOYS:
        return _load_toy(source, options, test_fraction, seed)
    if isinstance(source, str) and source in SKLEARN_SETS:
        return _load_sklearn(source, options, test_fraction, seed)
    if isinstance(source, str) and source == "tins":
        return _load_tins(options, test_fraction, seed)
    if not isinstance(source, str | Path):
        raise DataError(f"dataset source must be a built-in name or a path, got {type(source).__name__}")
    path = Path(source).expanduser()
    if not path.exists():
        close = difflib.get_close_matches(str(source), list_datasets(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(
            f"unknown dataset {str(source)!r}{hint}: not a built-in name and no such file or folder; "
            f"built-in names: {', '.join(list_datasets())}"
        )
    return _load_path(path.resolve(), options, test_fraction, seed)


def dataset_from_json(d: dict[str, Any]) -> Dataset:
    """Reload the data set described by `Dataset.to_json()`; DataError if its content changed since."""
    if not isinstance(d, dict):
        raise DataError(f"dataset description must be a JSON object, got {type(d).__name__}")
    missing = [k for k in ("source", "options", "fingerprint", "seed", "test_fraction") if k not in d]
    if missing:
        raise DataError(f"dataset description lacks {', '.join(missing)}")
    if not isinstance(d["options"], dict):
        raise DataError('dataset description: "options" must be an object')
    ds = load_dataset(d["source"], test_fraction=d["test_fraction"], seed=d["seed"], **d["options"])
    if ds.fingerprint != d["fingerprint"]:
        raise DataError(
            f"dataset {d['source']!r} no longer matches its fingerprint (recorded {d['fingerprint']}, "
            f"now {ds.fingerprint}): the file or the loader changed since it was recorded"
        )
    return ds
