"""The data layer: `load_dataset(source, *, test_fraction=0.2, seed=0, **options) -> Dataset`.

`source` is a built-in name (`list_datasets()`), a path (.npz, .npy, .csv, an IDX file (raw or .gz)
or a folder of images) or a table in Python (a pandas DataFrame or a dict of columns). Options are loader-specific and may be strings from the CLI
("500", "0.1", "true"); an unknown option is a DataError listing the valid ones.

Built-in sets and their options are the registry (`registry.py`; `genlab datasets` lists them).
Files: npz `key`, `labels` (array names); csv `label` (column), `delimiter`, `encoding`, and for
tables `table`, `types` ("col:kind,..."), `drop`, `target`, `max_categories` (see `genlab.data.table`);
image folders `size`, `color`; IDX `labels` (path of an IDX labels file).

Importing this package imports numpy only (sklearn, PIL load inside the loaders that need them).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.dataset import Dataset, OptionSpec, coerce_options, make_dataset
from genlab.data.registry import DATASETS, DatasetSpec
from genlab.data.table import MAX_CATEGORIES, is_frame
from genlab.errors import DataError

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetSpec",
    "coerce_options",
    "dataset_from_json",
    "dataset_options",
    "list_datasets",
    "load_dataset",
]


def list_datasets() -> dict[str, str]:
    """Built-in names -> a one-line description each."""
    return {name: spec.description for name, spec in DATASETS.items()}


def dataset_options(source: str | Path) -> OptionSpec:
    """The loader options a source takes (name -> (type, default)): a built-in set's, or its file format's."""
    if isinstance(source, str) and source in DATASETS:
        return DATASETS[source].options
    from genlab.data.files import FILE_OPTIONS, file_format

    path = Path(source).expanduser()
    return FILE_OPTIONS[file_format(path)] if path.exists() else {}


def _load_builtin(spec: DatasetSpec, options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    opts = coerce_options(options, spec.options, f"dataset {spec.name!r}")
    return spec.load_fn()(spec, opts, test_fraction, seed)


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
        table=d.get("table"),
    )


#: the options a table given in Python (a DataFrame or dict of columns) takes
FRAME_OPTIONS: OptionSpec = {
    "types": (tuple, None),
    "drop": (tuple, None),
    "target": (str, None),
    "label": (str, None),
    "max_categories": (int, MAX_CATEGORIES),
}


def _load_frame(frame: Any, options: dict[str, Any], test_fraction: Any, seed: Any) -> Dataset:
    from genlab.data.table import codec_from_frame, parse_types

    opts = coerce_options(options, FRAME_OPTIONS, "table")
    types = parse_types(opts["types"], "table")
    label = opts["label"]
    if label is not None:
        types[label] = "categorical"
    codec, typed = codec_from_frame(
        frame, types=types, drop=opts["drop"] or (), target=opts["target"] or label,
        max_categories=opts["max_categories"],
    )  # fmt: skip
    x = codec.encode(typed).astype(np.float32)
    labels = class_names = None
    if label is not None:
        labels = x[:, codec.span(label)].argmax(1).astype(np.int64)
        col = codec.column(label)
        class_names = [str(c) for c in col.categories or []] + (["NA"] if col.has_missing else [])
    return make_dataset(
        name="table", kind="table", x=x, labels=labels, where="table", source="<DataFrame>",
        options={k: v for k, v in opts.items() if v is not None}, test_fraction=test_fraction, seed=seed,
        table=(codec, typed), class_names=class_names, feature_names=codec.encoded_names,
    )  # fmt: skip


def load_dataset(source: str | Path, *, test_fraction: float = 0.2, seed: int = 0, **options: Any) -> Dataset:
    """Load a built-in set by name, or a file/folder by path, split into train/test by `seed`.

    The split is stratified by label when there are labels, else uniformly random; round(n *
    test_fraction) observations go to test (at least 1 when test_fraction > 0, always leaving 2
    to train on). An npz holding x_train/x_test keeps its own split. For generated sets (toys,
    tins) the seed also draws the data, from a stream independent of the split's. A built-in
    name wins over a file of the same name: write "./iris" for the file.

    >>> ds = load_dataset("moons", n=1000)   # 800 train, 200 test
    """
    if isinstance(source, str) and source in DATASETS:
        return _load_builtin(DATASETS[source], options, test_fraction, seed)
    if is_frame(source):
        return _load_frame(source, options, test_fraction, seed)
    if not isinstance(source, str | Path):
        raise DataError(
            f"dataset source must be a built-in name, a path or a table (DataFrame), got {type(source).__name__}"
        )
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
