"""Conditional sampling on values: `sample_where(model, 100, {"species": "Gentoo"})` for a table model,
`factor_where(model, ["height=0.8"])` for a factor-conditional model (tins' height and width).

A factor-conditional model (`conditional="factors"`) draws the asked-for factors exactly: `factor_where`
turns `--where FACTOR=VALUE` items into the `factors=` dict of `model.sample` (values in the data's own
factor units; factors not named are drawn from the training rows).

Table columns are sampled by rejection: draw batches, keep the rows that meet every condition, until `n` are kept.
The batch grows with the observed acceptance rate; when the rate is so low that `n` rows cannot be
met within `max_draws` rows or `seconds`, a GenlabError says how rare the condition was.
Conditions name categorical or integer columns (`col=value`, the value as the table writes it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from genlab.errors import GenlabError

__all__ = ["MAX_DRAWS", "factor_where", "parse_where", "sample_where"]

MAX_DRAWS = 2_000_000
SECONDS = 120.0


def parse_where(items: list[str] | dict[str, Any] | None, codec: Any) -> dict[str, Any]:
    """`["species=Gentoo", "year=2008"]` (or a dict) -> {column: label of the column's own type};
    GenlabError naming an unknown column, a numeric column, or a value the column never held."""
    if not items:
        return {}
    pairs = items.items() if isinstance(items, dict) else [_split(i) for i in items]
    out = {}
    for col, value in pairs:
        c = codec.column(col) if col in codec.names else None
        if c is None:
            raise GenlabError(f"--where {col}=...: no column {col!r}; columns: {', '.join(codec.names)}")
        if c.kind == "numeric":
            raise GenlabError(
                f"--where {col}=...: {col!r} is a continuous column; condition on a category or integer"
            )
        out[col] = _label(c, value)
    return out


def factor_where(model: Any, items: list[str] | dict[str, Any]) -> dict[str, float]:
    """`["height=0.8"]` (or a dict) -> {factor: value} for `model.sample(factors=...)`; GenlabError naming
    an unknown factor or a value that is not a finite number."""
    names = list(getattr(model, "factor_names_", []) or [])
    if model.conditional_mode != "factors":
        raise GenlabError(f"{model.name}: --where FACTOR=VALUE needs a model conditioned on factors")
    pairs = items.items() if isinstance(items, dict) else [_split(i) for i in items]
    out: dict[str, float] = {}
    for name, value in pairs:
        if name not in names:
            raise GenlabError(f"--where {name}=...: no factor {name!r}; factors: {', '.join(names)}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise GenlabError(f"--where {name}={value}: {name!r} is a number (a factor value)") from None
        if not np.isfinite(v):
            raise GenlabError(f"--where {name}={value}: must be a finite number")
        out[name] = v
    return out


def _split(item: str) -> tuple[str, str]:
    col, sep, value = str(item).partition("=")
    if not sep or not col.strip():
        raise GenlabError(f"--where expects COLUMN=VALUE, got {item!r}")
    return col.strip(), value.strip()


def _label(c: Any, value: Any) -> Any:
    if c.kind == "integer":
        try:
            v = int(str(value))
        except ValueError:
            raise GenlabError(f"--where {c.name}={value}: {c.name!r} holds integers") from None
        if not c.low <= v <= c.high:
            raise GenlabError(f"--where {c.name}={v}: outside the column's range {c.low:g} to {c.high:g}")
        return v
    for label in c.categories or []:
        if str(label) == str(value) or label == value:
            return label
    seen = ", ".join(map(str, (c.categories or [])[:20]))
    raise GenlabError(f"--where {c.name}={value}: never seen in the data; {c.name!r} holds {seen}")


def sample_where(
    model: Any,
    n: int,
    where: dict[str, Any],
    *,
    seed: int | None = 0,
    max_draws: int = MAX_DRAWS,
    seconds: float = SECONDS,
    labels: int | str | None = None,
) -> Any:
    """`n` rows of the model's table meeting every `where` condition (see the module docstring);
    `labels`: one class of a label-conditional model, drawn for every row."""
    import pandas as pd

    codec = model.table
    if codec is None:
        raise GenlabError(
            f"{model.name}: --where needs a model fitted on a table (this one was fitted on arrays)"
        )
    where = parse_where(where, codec)
    if labels is not None and not isinstance(labels, int | np.integer | str):
        raise GenlabError("--where with --per-class: give one class (--class) or none")
    if not where:
        return model.sample(n, seed=seed, labels=labels)
    rng = np.random.default_rng(seed)
    kept, drawn, t0, batch = [], 0, time.perf_counter(), max(256, 2 * n)
    have = 0
    while have < n:
        if drawn >= max_draws or time.perf_counter() - t0 > seconds:
            cond = ", ".join(f"{k}={v}" for k, v in where.items())
            raise GenlabError(
                f"--where {cond}: only {have} of {n} samples met the condition in {drawn:,} draws "
                f"({have / max(drawn, 1):.4%} accepted, {time.perf_counter() - t0:.0f}s); the condition is too rare "
                "for rejection sampling: ask for fewer rows or a broader condition"
            )
        frame = model.sample(batch, seed=int(rng.integers(2**31)), labels=labels)
        drawn += batch
        ok = np.ones(len(frame), dtype=bool)
        for col, label in where.items():
            ok &= (frame[col] == label).fillna(False).to_numpy(dtype=bool)
        kept.append(frame[ok])
        have += int(ok.sum())
        rate = max(have, 1) / drawn
        batch = int(min(max(256, 1.2 * (n - have) / rate), max_draws - drawn + 256, 200_000))
    return pd.concat(kept, ignore_index=True).iloc[:n]
