"""Checking that an array fits in memory before allocating it, so a huge request is a one-line error
naming what asked for it, not a MemoryError or a machine swapping to a halt."""

from __future__ import annotations

import os

from genlab.errors import GenlabError

__all__ = ["available_bytes", "check_fits", "format_bytes"]

#: an allocation may use at most this share of the memory that is available now
SHARE = 0.8


def available_bytes() -> int | None:
    """Memory available to new allocations now (Linux: MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def check_fits(nbytes: float, what: str, *, hint: str = "") -> None:
    """GenlabError if `nbytes` exceed SHARE of the memory available now; `what` names the request."""
    avail = available_bytes()
    if avail is not None and nbytes > SHARE * avail:
        raise GenlabError(
            f"{what} needs {format_bytes(nbytes)} of memory, but only {format_bytes(avail)} is available"
            + (f"; {hint}" if hint else "")
        )
