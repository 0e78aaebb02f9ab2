"""The table path of the command line: fit a CSV, sample a CSV that pandas reads back into the same
columns and dtypes, condition with --where, evaluate, report, info; bad input is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _csv(path: Path, n: int = 160) -> Path:
    rng = np.random.default_rng(0)
    size = rng.normal(10, 3, n)
    f = pd.DataFrame(
        {
            "kind": np.where(size > 10, "big", "small"),
            "size": np.round(size, 1),
            "count": rng.integers(100, 900, n),
            "colour": rng.choice(["red", "blue", "green"], n, p=[0.6, 0.35, 0.05]),
            "year": rng.choice([2007, 2008, 2009], n),
        }
    ).astype({"count": "Int64"})
    f.loc[[3, 50], "size"] = np.nan
    f.loc[[8], "count"] = pd.NA
    f.loc[[10, 11], "colour"] = np.nan
    f.to_csv(path, index=False, na_rep="NA")
    return path


@pytest.mark.parametrize(
    ("model", "sets"),
    [
        ("copula", []),
        ("gmm", ["n_components=3"]),
        ("tabddpm", ["hidden=32", "timesteps=20", "batch_size=32"]),
    ],
)
def test_fit_sample_evaluate_report(tmp_path: Path, genlab_cli, model: str, sets: list[str]) -> None:
    data = _csv(tmp_path / "t.csv")
    run = tmp_path / "run"
    args = ["fit", str(data), "--model", model, "--out", str(run), "--budget", "40steps"]
    for s in sets:
        args += ["--set", s]
    code, out, err = genlab_cli(args)
    assert code == 0, err
    assert "column_shapes" in out and "dcr" in out
    code, _, err = genlab_cli(["sample", str(run), "-n", "300", "--out", str(tmp_path / "s.csv")])
    assert code == 0, err
    real, synth = pd.read_csv(data), pd.read_csv(tmp_path / "s.csv")
    assert list(synth.columns) == list(real.columns) and len(synth) == 300
    if synth["size"].isna().any() and synth["count"].isna().any():  # pandas reads NA-free ints as int64
        assert synth.dtypes.to_dict() == real.dtypes.to_dict()
    assert set(synth["kind"]) <= {"big", "small"} and set(synth["year"]) <= {2007, 2008, 2009}
    assert synth["size"].dropna().between(real["size"].min(), real["size"].max()).all()
    assert (synth["count"].dropna() % 1 == 0).all()
    code, _, err = genlab_cli(["evaluate", str(run)])
    assert code == 0, err
    code, _, err = genlab_cli(["report", str(run)])
    assert code == 0, err
    html = (run / "report.html").read_text()
    assert "Columns" in html and "categorical" in html and "Gower distance" in html and "train #" in html
    code, out, _ = genlab_cli(["info", str(run)])
    assert code == 0 and "colour" in out and "categorical" in out


def test_where_and_its_errors(tmp_path: Path, genlab_cli) -> None:
    data = _csv(tmp_path / "t.csv")
    run = tmp_path / "run"
    assert genlab_cli(["fit", str(data), "--model", "copula", "--out", str(run), "--no-evaluate"])[0] == 0
    code, _, err = genlab_cli(
        ["sample", str(run), "-n", "50", "--where", "colour=green", "--out", str(tmp_path / "g.csv")]
    )
    assert code == 0, err
    g = pd.read_csv(tmp_path / "g.csv")
    assert len(g) == 50 and (g["colour"] == "green").all()
    for where, needle in [
        ("colour=purple", "never seen"),
        ("size=3", "continuous column"),
        ("nope=1", "no column"),
    ]:
        code, out, err = genlab_cli(["sample", str(run), "--where", where, "--out", str(tmp_path / "x.csv")])
        assert code == 2 and needle in err and "Traceback" not in err + out
    from genlab.models.loading import load_model
    from genlab.models.where import sample_where

    with pytest.raises(Exception, match="too rare for rejection sampling"):
        sample_where(load_model(run), 100, {"colour": "green"}, max_draws=300)


def test_info_of_a_data_file_and_bad_input(tmp_path: Path, genlab_cli) -> None:
    data = _csv(tmp_path / "t.csv")
    code, out, _ = genlab_cli(["info", str(data), "--set", "types=year:numeric"])
    assert code == 0 and "numeric" in out and "year" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(30)) + "31,oops\n")
    code, out, err = genlab_cli(["fit", str(bad), "--model", "copula", "--out", str(tmp_path / "r")])
    assert code == 2 and "bad.csv" in err and "row 31" in err and "'b'" in err and "'oops'" in err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) <= 3  # one message (soft-wrapped)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"a,b\n" + b"".join(b"%d,NA\n" % i for i in range(5)), "column 'b' is missing in all 5 rows"),
        (b"a,b\n1,x\n", "only 1 observation"),
        (b"a,a\n1,x\n2,y\n", "repeated column names"),
        (b"a,\n1,x\n2,y\n", "column 2 has an empty name"),
        (
            b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(30)) + b"7,seven\n",
            "row 31 (line 32), column 'b'",
        ),
        (b"a,b\n" + b"".join(b"%d,id%d\n" % (i, i) for i in range(40)), "column 'b' holds a different text"),
        (b"name,n\n" + "Z\u00fcrich,1\nBern,2\n".encode("latin-1"), "not utf-8 text: byte 0xfc on line 2"),
    ],
)
def test_bad_tables_exit_2_in_one_line(tmp_path: Path, genlab_cli, content: bytes, needle: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code, out, err = genlab_cli(["info", str(bad)])
    assert code == 2 and "bad.csv" in err and needle in " ".join(err.split())
    assert "Traceback" not in out + err


def test_semicolons_are_sniffed(tmp_path: Path, genlab_cli) -> None:
    f = tmp_path / "semi.csv"
    f.write_text("kind;size\n" + "".join(f"{'ab'[i % 2]};{i / 3:.2f}\n" for i in range(20)))
    code, out, _ = genlab_cli(["info", str(f)])
    assert code == 0 and "kind" in out and "size" in out
