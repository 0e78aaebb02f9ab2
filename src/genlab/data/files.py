"""Loading data from files: .npy/.npz arrays, .csv tables, folders of images, IDX (MNIST) files.

Each `load_*` returns the pieces `make_dataset` needs (x or a presplit, labels, names) and raises
DataError naming the file, row, column or array at fault. Array layouts:

- 1-D (N,) and 2-D (N, D) arrays are vectors in their own units (a 1-D array is N values of D=1);
- 3-D (N, H, W) are grayscale images;
- 4-D are NHWC when the last axis is 1, 3 or 4 and the second is not, else NCHW;
- images as uint8 are divided by 255 (uint16 by 65535); float images must already lie in [0, 1].

Never unpickles: npy/npz are read with allow_pickle=False.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from genlab.arrays import ImageArray
from genlab.data.dataset import OptionSpec, check_finite, check_min_rows
from genlab.data.table import MAX_CATEGORIES
from genlab.errors import DataError
from genlab.memory import check_fits, format_bytes

__all__ = ["FILE_OPTIONS", "IMAGE_EXTENSIONS", "as_observations", "encode_labels", "file_format", "load_file"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")

FILE_OPTIONS: dict[str, OptionSpec] = {
    "npy": {},
    "npz": {"key": (str, None), "labels": (str, None)},
    "csv": {
        "label": (str, None),
        "delimiter": (str, None),  # None: sniffed from the header (comma, semicolon, tab or bar)
        "encoding": (str, "utf-8"),
        "table": (bool, None),  # None: a table when a cell is not a finite number (text, missing)
        "types": (tuple, None),  # "col:kind,...": numeric, integer or categorical
        "drop": (tuple, None),
        "target": (str, None),  # the column train-on-synthetic, test-on-real predicts
        "max_categories": (int, MAX_CATEGORIES),
    },
    "folder": {"size": (int, None), "color": (bool, None), "cache": (bool, None)},
    "idx": {"labels": (str, None)},
}

# IDX type codes -> big-endian numpy dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ---------------------------------------------------------------------------------------- shared
def _open(path: Path):  # noqa: ANN202 - a binary file object
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")


def _looks_like_idx(path: Path) -> bool:
    try:
        with _open(path) as f:
            head = f.read(4)
    except (OSError, EOFError):
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in _IDX_DTYPES and 1 <= head[3] <= 4


def file_format(path: Path) -> str:
    """ "npy", "npz", "csv", "folder" or "idx"; DataError for anything else."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz", ".csv"):
        return suffix[1:]
    if _looks_like_idx(path):
        return "idx"
    try:
        with _open(path) as f:
            head = f.read(4)
    except (OSError, EOFError):
        head = b""
    if head[:2] == b"\0\0":  # starts like an IDX file: say what is wrong with its magic number
        raise DataError(
            f"{path}: not an IDX file: bad magic number {head.hex()} (IDX files start with 00 00, a type code "
            f"08/09/0b/0c/0d/0e and 1 to 4 dimensions)"
        )
    raise DataError(
        f"{path}: unknown data format {suffix or '(no extension)'!r}; "
        "genlab reads .npz, .npy, .csv, IDX files (raw or .gz) and folders of images"
    )


def encode_labels(values: np.ndarray, where: str) -> tuple[np.ndarray, list[str]]:
    """Map label values to ints 0..K-1 in sorted order (numeric order for numbers); keep their names."""
    values = np.asarray(values)
    if values.ndim != 1:
        values = values.reshape(len(values), -1)
        if values.shape[1] != 1:
            raise DataError(f"{where}: labels must be one value per observation, got shape {values.shape}")
        values = values[:, 0]
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(f"{where}: label {values[i]} at observation {i + 1} is not finite")
        if np.all(values == np.round(values)):
            values = values.astype(np.int64)
    if values.dtype.kind not in "biuUS" and values.dtype.kind != "f":
        raise DataError(f"{where}: labels of dtype {values.dtype} are not supported")
    classes, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), [str(c) for c in classes]


def as_observations(a: np.ndarray, where: str) -> tuple[Any, str]:
    """An array from a file -> (observations, "vector" or "image"), following the layout rules: float32
    arrays, or an `ImageArray` (float32 on access) for images stored as uint8 / uint16."""
    if a.dtype.kind not in "biuf":
        raise DataError(f"{where}: array of dtype {a.dtype} is not numeric")
    if a.ndim == 0:
        raise DataError(f"{where}: a single number, not a data set")
    if a.ndim > 4:
        raise DataError(
            f"{where}: expected 1 to 4 dimensions (N x D vectors or N x H x W [x C] images), got {a.shape}"
        )
    check_min_rows(a.shape[0], where)
    if a.dtype.kind == "f":
        check_finite(a, where)
    if a.ndim <= 2:
        x = a.reshape(len(a), -1)
        if x.shape[1] == 0:
            raise DataError(f"{where}: observations have no values (shape {a.shape})")
        return x.astype(np.float32), "vector"
    if a.ndim == 3:
        a = a[:, None]  # NHW -> N1HW
    elif a.shape[-1] in (1, 3, 4) and a.shape[1] not in (1, 3, 4):
        a = a.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    if a.dtype == np.uint8:  # kept as stored; float32 pixels are made per batch (genlab.data.arrays)
        return ImageArray(a), "image"
    if a.dtype == np.uint16:
        return ImageArray(a), "image"
    lo, hi = float(a.min()), float(a.max())
    if a.dtype.kind in "biu" and (lo < 0 or hi > 1):
        raise DataError(
            f"{where}: integer images must be uint8 (0-255) or uint16; got {a.dtype} with values in [{lo:g}, {hi:g}]"
        )
    if lo < 0 or hi > 1:
        raise DataError(f"{where}: float images must lie in [0, 1], found range [{lo:g}, {hi:g}]")
    return a.astype(np.float32), "image"


# ---------------------------------------------------------------------------------------- npy / npz
NPY_MAGIC = b"\x93NUMPY"


def _npy_header(f: Any, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header, read before any data, so nothing is allocated for a lie."""
    head = f.read(6)
    f.seek(-len(head), 1)
    if head != NPY_MAGIC:
        looks = "text" if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "something else"
        raise DataError(
            f"{where}: not a .npy array (it does not start with NumPy's magic bytes; it looks like {looks})"
        )
    try:
        from numpy.lib import format as npy

        version = npy.read_magic(f)
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read(f, max_header_size=100_000)  # the header only
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{where}: unreadable .npy header ({e})") from None
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects (a pickle); genlab never loads pickles")
    return tuple(int(d) for d in shape), dtype


def _check_declared(shape: tuple[int, ...], dtype: np.dtype, stored: int | None, where: str) -> None:
    """The header's promise against the bytes actually there and the memory a float32 copy needs."""
    n = math.prod(shape)
    if stored is not None and n * dtype.itemsize > stored:
        raise DataError(
            f"{where}: the header declares shape {shape} of {dtype} ({format_bytes(n * dtype.itemsize)}), "
            f"but the file holds only {format_bytes(stored)}; the file is truncated or damaged"
        )
    check_fits(n * (dtype.itemsize + 4), f"{where}: an array of shape {shape}", hint="use a smaller file")


def load_npy(path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    with path.open("rb") as f:
        shape, dtype = _npy_header(f, str(path))
        start = f.tell()
    _check_declared(shape, dtype, path.stat().st_size - start, str(path))
    try:  # memory-mapped: integer images are then read from the file only as batches need them
        a = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy array ({e})") from None
    x, kind = as_observations(a, str(path))
    return {"x": x, "kind": kind}


def load_npz(path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    with archive:
        keys = list(archive.files)

        if not keys:
            raise DataError(f"{path}: the archive holds no arrays")

        def get(key: str) -> np.ndarray:
            if key not in keys:
                raise DataError(f"{path}: no array {key!r}; it holds: {', '.join(keys)}")
            where = f"{path}: array {key!r}"
            try:
                info = archive.zip.getinfo(f"{key}.npy")
                with archive.zip.open(info) as member:
                    shape, dtype = _npy_header(member, where)
                _check_declared(shape, dtype, None, where)
                return archive[key]
            except (ValueError, OSError, zipfile.BadZipFile) as e:
                raise DataError(f"{path}: array {key!r} is not readable without pickle ({e})") from None

        key, label_key = opts["key"], opts["labels"]
        if key is None and label_key is None and "x_train" in keys:
            if "x_test" not in keys:
                raise DataError(
                    f"{path}: holds 'x_train' but no 'x_test'; give both, or pick one with key=x_train"
                )
            if ("y_train" in keys) != ("y_test" in keys):
                raise DataError(f"{path}: holds only one of 'y_train'/'y_test'; give both or neither")
            x_train, kind = as_observations(get("x_train"), f"{path}: array 'x_train'")
            x_test, kind_test = as_observations(get("x_test"), f"{path}: array 'x_test'")
            if kind != kind_test or x_train.shape[1:] != x_test.shape[1:]:
                raise DataError(
                    f"{path}: mixed shapes: 'x_test' observations have shape {x_test.shape[1:]}, "
                    f"'x_train' observations {x_train.shape[1:]}"
                )
            y_train = y_test = class_names = None
            if "y_train" in keys:
                y_train, y_test = get("y_train"), get("y_test")
                _check_label_count(y_train, len(x_train), f"{path}: array 'y_train'")
                _check_label_count(y_test, len(x_test), f"{path}: array 'y_test'")
                codes, class_names = encode_labels(np.concatenate([y_train, y_test]), f"{path}: labels")
                y_train, y_test = codes[: len(y_train)], codes[len(y_train) :]
                class_names = _npz_class_names(get, keys, class_names, path)
            return {"presplit": (x_train, x_test, y_train, y_test), "kind": kind, "class_names": class_names}
        if key is None:
            if len(keys) == 1:
                key = keys[0]
            elif "x" in keys:
                key = "x"
                label_key = label_key or ("y" if "y" in keys else None)
            else:
                raise DataError(f"{path}: holds several arrays ({', '.join(keys)}); pick one with key=NAME")
        x, kind = as_observations(get(key), f"{path}: array {key!r}")
        out: dict[str, Any] = {"x": x, "kind": kind}
        if label_key is not None:
            y = get(label_key)
            _check_label_count(y, len(x), f"{path}: array {label_key!r}")
            out["labels"], names = encode_labels(y, f"{path}: array {label_key!r}")
            out["class_names"] = _npz_class_names(get, keys, names, path)
        return out


def _npz_class_names(get: Any, keys: list[str], names: list[str], path: Path) -> list[str]:
    """The classes' names: an optional 'class_names' array of strings, its entry i naming label value i
    (Fashion-MNIST's "T-shirt/top", "Trouser", ... for labels 0-9), else the label values themselves."""
    if "class_names" not in keys:
        return names
    where = f"{path}: array 'class_names'"
    given = get("class_names")
    if given.ndim != 1 or given.dtype.kind not in "US":
        raise DataError(
            f"{where}: expected a 1-D array of strings, got dtype {given.dtype} and shape {given.shape}"
        )
    given = [g.decode() if isinstance(g, bytes) else str(g) for g in given.tolist()]
    values = [int(v) for v in names if v.lstrip("-").isdigit()]
    if len(values) != len(names) or min(values) < 0 or max(values) >= len(given):
        raise DataError(
            f"{where}: names {len(given)} classes, so the labels must be integers 0 to {len(given) - 1}; "
            f"they are {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}"
        )
    return [given[v] for v in values]


def _check_label_count(y: np.ndarray, n: int, where: str) -> None:
    if y.ndim == 0 or len(y) != n:
        raise DataError(f"{where}: {0 if y.ndim == 0 else len(y)} labels for {n} observations")


# ---------------------------------------------------------------------------------------- csv
def _column_values(cells: list[str], column: str, path: Path, lines: list[int]) -> np.ndarray:
    """Parse one numeric column; DataError on an empty, non-numeric or non-finite cell (rows from 1)."""
    try:
        return np.array(cells, dtype=np.float64)  # fast path; also parses "nan"/"inf", caught below
    except ValueError:
        pass
    for r, cell in enumerate(cells):
        if not cell.strip():
            raise DataError(f"{path}: row {r + 1} (line {lines[r]}), column {column!r}: empty cell")
        try:
            float(cell)
        except ValueError:
            raise DataError(
                f"{path}: column {column!r} is not numeric (row {r + 1}, line {lines[r]}: {cell.strip()!r}); "
                "name a label column with label=COLUMN"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


DELIMITERS = (",", ";", "\t", "|")


def _read_text(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        )
    except LookupError:
        raise DataError(f"{path}: unknown encoding={encoding!r} (e.g. utf-8, latin-1, cp1252)") from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}: not {encoding} text: byte 0x{raw[e.start]:02x} on line {line} (byte {e.start}); "
            "give the file's encoding with --set encoding=latin-1 (or cp1252, ...)"
        ) from None


def _sniff_delimiter(first_line: str) -> str:
    """The candidate that splits the header into the most fields (a comma on a tie)."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def _check_header(path: Path, header: list[str]) -> None:
    if all(_is_number(h) for h in header):
        raise DataError(f"{path}: the first row looks numeric; a header row with column names is required")
    for j, h in enumerate(header):
        if not h:
            raise DataError(f"{path}: header: column {j + 1} has an empty name; give every column a name")
        if header.index(h) != j:
            raise DataError(
                f"{path}: header has repeated column names: {h!r} is column {header.index(h) + 1} and {j + 1}"
            )


def load_csv(path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    """A CSV with a header row: numeric vectors when every cell is a finite number (and `table` is not
    forced), else a table (`genlab.data.table`): mixed types, missing values, `types`/`drop` overrides."""
    delimiter = opts["delimiter"]
    if delimiter is not None and len(delimiter) != 1:
        raise DataError(f"{path}: delimiter must be one character, got {delimiter!r}")
    text = _read_text(path, opts["encoding"])
    if delimiter is None:
        delimiter = _sniff_delimiter(text.lstrip("\n\r").split("\n", 1)[0])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as e:
        raise DataError(f"{path}: not a readable CSV text file ({e})") from None
    rows = [(line, row) for line, row in rows if any(c.strip() for c in row)]  # drop blank lines
    if not rows:
        raise DataError(f"{path}: the file is empty (need a header row and at least 2 data rows)")
    header = [h.strip() for h in rows[0][1]]
    _check_header(path, header)
    data = rows[1:]
    check_min_rows(len(data), str(path))
    for r, (line, row) in enumerate(data):
        if len(row) != len(header):
            raise DataError(
                f"{path}: mixed shapes: row {r + 1} (line {line}) has {len(row)} fields, the header has {len(header)}"
            )
    lines = [line for line, _ in data]
    label = opts["label"]
    if label is not None and label not in header:
        raise DataError(f"{path}: no column {label!r} for label=; columns: {', '.join(header)}")
    drop = opts["drop"] or ()
    absent = [d for d in drop if d not in header]
    if absent:
        raise DataError(
            f"{path}: drop= names column(s) {', '.join(map(repr, absent))}; columns: {', '.join(header)}"
        )
    columns = {
        h: list(col) for h, col in zip(header, zip(*(row for _, row in data), strict=True), strict=True)
    }
    kept = [h for h in header if h not in drop]
    features = [h for h in kept if h != label]
    if not features:
        raise DataError(f"{path}: no feature columns besides the label column {label!r}")
    table = opts["table"]
    if table is None:  # auto: a table unless every feature cell is a finite number and nothing asks for one
        table = bool(opts["types"] or opts["target"] or drop) or not all(
            _all_finite_numbers(columns[h]) for h in features
        )
    if table:
        return _load_table(path, kept, columns, lines, opts)
    x = np.empty((len(data), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        col = _column_values(columns[name], name, path, lines)
        bad = ~np.isfinite(col)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: row {r + 1} (line {lines[r]}), column {name!r}: non-finite value {col[r]}"
            )
        x[:, j] = col
    out: dict[str, Any] = {"x": x.astype(np.float32), "kind": "vector", "feature_names": features}
    if label is not None:
        out["labels"], out["class_names"] = _text_labels(columns[label], label, path, lines)
    return out


def _all_finite_numbers(cells: list[str]) -> bool:
    try:
        return bool(np.isfinite(np.array(cells, dtype=np.float64)).all())
    except ValueError:
        return False


def _text_labels(cells: list[str], label: str, path: Path, lines: list[int]) -> tuple[np.ndarray, list[str]]:
    cells = [c.strip() for c in cells]
    for r, c in enumerate(cells):
        if not c:
            raise DataError(f"{path}: row {r + 1} (line {lines[r]}), column {label!r}: empty label")
    values = np.array(cells)
    if all(_is_number(c) for c in cells):
        values = values.astype(np.float64)
    return encode_labels(values, f"{path}: column {label!r}")


def _load_table(
    path: Path, kept: list[str], columns: dict[str, list[str]], lines: list[int], opts: dict[str, Any]
) -> dict[str, Any]:
    from genlab.data.table import codec_from_text, parse_types

    label = opts["label"]
    types = parse_types(opts["types"], str(path))
    if label is not None:
        if types.get(label, "categorical") != "categorical":
            raise DataError(f"{path}: the label column {label!r} must be categorical, not {types[label]}")
        types[label] = "categorical"
    codec, frame = codec_from_text(
        kept, [columns[h] for h in kept], where=str(path), lines=lines, types=types,
        target=opts["target"] or label, max_categories=opts["max_categories"],
    )  # fmt: skip
    out: dict[str, Any] = {
        "x": codec.encode(frame, where=str(path)).astype(np.float32),
        "kind": "table",
        "table": (codec, frame),
        "feature_names": codec.encoded_names,
    }
    if label is not None:
        col = codec.column(label)
        span = codec.span(label)
        out["labels"] = out["x"][:, span].argmax(1).astype(np.int64)
        out["class_names"] = [str(c) for c in col.categories or []] + (["NA"] if col.has_missing else [])
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------- image folders
def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def _read_image(path: Path, size: int | None) -> np.ndarray:
    """One image as float (H, W, 3) in [0, 1]; DataError naming the file when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grayscale
                a = np.asarray(im, dtype=np.float64) / 65535.0
                a = np.clip(a, 0.0, 1.0)
                if size is not None:
                    a = np.asarray(
                        Image.fromarray(a.astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR)
                    )
                a = np.repeat(a[..., None], 3, axis=-1)
            else:
                im = im.convert("RGB")
                if size is not None:
                    im = im.resize((size, size), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
    except Image.DecompressionBombError as e:
        raise DataError(f"{path}: image too large to load safely ({e})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{path}: unreadable image ({type(e).__name__}: {e})") from None
    return a.astype(np.float32)


def load_folder(path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    size, color = opts["size"], opts["color"]
    if size is not None and size < 1:
        raise DataError(f"{path}: size must be a positive integer, got {size}")
    files = _image_files(path)
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = [(d.name, _image_files(d)) for d in subdirs]
    classes = [(name, fs) for name, fs in classes if fs]
    if files and classes:
        raise DataError(
            f"{path}: holds both images and class subfolders ({', '.join(n for n, _ in classes)}); "
            "put every image in a class subfolder, or none"
        )
    if classes:
        files = [f for _, fs in classes for f in fs]
        labels = np.concatenate([np.full(len(fs), k, dtype=np.int64) for k, (_, fs) in enumerate(classes)])
        class_names = [name for name, _ in classes]
    else:
        labels = class_names = None
    check_min_rows(len(files), f"{path} (images: {', '.join(IMAGE_EXTENSIONS)})")
    cache = opts.get("cache")
    if cache or (cache is None and len(files) > LAZY_FOLDER):
        out = _load_folder_cached(path, files, size, color)
        if labels is not None:
            out["labels"], out["class_names"] = labels, class_names
        return out
    images: list[np.ndarray] = []
    for f in files:
        a = _read_image(f, size)
        if not images:  # all images share this size (checked below): the whole folder as float32
            check_fits(len(files) * a.size * 4 * 2, f"{path}: {len(files)} images of {a.shape[1]}x{a.shape[0]}",
                       hint="pass size=N to load them smaller")  # fmt: skip
        if images and a.shape != images[0].shape:
            raise DataError(
                f"{f}: image of size {a.shape[1]}x{a.shape[0]} (WxH), but {files[0].name} is "
                f"{images[0].shape[1]}x{images[0].shape[0]}; pass size=N to resize every image to NxN"
            )
        images.append(a)
    x = np.stack(images)  # (N, H, W, 3)
    if color is None:
        color = bool(
            np.any(np.abs(x[..., 0] - x[..., 1]) > 1e-6) or np.any(np.abs(x[..., 0] - x[..., 2]) > 1e-6)
        )
    if color:
        x = x.transpose(0, 3, 1, 2)
    else:
        x = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[:, None]  # ITU-R 601 luma
    out: dict[str, Any] = {"x": np.clip(x, 0.0, 1.0).astype(np.float32), "kind": "image"}
    if labels is not None:
        out["labels"], out["class_names"] = labels, class_names
    return out


#: folders with more images than this are decoded once into a uint8 file in the cache and memory-mapped
LAZY_FOLDER = 50_000


def _folder_key(path: Path, files: list[Path], size: int | None, color: bool | None) -> str:
    """Names, sizes and modification times of every image, and the options: a changed folder is a new key."""
    import hashlib

    h = hashlib.sha256(f"{path.resolve()}|{size}|{color}|v1".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _load_folder_cached(
    path: Path, files: list[Path], size: int | None, color: bool | None
) -> dict[str, Any]:
    """Decode every image once, in order, into a uint8 .npy file in the cache (memory stays flat however
    many images there are), then memory-map it: training reads the batches it needs from the file.
    Pixels are PIL's 8-bit values (grey levels by PIL's "L" conversion, the ITU-R 601 luma); `color`
    unset is decided by the first 100 images."""
    import os

    from PIL import Image

    from genlab.fileio import cache_dir, fsync_dir

    def open8(f: Path, mode: str) -> np.ndarray:
        try:
            with Image.open(f) as im:
                if im.mode.startswith("I;16") or im.mode in ("I", "F"):
                    raise DataError(f"{f}: 16-bit image; load this folder with cache=false")
                im = im.convert(mode)
                if size is not None:
                    im = im.resize((size, size), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
        except Image.DecompressionBombError as e:
            raise DataError(f"{f}: image too large to load safely ({e})") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise DataError(f"{f}: unreadable image ({type(e).__name__}: {e})") from None
        return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)  # (C, H, W)

    if color is None:
        color = any(np.ptp(open8(f, "RGB").astype(np.int16), axis=0).any() for f in files[:100])
    mode = "RGB" if color else "L"
    folder = cache_dir() / "folders"
    target = folder / f"{_folder_key(path, files, size, color)}.npy"
    if not target.is_file():
        first = open8(files[0], mode)
        shape = (len(files), *first.shape)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            for k, f in enumerate(files):
                a = open8(f, mode)
                if a.shape != first.shape:
                    raise DataError(
                        f"{f}: image of size {a.shape[2]}x{a.shape[1]} (WxH), but {files[0].name} is "
                        f"{first.shape[2]}x{first.shape[1]}; pass size=N to resize every image to NxN"
                    )
                out[k] = a
            out.flush()
            del out
            os.replace(tmp, target)
            fsync_dir(folder)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return {"x": ImageArray(np.load(target, mmap_mode="r")), "kind": "image"}


# ---------------------------------------------------------------------------------------- IDX
def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST format; raw or gzip): magic 0 0 <type> <ndim>, big-endian uint32 dims, data."""
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read IDX file ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    if not 1 <= ndim <= 4 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is truncated or has {ndim} dimensions (expected 1 to 4)")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    check_fits(math.prod(dims) * 4, f"{path}: an IDX array of shape {dims}")
    payload = raw[4 + 4 * ndim :]
    if len(payload) != expected:
        raise DataError(
            f"{path}: IDX header promises shape {dims} of {dtype.name} ({expected} bytes), "
            f"but the file holds {len(payload)} bytes of data"
        )
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def load_idx(path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    x, kind = as_observations(read_idx(path), str(path))
    out: dict[str, Any] = {"x": x, "kind": kind}
    if opts["labels"] is not None:
        label_path = Path(opts["labels"])
        if not label_path.is_file():
            raise DataError(f"{label_path}: labels file not found")
        y = read_idx(label_path)
        _check_label_count(y, len(x), str(label_path))
        out["labels"], out["class_names"] = encode_labels(y, str(label_path))
    return out


_LOADERS = {"npy": load_npy, "npz": load_npz, "csv": load_csv, "folder": load_folder, "idx": load_idx}


def load_file(path: Path, fmt: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Dispatch to the loader for `fmt` (from `file_format`); `opts` are already coerced."""
    return _LOADERS[fmt](path, opts)
