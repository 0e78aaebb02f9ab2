"""The `Dataset` record, the train/test split, the fingerprint, option coercion and input checks.

Every loader ends in `make_dataset`, so all data sets are split, checked and fingerprinted the
same way. The split is drawn from `seed`: stratified by label when labels exist (each class keeps
its share of the test set), uniformly random otherwise. Numpy only: importing this stays cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.arrays import chunks, is_lazy
from genlab.errors import DataError

__all__ = [
    "Dataset",
    "check_finite",
    "check_min_rows",
    "check_split_params",
    "coerce_options",
    "fingerprint",
    "make_dataset",
    "split_indices",
]

# stream tags, so the split never reuses the numbers that generated the data
SPLIT_STREAM = 1
DATA_STREAM = 0


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """An independent generator per (seed, stream): data and split draw from different streams."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))


@dataclass(eq=False, repr=False)
class Dataset:
    """A loaded data set, split into train and test.

    `train`/`test` are float32 arrays (N, *shape): images NCHW in [0, 1], vectors in their own
    units, tables (kind "table") encoded by `table.codec` (see `genlab.data.table`), with the raw rows
    in `table.train`/`table.test` (pandas DataFrames, row for row). `log_density(x)` gives the true natural-log density of x (n, *shape) -> (n,) where it is
    known exactly (the `8gaussians` and `checkerboard` toys), else it is None.
    """

    name: str
    kind: str  # "vector", "image" or "table"
    shape: tuple[int, ...]
    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    train_factors: np.ndarray | None = None
    test_factors: np.ndarray | None = None
    factor_names: list[str] | None = None
    fingerprint: str = ""
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    test_fraction: float = 0.2
    seed: int = 0
    log_density: Callable[[np.ndarray], np.ndarray] | None = None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None  # column names of vector data, where known
    split: str = "random"  # "random", "stratified" or "file" (the file held its own split)
    table: Any = None  # kind "table": a `genlab.data.table.TableData` (codec and raw rows)

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_test(self) -> int:
        return len(self.test)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, kind={self.kind!r}, shape={self.shape}, "
            f"n_train={self.n_train}, n_test={self.n_test})"
        )

    def to_json(self) -> dict[str, Any]:
        """What `data.json` records: enough to reload the same data (`dataset_from_json`), no arrays."""
        return {
            "name": self.name,
            "source": self.source,
            "options": dict(self.options),
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "split": self.split,
            "kind": self.kind,
            "shape": list(self.shape),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "factor_names": self.factor_names,
            "class_names": self.class_names,
            "has_log_density": self.log_density is not None,
            **({"table": self.table.codec.to_json()} if self.table is not None else {}),
        }


# ---------------------------------------------------------------------------------------- options
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}

#: an option spec: name -> (type, default); type is int, float, bool, str or tuple (of names); default
#: None = optional
OptionSpec = dict[str, tuple[type, Any]]


def _coerce_one(name: str, value: Any, typ: type, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        return None
    bad = DataError(f"{where}: option {name}={value!r} must be {typ.__name__}")
    if typ is bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int | np.integer) and value in (0, 1):
            return bool(value)
        raise bad
    if typ is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise bad from None
        raise bad
    if typ is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise bad from None
        raise bad
    if typ is str:
        if isinstance(value, str):
            return value
        raise bad
    if typ is tuple:  # names: "a,b" from the CLI, or a list/tuple of strings from Python or JSON
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple) and all(isinstance(v, str) for v in items):
            return tuple(v.strip() for v in items if v.strip())
        raise DataError(f"{where}: option {name}={value!r} must be a name or a comma-separated list of names")
    raise TypeError(typ)  # a bug in a loader's spec, not bad input


def coerce_options(options: dict[str, Any], spec: OptionSpec, where: str) -> dict[str, Any]:
    """Check option names against `spec`, coerce CLI strings ("500", "0.1", "true"), fill defaults.

    `where` names the loader in messages, e.g. "dataset 'moons'" or "data.csv".
    """
    unknown = [k for k in options if k not in spec]
    if unknown:
        valid = ", ".join(spec) if spec else "none"
        raise DataError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; valid options: {valid}")
    out = {}
    for name, (typ, default) in spec.items():
        out[name] = _coerce_one(name, options[name], typ, where) if name in options else default
    return out


# ---------------------------------------------------------------------------------------- checks
def check_min_rows(n: int, where: str) -> None:
    if n == 0:
        raise DataError(f"{where}: the data set is empty (need at least 2 observations)")
    if n < 2:
        raise DataError(f"{where}: only {n} observation (need at least 2)")


def check_finite(x: np.ndarray, where: str) -> None:
    """DataError naming the first NaN/inf: observation (from 1) and index within the observation."""
    bad = ~np.isfinite(x)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        value = x[idx]
        pos = f", index {idx[1:] if len(idx) > 2 else idx[1]} within it" if len(idx) > 1 else ""
        raise DataError(
            f"{where}: non-finite value {value} at observation {idx[0] + 1} (counting from 1){pos}"
        )


# ---------------------------------------------------------------------------------------- split
def check_split_params(test_fraction: Any, seed: Any) -> tuple[float, int]:
    if isinstance(test_fraction, bool) or not isinstance(
        test_fraction, int | float | np.integer | np.floating
    ):
        raise DataError(f"test_fraction must be a number in [0, 1), got {test_fraction!r}")
    if not 0.0 <= float(test_fraction) < 1.0:
        raise DataError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return float(test_fraction), int(seed)


def n_test_for(n: int, test_fraction: float) -> int:
    """round(n * test_fraction), at least 1 when test_fraction > 0, but always leaving 2 to train on."""
    k = int(round(n * test_fraction))
    if test_fraction > 0:
        k = max(k, 1)
    return max(0, min(k, n - 2))


def split_indices(
    n: int, test_fraction: float, seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train_idx, test_idx). With labels, each class gives its share of the test set."""
    rng = rng_for(seed, SPLIT_STREAM)
    perm = rng.permutation(n)
    n_test = n_test_for(n, test_fraction)
    if labels is None or n_test == 0:
        return perm[n_test:], perm[:n_test]
    # stratified: per-class quotas by largest remainder, so the total is exactly n_test
    labels = np.asarray(labels)[perm]
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n_test / n
    take = np.floor(quota).astype(int)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n_test - take.sum()]] += 1
    is_test = np.zeros(n, dtype=bool)
    for c, k in zip(classes, take, strict=True):
        is_test[np.flatnonzero(labels == c)[:k]] = True
    return perm[~is_test], perm[is_test]


# ---------------------------------------------------------------------------------------- fingerprint
def fingerprint(arrays: dict[str, Any], params: dict[str, Any]) -> str:
    """sha256 over each array's dtype, shape and little-endian bytes, plus the split parameters. An
    ImageArray is hashed block by block as the float32 array it stands for (the same fingerprint as if
    it had been converted whole, without converting it whole)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = arrays[key]
        h.update(key.encode())
        if a is None:
            h.update(b"none")
            continue
        if is_lazy(a):
            h.update(f"<f4{a.shape}".encode())
            for _, block in chunks(a):
                h.update(np.ascontiguousarray(block, dtype="<f4").tobytes())
            continue
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    h.update(repr(sorted(params.items())).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------- assembly
def make_dataset(
    *,
    name: str,
    kind: str,
    x: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    factors: np.ndarray | None = None,
    presplit: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None] | None = None,
    where: str,
    source: str,
    options: dict[str, Any],
    test_fraction: Any,
    seed: Any,
    table: tuple[Any, Any] | None = None,
    **extra: Any,
) -> Dataset:
    """Check, split and fingerprint. Give either `x` (split here) or `presplit` = (train, test, y_train, y_test).

    `table` = (codec, frame) for kind "table": `x` is `codec.encode(frame)` and the frame's rows are
    split with it. `extra` goes to the Dataset as is (factor_names, class_names, feature_names, log_density).
    """
    test_fraction, seed = check_split_params(test_fraction, seed)
    train_f = test_f = None
    if presplit is not None:
        train, test, y_train, y_test = presplit
        check_min_rows(len(train), f"{where} (train split)")
        if len(test) == 0:
            raise DataError(f"{where}: the test split is empty")
        if train.shape[1:] != test.shape[1:]:
            raise DataError(
                f"{where}: mixed shapes: test observations have shape {test.shape[1:]}, "
                f"train observations {train.shape[1:]}"
            )
        for part, name in ((train, "train"), (test, "test")):
            if not is_lazy(part):
                check_finite(np.asarray(part), f"{where} ({name} split)")
        split = "file"
    else:
        if x is None:
            raise TypeError("make_dataset needs x or presplit")
        check_min_rows(len(x), where)
        if not is_lazy(x):  # integer pixels are finite by construction
            check_finite(np.asarray(x), where)  # before the shuffle, so the observation number is the file's
        split = "random" if labels is None else "stratified"
        tr, te = split_indices(len(x), test_fraction, seed, labels)
        train, test = (x.take(tr), x.take(te)) if is_lazy(x) else (x[tr], x[te])
        y_train = labels[tr] if labels is not None else None
        y_test = labels[te] if labels is not None else None
        if factors is not None:
            train_f, test_f = factors[tr].astype(np.float32), factors[te].astype(np.float32)
        if table is not None:
            from genlab.data.table import TableData

            codec, frame = table
            extra["table"] = TableData(
                codec, frame.iloc[tr].reset_index(drop=True), frame.iloc[te].reset_index(drop=True)
            )
    if not is_lazy(train):
        train = np.ascontiguousarray(train, dtype=np.float32)
        test = np.ascontiguousarray(test, dtype=np.float32)
    if kind == "image" and not is_lazy(train):  # loaders scale images; this guards the promise of [0, 1]
        lo = min(float(train.min()), float(test.min()) if len(test) else 1.0)
        hi = max(float(train.max()), float(test.max()) if len(test) else 0.0)
        if lo < 0 or hi > 1:
            raise DataError(f"{where}: image values must lie in [0, 1], found range [{lo:g}, {hi:g}]")
    y_train = None if y_train is None else np.asarray(y_train, dtype=np.int64)
    y_test = None if y_test is None else np.asarray(y_test, dtype=np.int64)
    fp = fingerprint(
        {
            "train": train,
            "test": test,
            "y_train": y_train,
            "y_test": y_test,
            "f_train": train_f,
            "f_test": test_f,
        },
        {"name": name, "seed": seed, "test_fraction": test_fraction, "split": split},
    )
    return Dataset(
        name=name,
        kind=kind,
        shape=tuple(int(s) for s in train.shape[1:]),
        train=train,
        test=test,
        train_labels=y_train,
        test_labels=y_test,
        train_factors=train_f,
        test_factors=test_f,
        fingerprint=fp,
        source=source,
        options=options,
        test_fraction=test_fraction,
        seed=seed,
        split=split,
        **extra,
    )
