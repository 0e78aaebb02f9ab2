"""The ground floor: plain file I/O that every layer above uses. Imports numpy and genlab.errors only.

- `atomic_write`: a file appears whole or not at all (temporary sibling, fsync, rename, fsync of the
  folder). The new file gets the mode a plain `open()` would give it under the user's umask, or the
  mode of the file it replaces, never mkstemp's 0600.
- JSON (`write_json`, `read_json`) and safetensors arrays (`save_arrays`, `load_arrays`); never pickle.
- An OS error while writing (a full disk, a file-size limit, a read-only folder) becomes a `GenlabError`
  that names the file, so the CLI prints one line instead of a traceback.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError

__all__ = [
    "atomic_write",
    "cache_dir",
    "fsync_dir",
    "jsonable",
    "load_arrays",
    "new_file_mode",
    "read_json",
    "save_arrays",
    "write_json",
]

MAX_JSON_BYTES = 50 * 2**20
_UMASK_LOCK = threading.Lock()


def new_file_mode(replacing: Path | None = None) -> int:
    """The permission bits for a new file: those of the file it replaces, else 0o666 minus the umask."""
    if replacing is not None:
        try:
            return stat.S_IMODE(replacing.stat().st_mode)
        except OSError:
            pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it; put it straight back
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def cache_dir() -> Path:
    """Where genlab keeps what it can rebuild (feature networks, decoded image folders):
    $GENLAB_CACHE_DIR, else ~/.cache/genlab."""
    return Path(os.environ.get("GENLAB_CACHE_DIR") or Path.home() / ".cache" / "genlab")


def fsync_dir(path: str | Path) -> None:
    """Make a rename or a new entry in `path` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_error(path: Path, e: OSError) -> GenlabError:
    return GenlabError(f"{path}: cannot write ({e.strerror or type(e).__name__}); nothing was changed there")


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = new_file_mode(path if path.exists() else None)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def jsonable(v: Any) -> Any:
    """Plain JSON data from nested dicts/lists/tuples and numpy scalars or arrays."""
    if isinstance(v, tuple | list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if v is None or isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"value {v!r} of type {type(v).__name__} is not JSON-serialisable")


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=True) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DataError(f"{path}: too large for a genlab JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None


def save_arrays(path: str | Path, arrays: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
    """Save a dict of numpy arrays (or torch tensors) as safetensors, atomically.

    `metadata` may hold one key at most: safetensors keeps it in a hash map, so two keys come out in
    varying order and two saves of the same tensors would not be byte-identical.
    """
    from safetensors.numpy import save

    if metadata is not None and len(metadata) > 1:
        raise ValueError("save_arrays: at most one metadata key (byte-identical files)")
    clean = {}
    for k in sorted(arrays):
        v = arrays[k]
        if hasattr(v, "detach"):  # torch tensor: bf16 has no numpy dtype, so widen floats to float32
            v = v.detach().cpu()
            v = v.float() if v.is_floating_point() else v
            v = v.numpy()
        clean[k] = np.ascontiguousarray(v)
    atomic_write(path, save(clean, metadata=metadata))


def _check_safetensors_header(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise DataError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n == 0 or n > size - 8 or n > 100 * 2**20:
            raise DataError(f"{path}: not a safetensors file (bad header length); genlab never loads pickles")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(
            f"{path}: not a safetensors file (header is not JSON); genlab never loads pickles"
        ) from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: not a safetensors file (header is not a JSON object)")


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    _check_safetensors_header(path)
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types on malformed files
        raise DataError(f"{path}: could not read safetensors file ({e})") from None
