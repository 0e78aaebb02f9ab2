"""Loading .npy/.npz, .csv, image folders and IDX files, and every bad input the issue lists."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab.data import dataset_from_json


def _sorted_rows(*arrays: np.ndarray) -> np.ndarray:
    x = np.concatenate(arrays).reshape(sum(len(a) for a in arrays), -1)
    return x[np.lexsort(x.T[::-1])]


# ---------------------------------------------------------------------------------------- npy / npz
def test_npy_vectors_keep_units(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.normal(50, 10, (40, 3))
    np.save(tmp_path / "v.npy", x)
    ds = genlab.load_dataset(tmp_path / "v.npy", seed=1)
    assert ds.kind == "vector" and ds.shape == (3,) and (ds.n_train, ds.n_test) == (32, 8)
    assert ds.name == "v" and ds.source == str(tmp_path / "v.npy") and ds.split == "random"
    np.testing.assert_array_equal(_sorted_rows(ds.train, ds.test), _sorted_rows(x.astype(np.float32)))
    np.save(tmp_path / "one.npy", np.arange(10.0))  # 1-D: ten observations of one value
    assert genlab.load_dataset(tmp_path / "one.npy").shape == (1,)


def _images(rng: np.random.Generator, n: int = 10, c: int = 3, h: int = 5, w: int = 7) -> np.ndarray:
    return rng.integers(0, 256, (n, c, h, w), dtype=np.uint8)


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW", "NHWC1"])
def test_npy_image_layouts_and_uint8_scaling(tmp_path: Path, rng: np.random.Generator, layout: str) -> None:
    nchw = _images(rng, c=1 if layout in ("NHW", "NHWC1") else 3)
    stored = {
        "NHW": nchw[:, 0],
        "NHWC": nchw.transpose(0, 2, 3, 1),
        "NHWC1": nchw.transpose(0, 2, 3, 1),
        "NCHW": nchw,
    }[layout]
    np.save(tmp_path / "im.npy", stored)
    ds = genlab.load_dataset(tmp_path / "im.npy", test_fraction=0.0)
    assert ds.kind == "image" and ds.shape == nchw.shape[1:]
    expected = nchw.astype(np.float32) / 255.0
    np.testing.assert_array_equal(_sorted_rows(ds.train), _sorted_rows(expected))


def test_float_images_must_be_in_unit_interval(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.uniform(0, 1, (6, 4, 4))
    np.save(tmp_path / "ok.npy", x.astype(np.float32))
    assert genlab.load_dataset(tmp_path / "ok.npy").shape == (1, 4, 4)
    np.save(tmp_path / "bad.npy", (x * 255).astype(np.float32))
    with pytest.raises(
        genlab.DataError, match=r"bad\.npy: float images must lie in \[0, 1\], found range \[0"
    ):
        genlab.load_dataset(tmp_path / "bad.npy")
    np.save(tmp_path / "int.npy", (x * 255).astype(np.int64))
    with pytest.raises(genlab.DataError, match=r"int\.npy: integer images must be uint8"):
        genlab.load_dataset(tmp_path / "int.npy")


def test_npz_keeps_its_split(tmp_path: Path, rng: np.random.Generator) -> None:
    xtr, xte = _images(rng, n=12, c=1), _images(rng, n=5, c=1)
    ytr, yte = rng.integers(3, 6, 12), rng.integers(3, 6, 5)
    ytr[:3] = [3, 4, 5]
    np.savez(tmp_path / "s.npz", x_train=xtr, x_test=xte, y_train=ytr, y_test=yte)
    ds = genlab.load_dataset(tmp_path / "s.npz", test_fraction=0.5, seed=9)
    assert ds.split == "file" and (ds.n_train, ds.n_test) == (12, 5)
    np.testing.assert_array_equal(ds.train, xtr / np.float32(255))  # order kept too
    np.testing.assert_array_equal(ds.test, xte / np.float32(255))
    assert ds.class_names == ["3", "4", "5"]
    np.testing.assert_array_equal(ds.train_labels, ytr - 3)
    np.testing.assert_array_equal(ds.test_labels, yte - 3)


def test_npz_key_and_xy(tmp_path: Path, rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(10, 2)), rng.normal(size=(8, 5))
    np.savez(tmp_path / "two.npz", a=a, b=b)
    with pytest.raises(
        genlab.DataError, match=r"two\.npz: holds several arrays \(a, b\); pick one with key="
    ):
        genlab.load_dataset(tmp_path / "two.npz")
    assert genlab.load_dataset(tmp_path / "two.npz", key="b").shape == (5,)
    with pytest.raises(genlab.DataError, match=r"no array 'c'; it holds: a, b"):
        genlab.load_dataset(tmp_path / "two.npz", key="c")
    y = np.array(["cat", "dog"] * 5)
    np.savez(tmp_path / "xy.npz", x=a, y=y)
    ds = genlab.load_dataset(tmp_path / "xy.npz")
    assert ds.class_names == ["cat", "dog"] and ds.split == "stratified"
    assert np.bincount(ds.test_labels).tolist() == [1, 1]


def test_npz_class_names_name_the_label_values(tmp_path: Path, rng: np.random.Generator) -> None:
    names = np.array(["T-shirt/top", "Trouser", "Pullover", "Dress"])
    xtr, xte = _images(rng, n=12, c=1), _images(rng, n=5, c=1)
    ytr, yte = np.array([1, 3] * 6), np.array([3, 1, 1, 3, 1])  # classes 0 and 2 absent: names by value
    np.savez(tmp_path / "f.npz", x_train=xtr, x_test=xte, y_train=ytr, y_test=yte, class_names=names)
    ds = genlab.load_dataset(tmp_path / "f.npz")
    assert ds.class_names == ["Trouser", "Dress"] and ds.train_labels.tolist() == [0, 1] * 6
    np.savez(tmp_path / "xy.npz", x=xtr, y=ytr, class_names=names)
    assert genlab.load_dataset(tmp_path / "xy.npz").class_names == ["Trouser", "Dress"]
    np.savez(tmp_path / "short.npz", x=xtr, y=ytr, class_names=names[:2])
    with pytest.raises(
        genlab.DataError,
        match=r"short\.npz: array 'class_names': names 2 classes, so the labels must be integers 0 to 1; they are 1, 3",
    ):
        genlab.load_dataset(tmp_path / "short.npz")
    np.savez(tmp_path / "num.npz", x=xtr, y=ytr, class_names=np.arange(4))
    with pytest.raises(genlab.DataError, match=r"'class_names': expected a 1-D array of strings"):
        genlab.load_dataset(tmp_path / "num.npz")


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x_train": np.zeros((5, 2))}, "holds 'x_train' but no 'x_test'"),
        ({"x_train": np.zeros((5, 2)), "x_test": np.zeros((3, 3))}, r"mixed shapes.*\(3,\).*\(2,\)"),
        ({"x_train": np.zeros((5, 2)), "x_test": np.zeros((3, 2)), "y_train": np.zeros(5)}, "only one of"),
        (
            {
                "x_train": np.zeros((5, 2)),
                "x_test": np.zeros((3, 2)),
                "y_train": np.zeros(4),
                "y_test": np.zeros(3),
            },
            "'y_train': 4 labels for 5 observations",
        ),
        ({"x_train": np.zeros((1, 2)), "x_test": np.zeros((3, 2))}, "only 1 observation"),
    ],
)
def test_bad_npz(tmp_path: Path, arrays: dict, match: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(genlab.DataError, match=match):
        genlab.load_dataset(tmp_path / "bad.npz")


def test_never_unpickles(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(
        genlab.DataError, match=r"obj\.npy: holds Python objects \(a pickle\); genlab never loads pickles"
    ):
        genlab.load_dataset(tmp_path / "obj.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(genlab.DataError, match=r"junk\.npz: not a readable \.npz"):
        genlab.load_dataset(tmp_path / "junk.npz")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_npy_non_finite_named(tmp_path: Path, value: float) -> None:
    x = np.ones((6, 3))
    x[4, 2] = value
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(genlab.DataError, match=r"nan\.npy: non-finite value .* at observation 5 .*index 2"):
        genlab.load_dataset(tmp_path / "nan.npy")


@pytest.mark.parametrize("n", [0, 1])
def test_npy_empty_and_one_row(tmp_path: Path, n: int) -> None:
    np.save(tmp_path / "small.npy", np.ones((n, 3)))
    with pytest.raises(
        genlab.DataError, match="small.npy: " + ("the data set is empty" if n == 0 else "only 1")
    ):
        genlab.load_dataset(tmp_path / "small.npy")


# ---------------------------------------------------------------------------------------- csv
def test_csv_with_label_column(tmp_path: Path) -> None:
    rows = [f"{i},{i * 0.5},{['b', 'a'][i % 2]},{-i}" for i in range(20)]
    (tmp_path / "t.csv").write_text("x1,x2,kind,x3\n" + "\n".join(rows) + "\n")
    ds = genlab.load_dataset(tmp_path / "t.csv", label="kind", seed=3)
    assert ds.kind == "vector" and ds.shape == (3,) and ds.feature_names == ["x1", "x2", "x3"]
    assert ds.class_names == ["a", "b"] and ds.name == "t"
    x = np.concatenate([ds.train, ds.test])
    y = np.concatenate([ds.train_labels, ds.test_labels])
    np.testing.assert_array_equal(x[:, 1], x[:, 0] * 0.5)
    np.testing.assert_array_equal(x[:, 2], -x[:, 0])
    np.testing.assert_array_equal(y, np.where(x[:, 0] % 2 == 0, 1, 0))  # even rows are "b" -> 1
    assert ds.options["label"] == "kind" and ds.options["delimiter"] is None  # None: sniffed
    # without label=, the text column makes the file a table (tests/data/test_data_tables.py)
    table = genlab.load_dataset(tmp_path / "t.csv")
    assert table.kind == "table" and table.table.codec.column("kind").kind == "categorical"


def test_csv_numeric_labels_sorted_numerically(tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text("a,y\n" + "".join(f"{i},{[10, 9, 2][i % 3]}\n" for i in range(9)))
    ds = genlab.load_dataset(tmp_path / "n.csv", label="y")
    assert ds.class_names == ["2", "9", "10"]


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("inf", "non-finite value inf"),
        ("-inf", "non-finite value -inf"),
    ],  # "", "nan": missing cells (a table)
)
def test_csv_bad_cell_names_row_and_column(tmp_path: Path, cell: str, what: str) -> None:
    lines = ["a,b,c", "1,2,3", "4,5,6", f"7,{cell},9", "1,1,1"]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(genlab.DataError, match=rf"d\.csv: row 3 \(line 4\), column 'b': {what}"):
        genlab.load_dataset(tmp_path / "d.csv")


@pytest.mark.parametrize(
    ("text", "options", "match"),
    [
        ("", {}, "the file is empty"),
        ("a,b\n", {}, "the data set is empty"),
        ("a,b\n1,2\n", {}, "only 1 observation"),
        ("1,2\n3,4\n5,6\n", {}, "a header row with column names is required"),
        ("a,b\n1,2\n3\n5,6\n", {}, r"mixed shapes: row 2 \(line 3\) has 1 fields, the header has 2"),
        ("a,b\n1,2\n3,4\n", {"label": "z"}, "no column 'z' for label=; columns: a, b"),
        (
            "a,b\n1,2\n3,4\n",
            {"lable": "a"},
            r"unknown option.*'lable'.*valid options: label, delimiter, encoding",
        ),
        ("a,a\n1,2\n3,4\n", {}, "repeated column names"),
        ("y\n1\n2\n", {"label": "y"}, "no feature columns"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, options: dict, match: str) -> None:
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(genlab.DataError, match=match) as e:
        genlab.load_dataset(tmp_path / "bad.csv", **options)
    assert "bad.csv" in str(e.value)


def test_csv_fingerprint_detects_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(10)))
    ds = genlab.load_dataset(path, seed=4)
    assert dataset_from_json(ds.to_json()).fingerprint == ds.fingerprint
    path.write_text("a,b\n" + "".join(f"{i},{i * i + (i == 7)}\n" for i in range(10)))
    with pytest.raises(genlab.DataError, match="no longer matches its fingerprint"):
        dataset_from_json(ds.to_json())


# ---------------------------------------------------------------------------------------- image folders
def _png(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def test_image_folder_with_class_subfolders(tmp_path: Path, rng: np.random.Generator) -> None:
    pixels = {}
    for cls, count in (("cat", 3), ("dog", 5)):
        for i in range(count):
            a = rng.integers(0, 256, (6, 4), dtype=np.uint8)
            pixels[(cls, i)] = a
            _png(tmp_path / "pets" / cls / f"{i}.png", a)
    (tmp_path / "pets" / "notes.txt").write_text("ignored")
    ds = genlab.load_dataset(tmp_path / "pets", test_fraction=0.25)
    assert ds.kind == "image" and ds.shape == (1, 6, 4) and ds.class_names == ["cat", "dog"]
    assert (ds.n_train, ds.n_test) == (6, 2) and ds.split == "stratified"
    assert np.bincount(ds.test_labels).tolist() == [1, 1]
    x = np.concatenate([ds.train, ds.test])[:, 0]
    y = np.concatenate([ds.train_labels, ds.test_labels])
    for cls_id, cls in enumerate(("cat", "dog")):
        got = sorted(map(bytes, (np.round(x[y == cls_id] * 255).astype(np.uint8))))
        want = sorted(bytes(a) for (c, _), a in pixels.items() if c == cls)
        assert got == want


def test_image_folder_colour(tmp_path: Path, rng: np.random.Generator) -> None:
    for i in range(4):
        _png(tmp_path / "c" / f"{i}.png", rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))
    ds = genlab.load_dataset(tmp_path / "c")
    assert ds.shape == (3, 5, 5) and ds.train_labels is None
    gray = genlab.load_dataset(tmp_path / "c", color="false")
    assert gray.shape == (1, 5, 5)
    # grey-valued RGB files stay grayscale unless color=true
    for i in range(4):
        _png(tmp_path / "g" / f"{i}.jpg", np.repeat(rng.integers(0, 256, (5, 5, 1), dtype=np.uint8), 3, -1))
    assert genlab.load_dataset(tmp_path / "g").shape == (1, 5, 5)
    assert genlab.load_dataset(tmp_path / "g", color=True).shape == (3, 5, 5)


def test_image_folder_size_and_wrong_size(tmp_path: Path) -> None:
    _png(tmp_path / "m" / "a.png", np.zeros((8, 8), np.uint8))
    _png(tmp_path / "m" / "b.png", np.full((8, 8), 255, np.uint8))
    _png(tmp_path / "m" / "c.png", np.full((16, 12), 255, np.uint8))
    with pytest.raises(
        genlab.DataError, match=r"c\.png: image of size 12x16 \(WxH\), but a\.png is 8x8; pass size="
    ):
        genlab.load_dataset(tmp_path / "m")
    ds = genlab.load_dataset(tmp_path / "m", size="4", test_fraction=0)
    assert ds.shape == (1, 4, 4) and ds.options == {"size": 4, "color": None, "cache": None}
    np.testing.assert_allclose(np.sort(ds.train.reshape(3, -1).mean(1)), [0.0, 1.0, 1.0], atol=1e-6)


def test_image_folder_bad_inputs(tmp_path: Path) -> None:
    _png(tmp_path / "u" / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "u" / "b.png").write_bytes(b"\x89PNG definitely not an image")
    with pytest.raises(genlab.DataError, match=r"u/b\.png: unreadable image"):
        genlab.load_dataset(tmp_path / "u")
    _png(tmp_path / "one" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(genlab.DataError, match="only 1 observation"):
        genlab.load_dataset(tmp_path / "one")
    (tmp_path / "empty").mkdir()
    with pytest.raises(genlab.DataError, match="empty"):
        genlab.load_dataset(tmp_path / "empty")
    _png(tmp_path / "mixed" / "a.png", np.zeros((4, 4), np.uint8))
    _png(tmp_path / "mixed" / "k" / "b.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(genlab.DataError, match="both images and class subfolders"):
        genlab.load_dataset(tmp_path / "mixed")


# ---------------------------------------------------------------------------------------- IDX
def _idx_bytes(a: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int16: 0x0B, np.float32: 0x0D}[a.dtype.type]
    head = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_and_labels(tmp_path: Path, rng: np.random.Generator, gz: bool) -> None:
    images = rng.integers(0, 256, (20, 7, 6), dtype=np.uint8)
    labels = rng.integers(0, 10, 20).astype(np.uint8)
    suffix = ".gz" if gz else ""
    img_path, lab_path = (
        tmp_path / f"train-images-idx3-ubyte{suffix}",
        tmp_path / f"train-labels-idx1-ubyte{suffix}",
    )
    write = gzip.compress if gz else bytes
    img_path.write_bytes(write(_idx_bytes(images)))
    lab_path.write_bytes(write(_idx_bytes(labels)))
    ds = genlab.load_dataset(img_path, labels=str(lab_path), test_fraction=0.0)
    assert ds.kind == "image" and ds.shape == (1, 7, 6) and ds.n_train == 20
    order = np.argsort(ds.train[:, 0, 0, 0] * 255 * 256 + ds.train[:, 0, 0, 1] * 255)  # undo the shuffle
    ref = np.argsort(images[:, 0, 0].astype(int) * 256 + images[:, 0, 1])
    np.testing.assert_array_equal(ds.train[order, 0], images[ref] / np.float32(255))
    np.testing.assert_array_equal(np.array(ds.class_names, dtype=int)[ds.train_labels[order]], labels[ref])


def test_idx_vectors_and_bad_files(tmp_path: Path, rng: np.random.Generator) -> None:
    v = rng.integers(-500, 500, (9, 4)).astype(np.int16)
    (tmp_path / "v.idx").write_bytes(_idx_bytes(v))
    ds = genlab.load_dataset(tmp_path / "v.idx", test_fraction=0)
    assert ds.kind == "vector" and ds.shape == (4,)
    np.testing.assert_array_equal(_sorted_rows(ds.train), _sorted_rows(v.astype(np.float32)))
    (tmp_path / "cut.idx").write_bytes(_idx_bytes(v)[:-3])
    with pytest.raises(
        genlab.DataError, match=r"cut\.idx: IDX header promises shape \(9, 4\).*holds 69 bytes"
    ):
        genlab.load_dataset(tmp_path / "cut.idx")
    f = rng.uniform(0, 1, (5, 3, 3)).astype(np.float32)
    f[2, 1, 1] = np.nan
    (tmp_path / "f.idx").write_bytes(_idx_bytes(f))
    with pytest.raises(genlab.DataError, match=r"f\.idx: non-finite value nan at observation 3"):
        genlab.load_dataset(tmp_path / "f.idx")
    (tmp_path / "labels.idx").write_bytes(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(genlab.DataError, match="3 labels for 9 observations"):
        genlab.load_dataset(tmp_path / "v.idx", labels=str(tmp_path / "labels.idx"))


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(genlab.DataError, match=r"x\.txt: unknown data format '\.txt'"):
        genlab.load_dataset(tmp_path / "x.txt")
    with pytest.raises(genlab.DataError, match="no such file or folder; built-in names: moons"):
        genlab.load_dataset(tmp_path / "missing.csv")
