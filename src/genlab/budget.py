"""Training budgets: "90s", "5m", "1.5h", "3000steps", "20epochs" (combine with "+": "5m+3000steps")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from genlab.errors import GenlabError

__all__ = ["Budget", "parse_budget"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PART = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|steps?|epochs?)\s*$")


@dataclass(frozen=True)
class Budget:
    """Stop when any given limit is reached; a limit left as None does not apply."""

    seconds: float | None = None
    steps: int | None = None
    epochs: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}s")
        if self.steps is not None:
            parts.append(f"{self.steps}steps")
        if self.epochs is not None:
            parts.append(f"{self.epochs}epochs")
        return "+".join(parts) or "unlimited"

    @property
    def empty(self) -> bool:
        return self.seconds is None and self.steps is None and self.epochs is None


def parse_budget(budget: str | Budget | None, default: str | None = None) -> Budget:
    """Parse a budget string. `None` falls back to `default` (itself a string or None)."""
    if isinstance(budget, Budget):
        return budget
    if budget is None:
        return parse_budget(default) if default is not None else Budget()
    fields: dict[str, float | int] = {}
    for part in str(budget).split("+"):
        m = _PART.match(part)
        if not m:
            raise GenlabError(
                f"bad budget {budget!r}: use e.g. '90s', '5m', '1h', '3000steps', '20epochs' "
                "or a combination like '5m+3000steps'"
            )
        value, unit = float(m.group(1)), m.group(2)
        if unit.startswith("step") or unit.startswith("epoch"):
            if value != int(value) or value < 1:
                raise GenlabError(f"bad budget {budget!r}: {unit} must be a positive whole number")
            key = "steps" if unit.startswith("step") else "epochs"
            fields[key] = int(value)
        else:
            if value <= 0:
                raise GenlabError(f"bad budget {budget!r}: time must be positive")
            fields["seconds"] = value * _UNITS[unit]
    return Budget(**fields)  # type: ignore[arg-type]
