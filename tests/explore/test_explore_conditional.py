"""The explorer of a label-conditional model: the exported decoder takes the class as a second input,
the page carries a class selector with the model's class names (starting at the most frequent class,
or the one asked for), points are encoded under their own labels, and the CLI's --class/--where."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from test_explore_page import arr, blocks, scene_of

import genlab
from genlab.errors import GenlabError
from genlab.explore import PAGE_FILE, export, write_explorer
from genlab.explore.export import run_reference


def test_exported_decoder_takes_the_class(digits_cvae) -> None:
    exp = export.export_decoder(digits_cvae)
    assert exp.conditional
    graph = onnx.load_from_string(exp.onnx).graph
    inputs = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    assert inputs == {export.INPUT: onnx.TensorProto.FLOAT, export.LABELS: onnx.TensorProto.INT64}
    z = np.array([[0.3, -0.8], [1.2, 0.4]], np.float32)
    outs = {}
    for k in (0, 7):
        y = np.full(len(z), k, np.int64)
        outs[k] = run_reference(exp.onnx, z, y)
        np.testing.assert_allclose(outs[k], digits_cvae.decode(z, labels=y), atol=1e-5, rtol=0)
    assert np.abs(outs[0] - outs[7]).max() > 1e-3  # the label input is used


def selector(page: str) -> tuple[bool, list[tuple[str, str, bool]]]:
    """(hidden, [(value, name, selected)]) of the page's class selector as written."""
    m = re.search(r'<label id="classbox"( hidden)?[^>]*>class <select id="class">(.*?)</select>', page, re.S)
    assert m, "no class selector in the page"
    opts = re.findall(r'<option value="(\d+)"( selected)?>(.*?)</option>', m.group(2))
    return bool(m.group(1)), [(v, html.unescape(n), bool(s)) for v, s, n in opts]


def test_page_has_a_class_selector(digits_cvae, digits, tins_vae, tins16, tmp_path: Path) -> None:
    path = write_explorer(digits_cvae, digits, tmp_path / "a", n_test=40, n_train=60)
    page = path.read_text()
    hidden, opts = selector(page)
    most = int(np.argmax(digits_cvae.class_counts_))
    assert not hidden and [n for _, n, _ in opts] == list(digits_cvae.class_names_)
    assert [int(v) for v, _, s in opts if s] == [most]  # starts at the most frequent class
    scene = scene_of(page)
    assert scene["live"] and scene["model"]["conditional"] and scene["model"]["class"] == most
    # the points are the test observations encoded under their own labels
    y = digits.test_labels[:40]
    np.testing.assert_array_equal(arr(scene["model"]["point_labels"]), y)
    np.testing.assert_allclose(
        arr(scene["points"]["test"]), digits_cvae.encode(digits.test[:40], labels=y), atol=1e-6
    )
    assert blocks(page)["genlab-decoder"]  # the decoder runs in the page

    page = write_explorer(digits_cvae, digits, tmp_path / "b", n_test=10, n_train=10, labels="3").read_text()
    assert [int(v) for v, _, s in selector(page)[1] if s] == [3]
    with pytest.raises(GenlabError, match="labels must be one class"):
        write_explorer(digits_cvae, digits, tmp_path / "c", labels=[1, 2])
    # an unconditional model's page: the selector is there, hidden, with no options
    page = write_explorer(tins_vae, tins16, tmp_path / "d", n_test=5, n_train=5).read_text()
    assert selector(page) == (True, [])


def test_explore_cli_class_and_errors(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "digits", "--model", "vae", "--set", "conditional=true", "--set",
                               "latent_dim=2", "--budget", "5steps", "--out", str(run), "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    code, _, err = genlab_cli(["explore", str(run), "--class", "8"])
    assert code == 0, err
    hidden, opts = selector((run / "explore" / PAGE_FILE).read_text())
    assert not hidden and [int(v) for v, _, s in opts if s] == [8]
    for args, message in ((["--class", "Sandal"], "unknown class 'Sandal'"),
                          (["--where", "height=1"], "--where: the model in")):  # fmt: skip
        code, _, err = genlab_cli(["explore", str(run), "--out", str(tmp_path / "x"), *args])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()
    assert genlab.load(run).conditional_ == "labels"


def test_a_page_that_does_not_decode_live_uses_one_class(digits, tmp_path: Path) -> None:
    """A conditional spline flow (not exportable): the grid and reconstructions are decoded in Python,
    the grid with the class asked for, the reconstructions with each point's own; no selector."""
    flow = genlab.make_model("flow", arch="nsf", transforms=1, hidden=(8,), passes=2, conditional=True)
    flow.fit(digits, budget="2steps")
    page = write_explorer(flow, digits, tmp_path / "f", grid=2, n_test=4, n_train=4, labels=5).read_text()
    scene = scene_of(page)
    assert not scene["live"] and selector(page) == (True, [])
    assert "Python decoded them with class '5'" in scene["decode_note"]
    np.testing.assert_allclose(
        arr(scene["points"]["test"]), flow.encode(digits.test[:4], labels=digits.test_labels[:4]), atol=1e-5
    )
