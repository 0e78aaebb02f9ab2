"""The explorer page as written: self-contained, carrying the checked decoder and the runtime; what each
family shows; refusal to overwrite; run folders."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.errors import DataError, GenlabError, NotSupported
from genlab.explore import PAGE_FILE, SUMMARY_FILE, explore_run, export, write_explorer
from genlab.explore.export import run_reference
from genlab.explore.page import ORT_JS, ORT_WASM_GZ, runtime_files
from genlab.explore.scene import PCA_ROWS, plane_points

PAGE_LIMIT = 15 * 2**20


def blocks(page: str) -> dict[str, str]:
    """The page's inline data blocks: {id: text}."""
    return dict(re.findall(r'<script type="[^"]+" id="([^"]+)">(.*?)</script>', page, flags=re.S))


def scene_of(page: str) -> dict:
    return json.loads(blocks(page)["genlab-scene"])


def arr(a: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(a["b64"]), dtype="<" + a["dtype"]).reshape(a["shape"])


def atlas_tiles(b64: str, pictures: dict, index) -> np.ndarray:
    """Tiles of the page's atlas PNG as (n, H, W) grey levels 0-255."""
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))), np.float64)
    _, h, w = pictures["shape"]
    cols = pictures["cols"]
    return np.stack(
        [img[(i // cols) * h : (i // cols + 1) * h, (i % cols) * w : (i % cols + 1) * w] for i in index]
    )


def check_offline(page: str) -> None:
    """Nothing is loaded from anywhere: no URL in src/href/url(), no fetch, every block inline."""
    assert not re.search(r'(?:src|href)\s*=\s*"(?!#)', page.split('<script type="application/json"')[0])
    assert not re.search(r"https?://", page.split('<script type="application/json"')[0])
    script = page.rsplit("<script>", 1)[1]
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "http" not in script


def test_live_page(tins_vae, tins16, tmp_path: Path) -> None:
    path = write_explorer(tins_vae, tins16, tmp_path / "ex")
    assert path == tmp_path / "ex" / PAGE_FILE
    page = path.read_text()
    check_offline(page)
    size = path.stat().st_size
    assert size < PAGE_LIMIT
    b = blocks(page)
    # the runtime, byte for byte as vendored, and a decoder that reproduces decode()
    files = runtime_files()
    assert base64.b64decode(b["genlab-ort-js"]) == files[ORT_JS]
    assert base64.b64decode(b["genlab-ort-wasm"]) == files[ORT_WASM_GZ]
    onnx_bytes = base64.b64decode(b["genlab-decoder"])
    z = np.array([[0.0, 0.0], [1.5, -0.5], [-2.0, 2.0]], np.float32)
    np.testing.assert_allclose(run_reference(onnx_bytes, z), tins_vae.decode(z), atol=1e-5, rtol=0)
    assert base64.b64decode(b["genlab-atlas"])[:8] == b"\x89PNG\r\n\x1a\n"

    scene = scene_of(page)
    assert scene["live"] and scene["model"]["latent_dim"] == 2 and not scene["model"]["conditional"]
    pts = scene["points"]
    assert pts["kind"] == "encoded"
    n = len(tins16.test)
    np.testing.assert_allclose(arr(pts["test"]), tins_vae.encode(tins16.test[:n]), atol=1e-6)
    assert arr(pts["neighbours"]).shape == (n, 4)
    assert [c["name"] for c in scene["colours"]] == ["height", "width"]  # tins has factors, no labels
    names = [v["name"] for v in scene["views"]]  # a 2-D latent: its coordinates (and maybe the factors)
    assert names[-1] == "latent coordinates" and len(names) <= 2

    summary = json.loads((tmp_path / "ex" / SUMMARY_FILE).read_text())
    assert summary["live"] and summary["page_bytes"] == size and summary["check_max_error"] <= 1e-5
    assert summary["runtime"].startswith("onnxruntime-web")


def test_refuses_to_overwrite(tins_vae, tins16, tmp_path: Path) -> None:
    out = tmp_path / "ex"
    write_explorer(tins_vae, tins16, out, n_test=10, n_train=10)
    before = (out / PAGE_FILE).read_bytes()
    with pytest.raises(GenlabError, match=r"index\.html: already exists; pass force=True"):
        write_explorer(tins_vae, tins16, out, n_test=5, n_train=5)
    assert (out / PAGE_FILE).read_bytes() == before  # untouched
    write_explorer(tins_vae, tins16, out, n_test=5, n_train=5, force=True)
    assert scene_of((out / PAGE_FILE).read_text())["points"]["test"]["shape"][0] == 5
    (tmp_path / "file").write_text("x")
    with pytest.raises(GenlabError, match="not a folder"):
        write_explorer(tins_vae, tins16, tmp_path / "file")


def test_inputs_are_checked_before_writing(tins_vae, tins16, moons, tmp_path: Path) -> None:
    out = tmp_path / "ex"
    with pytest.raises(DataError, match="does not match the model"):
        write_explorer(tins_vae, moons, out)
    with pytest.raises(GenlabError, match="grid must be 0"):
        write_explorer(tins_vae, tins16, out, grid=1)
    with pytest.raises(GenlabError, match="n_test must be a non-negative integer"):
        write_explorer(tins_vae, tins16, out, n_test=-3)
    with pytest.raises(genlab.NotFittedError):
        write_explorer(genlab.make_model("vae"), tins16, out)
    gmm = genlab.make_model("gmm", n_components=2).fit(moons)
    with pytest.raises(NotSupported, match="gmm has no latent space.*vae, gan, flow, diffusion"):
        write_explorer(gmm, moons, out)
    assert not out.exists()


def test_gan_page_shows_prior_draws(tins_gan, tins16, tmp_path: Path) -> None:
    page = write_explorer(tins_gan, tins16, tmp_path / "ex", n_test=30).read_text()
    scene = scene_of(page)
    assert scene["live"] and scene["points"]["kind"] == "prior"
    assert "no encoder" in scene["note"] and "prior" in scene["note"]
    assert scene["points"]["train"]["shape"][0] == 0 and scene["colours"] == []
    z = arr(scene["points"]["test"])
    assert z.shape == (30, 3)
    # a 3-D prior has no principal directions: the plane is two of its coordinates, a slider for the third
    assert [v["name"] for v in scene["views"]] == ["latent coordinates"]
    assert scene["views"][0]["ranges"] == [[-3.0, 3.0]] * 3


def test_wider_latent_gets_principal_components(tins16, tmp_path: Path) -> None:
    model = genlab.make_model("vae", latent_dim=4, channels=(8, 16)).fit(tins16, budget="5steps")
    scene = scene_of(write_explorer(model, tins16, tmp_path / "ex").read_text())
    pca, axes = scene["views"]
    assert pca["name"].startswith("principal components") and axes["name"] == "latent coordinates"
    basis = arr(pca["basis"]).astype(np.float64)
    assert basis.shape == (min(PCA_ROWS, 4), 4)
    np.testing.assert_allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-5)
    # a point's plane coordinates, mapped back, give the point (all four directions are rows)
    z = arr(scene["points"]["test"])[:5].astype(np.float64)
    c = (z - arr(pca["origin"])) @ basis.T
    np.testing.assert_allclose(plane_points(pca, c), z, atol=1e-5)


def test_vector_page(moons, tmp_path: Path) -> None:
    model = genlab.make_model("vae", latent_dim=2, hidden=(16, 16)).fit(moons, budget="5steps")
    scene = scene_of(write_explorer(model, moons, tmp_path / "ex").read_text())
    pics = scene["pictures"]
    assert pics["kind"] == "vector" and pics["features"] == ["x1", "x2"]
    rows = arr(pics["rows"])
    n = len(moons.test)
    np.testing.assert_array_equal(rows[scene["points"]["obs"]], moons.test[:n])
    assert arr(pics["background"]).shape[1] == 2


def test_grid_page_when_the_decoder_cannot_run_in_the_page(tins16, tmp_path: Path) -> None:
    """A spline flow: the page says why, carries no runtime, and shows a grid decoded in Python."""
    tins8 = genlab.load_dataset("tins", n=120, size=8)
    flow = genlab.make_model("flow", arch="nsf", transforms=1, hidden=(8,), passes=2).fit(
        tins8, budget="2steps"
    )
    path = write_explorer(flow, tins8, tmp_path / "ex", grid=4, n_test=6, n_train=20, neighbours=2)
    page = path.read_text()
    check_offline(page)
    b = blocks(page)
    assert b["genlab-ort-wasm"] == "" and b["genlab-decoder"] == ""
    assert path.stat().st_size < 1_000_000
    scene = scene_of(page)
    assert not scene["live"] and "spline" in scene["decode_note"] and "4 x 4 grid" in scene["decode_note"]
    grid = scene["grid"]
    assert len(grid["xs"]) == len(grid["ys"]) == 4
    # the grid's pictures are decode() at the grid's latent points (row-major, y outer)
    from genlab.explore.scene import grid_coords

    c, _, _ = grid_coords(scene["views"][0], 4)
    want = flow.decode(plane_points(scene["views"][0], c))
    assert want.shape == (16, 1, 8, 8)
    tiles = atlas_tiles(b["genlab-atlas"], scene["pictures"], range(grid["start"], grid["start"] + 16))
    assert np.abs(tiles - np.round(np.clip(want[:, 0], 0, 1) * 255)).max() <= 1  # 8-bit pictures
    assert scene["points"]["recon"] is not None and len(scene["points"]["recon"]) == 6
    assert json.loads((tmp_path / "ex" / SUMMARY_FILE).read_text())["grid"] == 4


def test_stale_adapter_falls_back_to_the_grid(tins_vae, tins16, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(export.ADAPTERS, "vae", lambda m: export._VAEDecoder(m.decoder_, "sigmoid"))
    with pytest.warns(UserWarning, match="out of date"):
        path = write_explorer(tins_vae, tins16, tmp_path / "ex", grid=3, n_test=5, n_train=5)
    assert not scene_of(path.read_text())["live"]


def test_explore_run_writes_into_the_run(genlab_cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = genlab_cli(
        ["fit", "tins", "--model", "vae", "--set", "n=120", "--set", "size=16", "--set", "latent_dim=2",
         "--set", "channels=8,16", "--budget", "3steps", "--out", str(run), "--no-evaluate"]
    )  # fmt: skip
    assert code == 0, err
    path = explore_run(run, n_test=10, n_train=10)
    assert path == run / "explore" / PAGE_FILE
    assert "(run)" in path.read_text().split("</title>")[0]
    with pytest.raises(GenlabError, match="already exists"):
        explore_run(run)
    other = explore_run(run, tmp_path / "elsewhere", n_test=4, n_train=4)
    assert other == tmp_path / "elsewhere" / PAGE_FILE


def test_factor_plane() -> None:
    """Two factors that the latent point predicts linearly give the default plane: its coordinates are
    the predicted factors, and each plane point maps to a latent point that predicts it."""
    from genlab.explore.scene import _views, plane_coords

    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, 3)).astype(np.float32)
    a = np.array([[1.0, 0.5, 0.0], [-0.3, 1.0, 0.2]])
    f = 0.5 + z @ a.T * 0.1 + 0.001 * rng.standard_normal((400, 2))
    views = _views(z[:300], z, prior=False, factors=(z[:300], f[:300], z[300:], f[300:], ["height", "width"]))
    assert [v["name"].split(",")[0] for v in views] == [
        "known factors",
        "principal components of the encoded training points",
        "latent coordinates",
    ]
    fv = views[0]
    assert fv["rows"][0].startswith("height (R") and fv["rows"][1].startswith("width (R")
    np.testing.assert_allclose(
        plane_coords(fv, z[300:]), f[300:], atol=0.01
    )  # the points sit at their factors
    c = np.array([[0.4, 0.6], [0.55, 0.45]])
    np.testing.assert_allclose(plane_coords(fv, plane_points(fv, c)), c, atol=1e-6)
    # factors the latent point does not predict: no factor plane
    noise = rng.uniform(size=(400, 2))
    views = _views(z[:300], z, prior=False, factors=(z[:300], noise[:300], z[300:], noise[300:], ["a", "b"]))
    assert views[0]["name"].startswith("principal components")
