"""Checks of hyperparameter values, for the families' `_check(data)` hooks: one-line GenlabErrors that
name the family, the hyperparameter and the value, raised before anything is fitted or written."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from genlab.errors import GenlabError

__all__ = ["check_bool", "check_choice", "check_float", "check_int", "check_sizes"]


def _fail(model: Any, name: str, what: str) -> GenlabError:
    return GenlabError(f"{model.name}: {name} must be {what}, got {getattr(model, name)!r}")


def check_int(
    model: Any, name: str, *, minimum: int = 1, maximum: int | None = None, none: bool = False
) -> None:
    v = getattr(model, name)
    if v is None and none:
        return
    what = (
        f"an integer >= {minimum}"
        + (f" and <= {maximum}" if maximum is not None else "")
        + (" or None" if none else "")
    )
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum or (maximum is not None and v > maximum):
        raise _fail(model, name, what)


def check_float(
    model: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
    high_strict: bool = False,
    none: bool = False,
) -> None:
    v = getattr(model, name)
    if v is None and none:
        return
    parts = []
    if low is not None:
        parts.append(f"{'>' if strict else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_strict else '<='} {high:g}")
    what = "a number" + (" " + " and ".join(parts) if parts else "") + (" or None" if none else "")
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
        raise _fail(model, name, what)
    if low is not None and (v <= low if strict else v < low):
        raise _fail(model, name, what)
    if high is not None and (v >= high if high_strict else v > high):
        raise _fail(model, name, what)


def check_choice(model: Any, name: str, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if getattr(model, name) not in choices:
        raise _fail(model, name, "one of " + ", ".join(map(repr, choices)))


def check_bool(model: Any, name: str) -> None:
    if not isinstance(getattr(model, name), bool):
        raise _fail(model, name, "true or false")


def check_sizes(model: Any, name: str, *, none: bool = False, length: int | None = None) -> None:
    """A non-empty tuple of positive integers (layer widths); `length` fixes how many."""
    v = getattr(model, name)
    if v is None and none:
        return
    ok = (
        isinstance(v, tuple | list)
        and len(v) > 0
        and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)
    )
    if ok and length is not None:
        ok = len(v) == length
    if not ok:
        what = f"{length} positive integers" if length else "a list of positive integers like 64,64"
        raise _fail(model, name, what + (" or None" if none else ""))
