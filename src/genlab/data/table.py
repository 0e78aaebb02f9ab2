"""Tables: columns of mixed types in, one float matrix out for every family, and the same table back.

A `TableCodec` describes a table (column names, inferred types, categories, ranges, precision, missing
shares) and is the reversible encoding between it and the (N, D) matrix the families fit:

    numeric, integer   one column, standardised: (x - mean) / std
                       + one "COL=NA" indicator column (1 = missing) when the column has missing cells
    categorical        one-hot over the categories seen, sorted (numbers in numeric order)
                       + one "COL=NA" level when the column has missing cells

Decoding snaps each one-hot block to its largest entry (so only categories seen come back), clips
numbers to the observed range, rounds them to the data's own precision (the fewest decimals that
hold every value exactly; 0 for integers) and restores the dtypes, so `decode(encode(frame))` gives
back the frame exactly, missing cells included (for numbers written with at most 15 decimals).
The codec is plain JSON (`to_json`/`from_json`): a saved model carries it and decodes on its own.

Types are inferred from CSV text (`codec_from_text`) or from a pandas DataFrame / dict of columns
(`codec_from_frame`): a column whose cells all parse as numbers is numeric, integer when every cell
is an integer, categorical when it is an integer column with at most `MAX_INT_LEVELS` distinct values;
true/false columns are categorical booleans; text is categorical. `types={"col": "categorical"}`
overrides the inference. Empty cells and the usual markers (`NA_MARKERS`, pandas' own list) are
missing values. What cannot be modelled is refused with advice: a column missing everywhere, text
with a distinct value in every row (an identifier), more than `max_categories` categories, and a
mostly-numeric column with a cell that is not a number (named by row and column).

The codec is fitted on the whole table (it describes the data; the models only see training rows).
Importing this module imports numpy; pandas is imported by the functions that build frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = [
    "KINDS",
    "MAX_CATEGORIES",
    "MAX_INT_LEVELS",
    "NA_MARKERS",
    "Block",
    "Column",
    "TableCodec",
    "TableData",
    "codec_from_frame",
    "codec_from_text",
    "frame_rows",
    "is_frame",
    "parse_types",
]

KINDS = ("numeric", "integer", "categorical")
#: pandas.read_csv's default missing-value markers: what genlab reads as missing is what pandas does
NA_MARKERS = frozenset(
    [
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    ]
)
#: an integer column with at most this many distinct values is categorical (a year, a rating, a 0/1 flag)
MAX_INT_LEVELS = 10
#: default cap on the categories of one column (each is a one-hot column)
MAX_CATEGORIES = 500
#: a mostly-numeric column: at least this share of its cells parse as numbers; the rest are errors
NUMERIC_SHARE = 0.9
NA = "NA"  # the suffix of missing-value columns in the encoding: "COL=NA"


def is_frame(x: Any) -> bool:
    """A pandas DataFrame, or a dict of equally long columns (what `codec_from_frame` takes)."""
    return type(x).__name__ == "DataFrame" or (
        isinstance(x, dict) and bool(x) and all(isinstance(k, str) for k in x)
    )


# ============================================================================ the codec
@dataclass
class Column:
    """One column: its kind, the dtype it decodes to, and what its encoding needs."""

    name: str
    kind: str  # "numeric", "integer" or "categorical"
    dtype: str  # pandas dtype of the decoded column: float64, int64, Int64, bool, boolean, object, category
    missing: float = 0.0  # share of missing cells
    categories: list[Any] | None = None  # categorical: labels in code order
    low: float = 0.0  # numeric/integer: observed range
    high: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    decimals: int | None = None  # numeric: digits after the point that hold every value (None: any)

    @property
    def has_missing(self) -> bool:
        return self.missing > 0

    @property
    def width(self) -> int:
        if self.kind == "categorical":
            return len(self.categories or []) + int(self.has_missing)
        return 1 + int(self.has_missing)

    @property
    def encoded_names(self) -> list[str]:
        if self.kind == "categorical":
            names = [f"{self.name}={c}" for c in self.categories or []]
        else:
            names = [self.name]
        return names + ([f"{self.name}={NA}"] if self.has_missing else [])

    def values_text(self) -> str:
        """Its levels (categorical) or its observed range, in a few words."""
        if self.kind == "categorical":
            cats = self.categories or []
            return f"{len(cats)} levels ({', '.join(map(str, cats[:6]))}{', ...' if len(cats) > 6 else ''})"
        return f"{_num(self.low)} to {_num(self.high)}"

    def describe(self) -> str:
        """One phrase: kind, levels or range, missing share."""
        return f"{self.kind}, {self.values_text()}" + (
            f", {self.missing:.1%} missing" if self.has_missing else ""
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "missing": self.missing,
        }
        if self.kind == "categorical":
            d["categories"] = [_plain(c) for c in self.categories or []]
        else:
            d.update(low=self.low, high=self.high, mean=self.mean, std=self.std, decimals=self.decimals)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Column:
        c = cls(**{k: (list(v) if k == "categories" and v is not None else v) for k, v in d.items()})
        if c.kind not in KINDS or (c.kind == "categorical") != (c.categories is not None):
            raise DataError(f"table column {c.name!r}: bad description (kind {c.kind!r})")
        return c


@dataclass(frozen=True)
class Block:
    """A run of encoded columns that belong together: "numeric" (one column), "binary" (one 0/1 missing
    indicator) or "onehot" (a categorical column's levels). Families that treat columns by type read these."""

    name: str
    kind: str
    start: int
    stop: int

    @property
    def width(self) -> int:
        return self.stop - self.start


@dataclass
class TableCodec:
    """The reversible map between a table and its encoded float matrix (see the module docstring)."""

    columns: list[Column]
    target: str | None = None  # the column train-on-synthetic, test-on-real predicts
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index = {c.name: i for i, c in enumerate(self.columns)}

    # ------------------------------------------------------------------ layout
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def encoded_names(self) -> list[str]:
        return [n for c in self.columns for n in c.encoded_names]

    @property
    def dim(self) -> int:
        return sum(c.width for c in self.columns)

    def column(self, name: str) -> Column:
        if name not in self._index:
            raise DataError(f"no column {name!r}; columns: {', '.join(self.names)}")
        return self.columns[self._index[name]]

    def span(self, name: str) -> slice:
        """The encoded columns of table column `name`."""
        start = sum(c.width for c in self.columns[: self._index[self.column(name).name]])
        return slice(start, start + self.column(name).width)

    def blocks(self) -> list[Block]:
        out, pos = [], 0
        for c in self.columns:
            if c.kind == "categorical":
                out.append(Block(c.name, "onehot", pos, pos + c.width))
            else:
                out.append(Block(c.name, "numeric", pos, pos + 1))
                if c.has_missing:
                    out.append(Block(f"{c.name}={NA}", "binary", pos + 1, pos + 2))
            pos += c.width
        return out

    # ------------------------------------------------------------------ encode / decode
    def encode(self, frame: Any, *, where: str = "table") -> np.ndarray:
        """A table (DataFrame or dict of columns holding these columns) -> encoded rows (N, dim), float64.

        A category not seen when the codec was made, or a value that is not a number in a numeric
        column, is a DataError naming the column and row (from 1)."""
        import pandas as pd

        frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        absent = [n for n in self.names if n not in frame.columns]
        if absent:
            raise DataError(
                f"{where}: lacks column(s) {', '.join(map(repr, absent))}; it needs {', '.join(self.names)}"
            )
        parts = []
        for c in self.columns:
            s = frame[c.name]
            miss = s.isna().to_numpy()
            if miss.any() and not c.has_missing:
                r = int(np.flatnonzero(miss)[0])
                raise DataError(
                    f"{where}: row {r + 1}, column {c.name!r}: missing, but the column had no missing cells"
                )
            if c.kind == "categorical":
                codes = _codes(s, c, miss, where)
                block = np.zeros((len(s), c.width))
                block[np.arange(len(s)), codes] = 1.0
            else:
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                bad = np.isnan(v) & ~miss | np.isinf(v)
                if bad.any():
                    r = int(np.flatnonzero(bad)[0])
                    raise DataError(
                        f"{where}: row {r + 1}, column {c.name!r}: {s.iloc[r]!r} is not a finite number"
                    )
                z = np.where(miss, 0.0, (v - c.mean) / c.std)
                block = np.stack([z, miss.astype(np.float64)], 1) if c.has_missing else z[:, None]
            parts.append(block)
        return np.concatenate(parts, 1) if parts else np.zeros((len(frame), 0))

    def decode(self, x: Any) -> Any:
        """Encoded rows (N, dim) -> a pandas DataFrame with the table's columns, dtypes and categories."""
        import pandas as pd

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise DataError(f"table decode: expected encoded rows of shape (N, {self.dim}), got {x.shape}")
        out: dict[str, Any] = {}
        pos = 0
        for c in self.columns:
            block = x[:, pos : pos + c.width]
            pos += c.width
            if c.kind == "categorical":
                codes = block.argmax(1)
                miss = codes == len(c.categories or [])
                labels = np.array([*(c.categories or []), None], dtype=object)[codes]
                out[c.name] = _typed(labels, miss, c.dtype, c.categories)
            else:
                v = np.clip(block[:, 0] * c.std + c.mean, c.low, c.high)
                if c.decimals is not None:
                    v = np.round(v, c.decimals)
                miss = block[:, 1] > 0.5 if c.has_missing else np.zeros(len(x), bool)
                out[c.name] = _typed(v, miss, c.dtype)
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        return {"columns": [c.to_json() for c in self.columns], "target": self.target}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TableCodec:
        try:
            return cls([Column.from_json(dict(c)) for c in d["columns"]], d.get("target"))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"not a table description ({type(e).__name__}: {e})") from None


@dataclass
class TableData:
    """What a table Dataset carries besides the encoded arrays: the codec and the raw train/test rows."""

    codec: TableCodec
    train: Any  # pandas DataFrame, the rows of Dataset.train
    test: Any


# ============================================================================ helpers
def _plain(v: Any) -> Any:
    """A label as a JSON scalar (numpy scalars become Python ones)."""
    return v.item() if isinstance(v, np.generic) else v


def _num(v: float) -> str:
    return f"{v:.6g}"


def _codes(s: Any, c: Column, miss: np.ndarray, where: str) -> np.ndarray:
    import pandas as pd

    lookup = {_plain(v): k for k, v in enumerate(c.categories or [])}
    found = pd.Series(s.to_numpy(dtype=object)).map(lookup).to_numpy(dtype=np.float64, na_value=np.nan)
    unseen = np.isnan(found) & ~miss
    if unseen.any():
        r = int(np.flatnonzero(unseen)[0])
        seen = ", ".join(map(repr, (c.categories or [])[:8]))
        raise DataError(
            f"{where}: row {r + 1}, column {c.name!r}: category {s.iloc[r]!r} was not seen ({seen})"
        )
    return np.where(miss, len(c.categories or []), np.nan_to_num(found)).astype(
        np.int64
    )  # NA: the last level


def _typed(values: np.ndarray, miss: np.ndarray, dtype: str, categories: list[Any] | None = None) -> Any:
    """A pandas Series of `dtype` with missing cells where `miss` is set."""
    import pandas as pd

    if dtype == "category":
        return pd.Series(pd.Categorical(np.where(miss, None, values), categories=categories))
    if dtype in ("int64", "bool", "float64") and not miss.any():
        return pd.Series(values.astype(dtype))
    if dtype in ("Int64", "boolean", "int64", "bool"):
        nullable = {"int64": "Int64", "bool": "boolean"}.get(dtype, dtype)
        return pd.Series(pd.array(np.where(miss, None, values).tolist(), dtype=nullable))
    if dtype == "float64":
        return pd.Series(np.where(miss, np.nan, values.astype(np.float64)))
    return pd.Series(np.where(miss, np.nan, values).astype(object))


def _decimals(v: np.ndarray) -> int | None:
    """The fewest decimals (0-15) that hold every value exactly, or None."""
    for d in range(16):
        if np.array_equal(np.round(v, d), v):
            return d
    return None


def _sorted_levels(values: np.ndarray) -> list[Any]:
    try:
        levels = sorted(set(values.tolist()))
    except TypeError:  # mixed label types: order by text
        levels = sorted(set(values.tolist()), key=str)
    return [_plain(v) for v in levels]


def _fit(name: str, kind: str, values: np.ndarray, miss: np.ndarray, dtype: str, where: str,
         max_categories: int, declared: bool) -> Column:  # fmt: skip
    """The Column for parsed values (numbers as float64, labels as objects; entries under `miss` ignored)."""
    n = len(values)
    present = values[~miss]
    if len(present) == 0:
        raise DataError(
            f"{where}: column {name!r} is missing in all {n} rows; drop it (--set drop={name}, or drop=[...] in Python)"
        )
    share = float(miss.mean())
    if kind == "categorical":
        levels = _sorted_levels(present)
        if len(levels) > max_categories:
            raise DataError(
                f"{where}: column {name!r} has {len(levels):,} categories (more than {max_categories}); drop it "
                f"(--set drop={name}) or bucket it into fewer categories (or raise --set max_categories=N)"
            )
        if not declared and dtype == "object" and len(levels) == len(present) and len(present) >= 20:
            raise DataError(
                f"{where}: column {name!r} holds a different text in every row (an identifier or free text?); "
                f"drop it with --set drop={name}, or declare it with --set types={name}:categorical"
            )
        return Column(name, kind, dtype, share, levels)
    v = present.astype(np.float64)
    std = float(v.std())
    decimals = 0 if kind == "integer" else _decimals(v)
    return Column(name, kind, dtype, share, None, float(v.min()), float(v.max()), float(v.mean()),
                  std if std > 0 else 1.0, decimals)  # fmt: skip


def _choose_target(columns: list[Column], target: str | None, where: str) -> str | None:
    if target is not None:
        if target not in [c.name for c in columns]:
            raise DataError(
                f"{where}: no column {target!r} for target=; columns: {', '.join(c.name for c in columns)}"
            )
        return target
    cats = [c.name for c in columns if c.kind == "categorical"]
    return cats[0] if cats else (columns[-1].name if len(columns) > 1 else None)


def parse_types(items: Any, where: str) -> dict[str, str]:
    """`types=` as given ("col:kind" items, or a dict in Python) -> {column: kind}."""
    if not items:
        return {}
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    out = {}
    for item in items:
        col, sep, kind = str(item).rpartition(":")
        if not sep or not col.strip():
            raise DataError(
                f"{where}: types= expects COLUMN:KIND items (kinds: {', '.join(KINDS)}), got {item!r}"
            )
        out[col.strip()] = kind.strip()
    return out


def _check_types(types: dict[str, str], names: list[str], where: str) -> None:
    for col, kind in types.items():
        if col not in names:
            raise DataError(
                f"{where}: types= names column {col!r}, which is not in the table ({', '.join(names)})"
            )
        if kind not in KINDS:
            raise DataError(
                f"{where}: types= gives column {col!r} the kind {kind!r}; kinds: {', '.join(KINDS)}"
            )


# ============================================================================ from CSV text
def codec_from_text(
    header: list[str],
    columns: list[list[str]],
    *,
    where: str,
    lines: list[int],
    types: dict[str, str] | None = None,
    target: str | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[TableCodec, Any]:
    """CSV cells (one list of strings per column) -> (codec, the typed DataFrame). Errors name the cell
    by row (from 1, after the header) and file line."""
    import pandas as pd

    types = dict(types or {})
    _check_types(types, header, where)
    cols, data = [], {}
    for name, cells in zip(header, columns, strict=True):
        text = pd.Series(cells, dtype=object).str.strip()
        miss = text.isin(NA_MARKERS).to_numpy()
        kind, dtype, values = _infer_text(name, text, miss, types.get(name), where, lines)
        col = _fit(name, kind, values, miss, dtype, where, max_categories, name in types)
        cols.append(col)
        data[name] = _typed(values, miss, col.dtype, col.categories)
    codec = TableCodec(cols, _choose_target(cols, target, where))
    return codec, pd.DataFrame(data)


def _infer_text(
    name: str, text: Any, miss: np.ndarray, declared: str | None, where: str, lines: list[int]
) -> tuple[str, str, np.ndarray]:
    """(kind, decoded dtype, parsed values) of one column of CSV text."""
    import pandas as pd

    has_missing = bool(miss.any())
    present = ~miss
    number = pd.to_numeric(text.where(present), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    parsed = present & ~np.isnan(number)
    n_present = int(present.sum())
    is_int = present & text.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
    lower = text.str.lower()
    is_bool = n_present > 0 and bool(lower[present].isin(["true", "false"]).all())

    def located_error(kind: str) -> DataError:
        r = int(np.flatnonzero(present & ~parsed)[0])
        return DataError(
            f"{where}: row {r + 1} (line {lines[r]}), column {name!r}: {text.iloc[r]!r} is not a number, in a "
            f"column of {kind} ({int(parsed.sum())} of {n_present} cells are numbers); fix the cell, or declare "
            f"the column with --set types={name}:categorical"
        )

    all_numbers = n_present > 0 and bool(parsed[present].all())
    all_ints = n_present > 0 and bool(is_int[present].all())
    if declared in ("numeric", "integer"):
        if not all_numbers:
            raise located_error("numbers")
        if declared == "integer" and not np.array_equal(number[parsed], np.round(number[parsed])):
            r = int(np.flatnonzero(parsed & (number != np.round(number)))[0])
            raise DataError(
                f"{where}: row {r + 1} (line {lines[r]}), column {name!r}: {text.iloc[r]!r} is not an integer"
            )
        kind = declared
    elif declared == "categorical" or is_bool:
        kind = "categorical"
    elif all_numbers:
        n_levels = len(np.unique(number[parsed]))
        kind = (
            "categorical"
            if all_ints and n_levels <= MAX_INT_LEVELS
            else ("integer" if all_ints else "numeric")
        )
    elif n_present and parsed.sum() >= NUMERIC_SHARE * n_present:
        raise located_error("numbers")
    else:
        kind = "categorical"

    if kind in ("numeric", "integer") and np.isinf(number[parsed]).any():
        r = int(np.flatnonzero(parsed & np.isinf(number))[0])
        raise DataError(
            f"{where}: row {r + 1} (line {lines[r]}), column {name!r}: non-finite value {text.iloc[r]}"
        )
    if kind in ("numeric", "integer"):
        dtype = ("Int64" if has_missing else "int64") if kind == "integer" and all_ints else "float64"
        if kind == "integer" and not all_ints:
            dtype = "float64"  # declared integer but written 3.0: give back what pandas reads
        return kind, dtype, np.where(present, number, 0.0)
    # categorical labels keep the type pandas.read_csv would give the column
    if is_bool:
        return (
            kind,
            "boolean" if has_missing else "bool",
            np.where(present, lower == "true", False).astype(object),
        )
    if all_ints:
        return (
            kind,
            "Int64" if has_missing else "int64",
            np.where(present, number, 0).astype(np.int64).astype(object),
        )
    if all_numbers:
        return kind, "float64", np.where(present, number, 0.0).astype(object)
    return kind, "object", np.where(present, text.to_numpy(dtype=object), "").astype(object)


# ============================================================================ from a DataFrame
def codec_from_frame(
    frame: Any,
    *,
    where: str = "table",
    types: dict[str, str] | None = None,
    drop: list[str] | tuple[str, ...] = (),
    target: str | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[TableCodec, Any]:
    """A pandas DataFrame or dict of columns -> (codec, the frame as the codec decodes it).

    The dtypes say the kinds: bool and object/string/category columns are categorical, integer dtypes
    integer (categorical with at most `MAX_INT_LEVELS` values), floats numeric."""
    import pandas as pd

    try:
        frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    except (ValueError, TypeError) as e:
        raise DataError(f"{where}: not a table of equally long columns ({e})") from None
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise DataError(f"{where}: column names must be unique and non-empty, got {names}")
    frame = frame.set_axis(names, axis=1)
    unknown = [d for d in drop if d not in names]
    if unknown:
        raise DataError(f"{where}: drop= names column(s) {', '.join(map(repr, unknown))} not in the table")
    frame = frame.drop(columns=list(drop)).reset_index(drop=True)
    if frame.shape[1] == 0:
        raise DataError(f"{where}: no columns left to model")
    types = dict(types or {})
    _check_types(types, list(frame.columns), where)
    cols, data = [], {}
    for name in frame.columns:
        s = frame[name]
        miss = s.isna().to_numpy()
        kind, dtype, values = _infer_frame(name, s, miss, types.get(name), where)
        col = _fit(name, kind, values, miss, dtype, where, max_categories, name in types)
        if dtype == "category":  # a pandas category keeps its own order (of the levels that occur)
            col.categories = [_plain(v) for v in s.cat.categories if v in set(col.categories or [])]
        cols.append(col)
        data[name] = _typed(values, miss, col.dtype, col.categories)
    return TableCodec(cols, _choose_target(cols, target, where)), pd.DataFrame(data)


def _infer_frame(
    name: str, s: Any, miss: np.ndarray, declared: str | None, where: str
) -> tuple[str, str, np.ndarray]:
    import pandas as pd
    from pandas.api import types as pt

    if isinstance(s.dtype, pd.CategoricalDtype):
        if declared not in (None, "categorical"):
            raise DataError(f"{where}: column {name!r} is a pandas category; it cannot be {declared}")
        return "categorical", "category", s.astype(object).to_numpy()
    if pt.is_bool_dtype(s.dtype):
        kind, dtype = "categorical", "boolean" if miss.any() else "bool"
        return kind, dtype, s.astype(object).to_numpy()
    if pt.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(v).any():
            r = int(np.flatnonzero(np.isinf(v))[0])
            raise DataError(f"{where}: row {r + 1}, column {name!r}: non-finite value {v[r]}")
        integer = pt.is_integer_dtype(s.dtype)
        dtype = (
            str(s.dtype)
            if str(s.dtype) in ("int64", "Int64", "float64")
            else ("Int64" if integer and miss.any() else "int64" if integer else "float64")
        )
        if declared == "categorical" or (
            declared is None and integer and len(np.unique(v[~miss])) <= MAX_INT_LEVELS
        ):
            labels = s.astype(object).to_numpy()
            return "categorical", dtype, np.where(miss, None, labels)
        kind = declared or ("integer" if integer else "numeric")
        if kind == "integer" and not np.array_equal(v[~miss], np.round(v[~miss])):
            r = int(np.flatnonzero(~miss & (v != np.round(v)))[0])
            raise DataError(f"{where}: row {r + 1}, column {name!r}: {v[r]!r} is not an integer")
        return kind, dtype, np.where(miss, 0.0, v)
    if declared in ("numeric", "integer"):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(v) & ~miss
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where}: row {r + 1}, column {name!r}: {s.iloc[r]!r} is not a number")
        return declared, "float64", np.where(miss, 0.0, v)
    return "categorical", "object", s.astype(object).to_numpy()


def frame_rows(frame: Any) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-able dicts (missing cells as None), for figures and the report."""
    rows = []
    for rec in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        rows.append(
            {k: (_plain(v) if not (isinstance(v, float) and math.isnan(v)) else None) for k, v in rec.items()}
        )
    return rows
