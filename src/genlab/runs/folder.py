"""Run folders on disk: reading them, building a new one safely beside the old, and locking.

A new run is built in a hidden sibling `.NAME.partial` and renamed into place only once it is
complete, so `genlab fit --force` never destroys the old run before the new one exists, and a fit that
fails, is interrupted or killed leaves the old run as it was. One process at a time works on a run: a
lock file sibling `.NAME.lock`, held with an OS lock (released however the process ends) and holding
the pid and command of its holder for the message another process gets.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genlab.errors import DataError, GenlabError
from genlab.fileio import fsync_dir, read_json, write_json
from genlab.layout import CONFIG_FILE, LOG_FILE, RUN_FILE, RUN_MARKERS

__all__ = [
    "RunLock",
    "default_run_dir",
    "find_run",
    "is_run_folder",
    "lock_path",
    "partial_path",
    "path_is_partial",
    "read_log",
    "read_run",
    "remove_tree",
    "require_run",
    "run_lock",
    "swap_in",
    "write_run",
]


def default_run_dir(data: str, model: str, root: str | Path = "runs") -> Path:
    """runs/<data>-<model>, with -2, -3, ... appended when taken (never overwrites)."""
    stem = Path(str(data)).stem if ("/" in str(data) or "." in str(data)) else str(data)
    base = Path(root) / f"{stem}-{model}"
    path, i = base, 1
    while path.exists() or partial_path(path).exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def partial_path(run: str | Path) -> Path:
    """Where a run is built before it is swapped into place."""
    run = Path(run)
    return run.with_name(f".{run.name}.partial")


def lock_path(run: str | Path) -> Path:
    run = Path(run)
    return run.with_name(f".{run.name}.lock")


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and any((path / m).exists() for m in RUN_MARKERS)


def require_run(path: str | Path) -> Path:
    """The run folder at `path` (GenlabError if it is none); an unfinished build is pointed out."""
    path = Path(path)
    if not path.is_dir():
        partial = partial_path(path)
        if partial.is_dir():
            raise GenlabError(
                f"{path}: not finished yet: a fit into it was interrupted or is still running "
                f"({partial}); resume it with `genlab fit --resume {path}`, or fit again with --force"
            )
        raise GenlabError(f"{path}: no such run folder")
    if not (path / RUN_FILE).is_file() and not (path / CONFIG_FILE).is_file():
        raise GenlabError(f"{path}: not a genlab run folder (no {RUN_FILE} or {CONFIG_FILE})")
    return path


def find_run(path: str | Path) -> Path:
    """The folder holding the run named `path`: the run itself, or its unfinished build."""
    path = Path(path)
    partial = partial_path(path)
    if partial.is_dir() and (partial / RUN_FILE).is_file():
        return partial
    return require_run(path)


def read_run(path: str | Path) -> dict[str, Any]:
    path = require_run(path) if not path_is_partial(Path(path)) else Path(path)
    info = read_json(path / RUN_FILE) if (path / RUN_FILE).is_file() else {}
    if not isinstance(info, dict):
        raise DataError(f"{path / RUN_FILE}: must hold a JSON object")
    return info


def path_is_partial(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".partial")


def write_run(path: str | Path, info: dict[str, Any]) -> None:
    write_json(Path(path) / RUN_FILE, info)


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The training log of a run folder; a torn last line (from a killed process) is skipped."""
    f = Path(path) / LOG_FILE
    rows = []
    if f.is_file():
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def remove_tree(path: Path) -> None:
    """Delete a folder genlab built (ignore it if it is gone)."""
    shutil.rmtree(path, ignore_errors=True)


def swap_in(built: Path, target: Path) -> None:
    """Put the complete run `built` at `target`, replacing what is there. Between the two renames the old
    run still exists under `.NAME.old`; a process killed there leaves both intact."""
    old = target.with_name(f".{target.name}.old")
    remove_tree(old)
    try:
        if target.exists() or target.is_symlink():
            os.replace(target, old)
        os.replace(built, target)
    except OSError as e:
        if old.exists() and not target.exists():
            os.replace(old, target)  # put the old run back
        raise GenlabError(
            f"{target}: cannot put the new run in place ({e.strerror}); the old run is unchanged"
        ) from None
    remove_tree(old)
    fsync_dir(target.parent)


# ---------------------------------------------------------------------------------------------- locks
class RunLock:
    """An exclusive OS lock on `.NAME.lock` beside a run folder (fcntl.flock; released when the process
    ends, however it ends, so a stale lock file never blocks anyone: only a live holder does)."""

    def __init__(self, run: str | Path, what: str) -> None:
        self.run, self.path, self.what = Path(run), lock_path(run), what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        for _ in range(100):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                raise GenlabError(f"{self.path}: cannot create the run's lock file ({e.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise GenlabError(
                    f"{self.run}: in use by {holder}; wait for it to finish (or stop it) and try again"
                ) from None
            try:  # the holder before us may have removed the file after we opened it: lock the live one
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:  # pragma: no cover - a lock file replaced a hundred times in a row
            raise GenlabError(f"{self.path}: the lock file keeps changing; try again")
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"process {os.getpid()} ({self.what}: {' '.join(sys.argv[1:]) or sys.argv[0]})".encode(), 0
        )
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            self.path.unlink(missing_ok=True)  # still ours: we hold the lock (see acquire)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextmanager
def run_lock(run: str | Path, what: str, *, enabled: bool = True) -> Iterator[None]:
    """`with run_lock(RUN, "fit"):` (a no-op when not `enabled`, e.g. on DDP ranks other than 0)."""
    if not enabled:
        yield
        return
    with RunLock(run, what):
        yield
