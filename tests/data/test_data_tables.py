"""Tables: type inference, the exact encode/decode round trip for every column type, CSV in and out,
and every bad input of issue 16 (a one-line DataError naming file, column and row)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genlab
from genlab.data.table import MAX_INT_LEVELS, TableCodec, codec_from_frame

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GENLAB_SHARED_DATA", ROOT.parent.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def _mixed(n: int = 60) -> pd.DataFrame:
    """Every column type, with and without missing cells."""
    rng = np.random.default_rng(0)
    f = pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3, 1, n), 2),
            "count": rng.integers(0, 500, n),
            "rating": rng.integers(1, 6, n),  # few distinct integers: categorical
            "flag": rng.random(n) < 0.3,
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
            "grade": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"]),
            "weight": np.round(rng.normal(70, 10, n), 1),
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n).astype(object),
        }
    )
    f.loc[[3, 17], "weight"] = np.nan
    f.loc[[5], "age"] = pd.NA
    f.loc[[1, 2, 40], "city"] = np.nan
    return f


def test_round_trip_is_exact_for_every_column_type() -> None:
    frame = _mixed()
    codec, typed = codec_from_frame(frame)
    kinds = {c.name: c.kind for c in codec.columns}
    assert kinds == {
        "amount": "numeric", "count": "integer", "rating": "categorical", "flag": "categorical",
        "colour": "categorical", "grade": "categorical", "weight": "numeric", "age": "integer", "city": "categorical",
    }  # fmt: skip
    x = codec.encode(frame)
    assert x.shape == (len(frame), codec.dim) and np.isfinite(x).all()
    back = codec.decode(x)
    pd.testing.assert_frame_equal(back, frame, check_dtype=True)
    assert (
        back["city"].isna().sum() == 3 and back["weight"].isna().sum() == 2 and back["age"].isna().sum() == 1
    )
    # through float32 (what a Dataset stores) and through JSON (what a saved model carries)
    again = TableCodec.from_json(codec.to_json()).decode(x.astype(np.float32))
    pd.testing.assert_frame_equal(again, frame)


def test_csv_types_missing_and_round_trip(tmp_path: Path) -> None:
    text = "name_id,kind,size,price,when,ok\n" + "".join(
        f"{i},{['a', 'b', 'c'][i % 3]},{'NA' if i % 7 == 0 else i * 1.5},{100 + i},{2000 + i % 3},"
        f"{['true', 'false'][i % 2]}\n"
        for i in range(30)
    )
    path = tmp_path / "t.csv"
    path.write_text(text)
    ds = genlab.load_dataset(path, drop="name_id")
    assert ds.kind == "table"
    codec = ds.table.codec
    assert [(c.name, c.kind, c.dtype) for c in codec.columns] == [
        ("kind", "categorical", "object"), ("size", "numeric", "float64"), ("price", "integer", "int64"),
        ("when", "categorical", "int64"), ("ok", "categorical", "bool"),
    ]  # fmt: skip
    assert codec.column("size").missing == pytest.approx(5 / 30)
    assert codec.target == "kind"
    full = pd.concat([ds.table.train, ds.table.test])
    pd.testing.assert_frame_equal(
        codec.decode(np.concatenate([ds.train, ds.test])), full.reset_index(drop=True)
    )
    # pandas reads the original and genlab's output into the same dtypes
    out = tmp_path / "out.csv"
    out.write_text(full.to_csv(index=False, na_rep="NA"))
    assert pd.read_csv(out).dtypes.to_dict() == pd.read_csv(path).drop(columns="name_id").dtypes.to_dict()
    # types= overrides the inference
    ds2 = genlab.load_dataset(path, types="when:numeric,price:categorical", drop=("name_id",))
    assert (
        ds2.table.codec.column("when").kind == "numeric"
        and ds2.table.codec.column("price").kind == "categorical"
    )


def test_vector_csvs_stay_vectors(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("a,b\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10)))
    ds = genlab.load_dataset(tmp_path / "v.csv")
    assert ds.kind == "vector" and ds.table is None
    assert genlab.load_dataset(tmp_path / "v.csv", table=True).kind == "table"


def test_integer_columns_with_few_values_are_categorical() -> None:
    f = pd.DataFrame({"y": np.arange(40) % MAX_INT_LEVELS, "z": np.arange(40) % (MAX_INT_LEVELS + 1)})
    codec, _ = codec_from_frame(f)
    assert codec.column("y").kind == "categorical" and codec.column("z").kind == "integer"


def test_sniffed_delimiter_and_latin1(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("a;b;c\n" + "".join(f"{i};x{i % 2};{i / 4}\n" for i in range(12)))
    ds = genlab.load_dataset(tmp_path / "s.csv")
    assert ds.table.codec.names == ["a", "b", "c"]
    (tmp_path / "l.csv").write_bytes(
        ("city,n\n" + "".join(f"Z\u00fcrich{i % 2},{i}\n" for i in range(10))).encode("latin-1")
    )
    with pytest.raises(
        genlab.DataError, match=r"l\.csv: not utf-8 text: byte 0xfc on line 2.*encoding=latin-1"
    ):
        genlab.load_dataset(tmp_path / "l.csv")
    ds = genlab.load_dataset(tmp_path / "l.csv", encoding="latin-1")
    assert ds.table.codec.column("city").categories == ["Z\u00fcrich0", "Z\u00fcrich1"]


@pytest.mark.parametrize(
    ("text", "options", "match"),
    [
        ("a,b\n1,x\n", {}, "only 1 observation"),
        ("a,b,a\n1,x,2\n3,y,4\n", {}, r"repeated column names: 'a' is column 1 and 3"),
        ("a,,c\n1,x,2\n3,y,4\n", {}, "column 2 has an empty name"),
        (
            "a,b\n" + "".join(f"{i},NA\n" for i in range(5)),
            {},
            r"column 'b' is missing in all 5 rows; drop it",
        ),
        (
            "a,b\n" + "".join(f"{i},{i}\n" for i in range(30)) + "31,abc\n",
            {},
            r"row 31 \(line 32\), column 'b': 'abc' is not a number, in a column of numbers",
        ),
        (
            "a,b\n" + "".join(f"{i},w{i}\n" for i in range(30)),
            {},
            r"column 'b' holds a different text in every row",
        ),
        (
            "a,b\n" + "".join(f"{i % 3},w{i % 600}\n" for i in range(1200)),
            {},
            r"column 'b' has 600 categories \(more than 500\); drop it",
        ),
        (
            "a,b\n1,x\n2,y\n3,4\n",
            {"types": "b:numeric"},
            r"row 1 \(line 2\), column 'b': 'x' is not a number",
        ),
        ("a,b\n1,x\n2,y\n3,z\n", {"types": "q:numeric"}, r"types= names column 'q'"),
        ("a,b\n1,x\n2,y\n3,z\n", {"types": "b:text"}, r"kinds: numeric, integer, categorical"),
        ("a,b\n1,x\n2,y\n3,z\n", {"drop": "q"}, r"drop= names column\(s\) 'q'"),
        ("a,b\n1.5,2\n2,inf\n3,4\n", {}, r"row 2 \(line 3\), column 'b': non-finite value inf"),
    ],
)
def test_bad_tables_name_file_column_and_row(tmp_path: Path, text: str, options: dict, match: str) -> None:
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(genlab.DataError, match=match) as e:
        genlab.load_dataset(tmp_path / "bad.csv", **options)
    assert "bad.csv" in str(e.value) and "\n" not in str(e.value)


def test_a_category_seen_once_and_unseen_labels() -> None:
    f = pd.DataFrame({"x": np.arange(30.0), "c": ["a"] * 29 + ["rare"]})
    codec, typed = codec_from_frame(f)
    assert codec.column("c").categories == ["a", "rare"]
    pd.testing.assert_frame_equal(codec.decode(codec.encode(typed)), typed)
    with pytest.raises(genlab.DataError, match=r"row 2, column 'c': category 'new' was not seen"):
        codec.encode(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "new"]}))


@pytest.mark.skipif(not (SHARED / "penguins.csv").is_file(), reason="shared data not present")
def test_penguins_loads_as_the_issue_describes() -> None:
    ds = genlab.load_dataset(SHARED / "penguins.csv")
    codec = ds.table.codec
    kinds = {c.name: c.kind for c in codec.columns}
    assert kinds["species"] == kinds["island"] == kinds["sex"] == "categorical"
    assert kinds["flipper_length_mm"] == "integer" and kinds["bill_length_mm"] == "numeric"
    assert codec.column("sex").missing == pytest.approx(11 / 344)
    full = pd.concat([ds.table.train, ds.table.test]).reset_index(drop=True)
    pd.testing.assert_frame_equal(codec.decode(np.concatenate([ds.train, ds.test])), full)
    assert full.isna().sum().sum() == pd.read_csv(SHARED / "penguins.csv").isna().sum().sum() == 19
