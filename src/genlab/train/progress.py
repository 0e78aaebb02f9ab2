"""What a run tells the world: `log.jsonl` records, a rich progress bar in a terminal, plain lines otherwise."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Reporter", "read_log"]


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else (f"{seconds // 60}:{seconds % 60:02d}")
    )


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a `log.jsonl`, skipping a torn last line (a run killed mid-write)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


class Reporter:
    """Keeps the history in memory, appends it to `log.jsonl` (rank 0 only) and shows progress.

    mode: "rich" (a live bar on stderr), "plain" (a line every `print_every` seconds), "off".
    """

    def __init__(
        self,
        *,
        log_path: Path | None,
        mode: str,
        title: str,
        print_every: float = 10.0,
        stream: TextIO | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        self.history: list[dict[str, Any]] = list(history or [])
        self.mode = mode
        self.title = title
        self.print_every = print_every
        self.stream = stream or sys.stderr
        self._file = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = log_path.open("a", encoding="utf-8")
        self._last_print = time.perf_counter()
        self._progress = None
        self._task = None

    # ------------------------------------------------------------------ records
    def record(self, rec: dict[str, Any]) -> None:
        self.history.append(rec)
        if self._file is not None:
            self._file.write(json.dumps(rec, allow_nan=True) + "\n")
            self._file.flush()

    def message(self, text: str, *, step: int, elapsed: float) -> None:
        """An event worth telling the user about (e.g. NaN recovery): logged and printed."""
        self.record({"event": "message", "step": step, "time": round(elapsed, 3), "message": text})
        if self.mode == "rich" and self._progress is not None:
            self._progress.console.print(f"[yellow]{text}[/yellow]")
        elif self.mode != "off":
            print(f"{self.title}: {text}", file=self.stream, flush=True)

    # ------------------------------------------------------------------ display
    def start(self) -> None:
        if self.mode != "rich":
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[info]}"),
            console=Console(file=self.stream),
            auto_refresh=False,  # no refresh thread: we refresh when we log
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.title, total=1000, info="starting")

    def show(self, rec: dict[str, Any], fraction: float, *, final: bool = False) -> None:
        elapsed = rec.get("time", 0.0)
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        losses = "  ".join(f"{k} {v:.4g}" for k, v in rec.get("losses", {}).items())
        val = f"  val {rec['val_loss']:.4g}" if rec.get("val_loss") is not None else ""
        info = (
            f"step {rec['step']}  {losses}{val}  {rec.get('samples_per_s', 0):.0f} samples/s  "
            f"{_fmt_time(elapsed)} elapsed, {_fmt_time(0 if final else left)} left"
        )
        if self.mode == "rich" and self._progress is not None:
            self._progress.update(self._task, completed=int(1000 * min(fraction, 1.0)), info=info)
            self._progress.refresh()
        elif self.mode == "plain":
            now = time.perf_counter()
            if final or now - self._last_print >= self.print_every:
                self._last_print = now
                print(f"{self.title}: {100 * min(fraction, 1.0):3.0f}%  {info}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._file is not None:
            self._file.close()
            self._file = None
