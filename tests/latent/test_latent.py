"""genlab.latent against stand-ins with exact linear encode/decode, and the NotSupported paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
from standins import DecoderOnly, LinearLatent, image_data, vector_data

import genlab
from genlab.data.dataset import make_dataset
from genlab.latent import (
    embed,
    factor_r2,
    has_encoder,
    interpolate,
    latent_figures,
    latent_grid,
    latent_map,
    latent_stats,
    lerp,
    slerp,
    traverse,
)


@pytest.fixture(scope="module")
def vec_model() -> LinearLatent:
    return LinearLatent(latent=2).fit(vector_data())


@pytest.fixture(scope="module")
def img_model() -> LinearLatent:
    return LinearLatent(latent=3).fit(image_data())


# ----------------------------------------------------------------------------- embed
def test_embed_matches_encode_single_and_batch(vec_model: LinearLatent) -> None:
    x = vector_data(5, seed=1)
    z = embed(vec_model, x)
    assert z.shape == (5, 2)
    np.testing.assert_allclose(z, vec_model.encode(x), rtol=1e-6)
    np.testing.assert_allclose(embed(vec_model, x[2]), z[2], rtol=1e-6)
    # the stand-in's latents of its training data are standardised principal components
    zt = embed(vec_model, vector_data())
    np.testing.assert_allclose(zt.std(0), 1.0, atol=1e-4)


def test_embed_bad_shape_is_data_error(vec_model: LinearLatent) -> None:
    with pytest.raises(genlab.DataError, match=r"embed input: expected shape \(N, 3\)"):
        embed(vec_model, np.zeros((4, 5)))
    with pytest.raises(genlab.DataError, match="non-finite"):
        embed(vec_model, np.full((2, 3), np.nan))


# ----------------------------------------------------------------------------- interpolation
def test_slerp_closed_form() -> None:
    za, zb = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    p = slerp(za, zb, np.linspace(0, 1, 5))[0]  # quarter circle in 4 equal angles
    angles = np.arctan2(p[:, 1], p[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0, np.pi / 2, 5), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-12)
    # the endpoints, and scaling: slerp(c a, c b) = c slerp(a, b)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 6))
    t = np.linspace(0, 1, 7)
    s = slerp(a, b, t)
    np.testing.assert_allclose(s[:, 0], a, atol=1e-12)
    np.testing.assert_allclose(s[:, -1], b, atol=1e-12)
    np.testing.assert_allclose(slerp(2 * a, 2 * b, t), 2 * s, atol=1e-12)


def test_slerp_falls_back_to_lerp_when_parallel() -> None:
    za, zb = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[2.0, 4.0], [1.0, 1.0]])
    t = np.linspace(0, 1, 4)
    np.testing.assert_allclose(slerp(za, zb, t), lerp(za, zb, t), atol=1e-12)


def test_interpolate_lerp_is_linear_and_endpoints_are_reconstructions(vec_model: LinearLatent) -> None:
    x = vector_data(4, seed=2)
    a, b = x[:2], x[2:]
    path = interpolate(vec_model, a, b, steps=5, method="lerp")
    assert path.shape == (2, 5, 3)
    rec = vec_model.decode(vec_model.encode(x))
    np.testing.assert_allclose(path[:, 0], rec[:2], atol=1e-5)
    np.testing.assert_allclose(path[:, -1], rec[2:], atol=1e-5)
    # a linear decoder maps a straight latent line to a straight, evenly spaced line in data space
    np.testing.assert_allclose(np.diff(path, 2, axis=1), 0.0, atol=1e-4)
    one = interpolate(vec_model, a[0], b[0], steps=5, method="lerp")
    assert one.shape == (5, 3)
    np.testing.assert_allclose(one, path[0], atol=1e-5)


def test_interpolate_slerp_matches_decoded_slerp(img_model: LinearLatent) -> None:
    x = image_data(6, seed=3)
    out = interpolate(img_model, x[:3], x[3:], steps=8)
    assert out.shape == (3, 8, 1, 8, 8)
    z = img_model.encode(x)
    expect = img_model.decode(slerp(z[:3], z[3:], np.linspace(0, 1, 8)).reshape(-1, 3).astype(np.float32))
    np.testing.assert_allclose(out.reshape(-1, 1, 8, 8), expect, atol=1e-5)
    np.testing.assert_array_equal(out[:, 0], img_model.decode(z[:3]))  # endpoints exactly


def test_interpolate_validates(vec_model: LinearLatent) -> None:
    x = vector_data(4)
    with pytest.raises(genlab.GenlabError, match="steps"):
        interpolate(vec_model, x[0], x[1], steps=1)
    with pytest.raises(genlab.GenlabError, match="method"):
        interpolate(vec_model, x[0], x[1], method="cubic")
    with pytest.raises(genlab.DataError, match="same number"):
        interpolate(vec_model, x[:2], x[:3])
    with pytest.raises(genlab.DataError, match=r"interpolate b"):
        interpolate(vec_model, x[0], np.zeros(5))


# ----------------------------------------------------------------------------- traverse
def test_traverse_sets_one_coordinate(img_model: LinearLatent) -> None:
    x = image_data(2, seed=4)
    vals = [-2.0, 0.0, 1.5]
    out = traverse(img_model, x, dim=1, values=vals)
    assert out.shape == (2, 3, 1, 8, 8)
    z0 = img_model.encode(x)
    z = img_model.encode(out.reshape(-1, 1, 8, 8)).reshape(2, 3, 3)
    np.testing.assert_allclose(z[:, :, 1], np.broadcast_to(vals, (2, 3)), atol=1e-4)
    np.testing.assert_allclose(z[:, :, [0, 2]], np.repeat(z0[:, None, [0, 2]], 3, axis=1), atol=1e-4)
    assert traverse(img_model, x[0], dim=0, values=vals).shape == (3, 1, 8, 8)
    with pytest.raises(genlab.GenlabError, match=r"dim must be an integer in \[0, 3\)"):
        traverse(img_model, x, dim=3, values=vals)


# ----------------------------------------------------------------------------- grids
def test_latent_grid_order_and_prior_span(img_model: LinearLatent) -> None:
    z, v0, v1 = latent_grid(img_model, dims=(2, 0), grid=4)
    np.testing.assert_allclose(v0, np.linspace(-2, 2, 4), rtol=1e-6)
    np.testing.assert_allclose(v1, np.linspace(-2, 2, 4), rtol=1e-6)
    assert z.shape == (16, 3)
    k = np.arange(16)
    np.testing.assert_array_equal(z[:, 2], v0[k % 4])  # columns walk dims[0]
    np.testing.assert_array_equal(z[:, 0], v1[k // 4])  # rows walk dims[1]
    np.testing.assert_allclose(z[:, 1], 0.0)  # others at the prior mean
    # an explicit reference point holds the other dimensions
    z2, _, _ = latent_grid(img_model, dims=(2, 0), grid=2, span=1.0, reference=[5.0, 7.0, 9.0])
    np.testing.assert_array_equal(z2, [[-1, 7, -1], [-1, 7, 1], [1, 7, -1], [1, 7, 1]])
    with pytest.raises(genlab.DataError, match="reference"):
        latent_grid(img_model, reference=[1.0, 2.0])
    maps = latent_map(img_model, dims=(2, 0), grid=4)
    assert maps.shape == (16, 1, 8, 8)
    np.testing.assert_allclose(maps, img_model.decode(z), atol=1e-6)


def test_latent_grid_span_from_data(vec_model: LinearLatent) -> None:
    data = vector_data()
    z_data = vec_model.encode(data)
    z, v0, v1 = latent_grid(vec_model, grid=3, data=data)
    lo, hi = np.percentile(z_data, [2, 98], axis=0)
    np.testing.assert_allclose([v0[0], v0[-1], v1[0], v1[-1]], [lo[0], hi[0], lo[1], hi[1]], rtol=1e-5)
    stats = latent_stats(vec_model, data)
    assert stats["source"] == "data"
    np.testing.assert_allclose(stats["reference"], z_data.mean(0), atol=1e-5)
    # explicit spans: a number, one pair, or one pair per dimension
    _, v0, v1 = latent_grid(vec_model, grid=3, span=1.5)
    np.testing.assert_allclose([v0, v1], [[-1.5, 0, 1.5]] * 2, rtol=1e-6)
    _, v0, v1 = latent_grid(vec_model, grid=3, span=((0, 1), (-4, 0)))
    np.testing.assert_allclose([v0, v1], [[0, 0.5, 1], [-4, -2, 0]], rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": (0, 0)}, "two different latent dimensions"),
        ({"dims": (0, 5)}, "two different latent dimensions"),
        ({"grid": 1}, "grid must be an integer >= 2"),
        ({"span": (1, -1)}, "low < high"),
        ({"span": "wide"}, "span must be"),
    ],
)
def test_latent_map_validates(vec_model: LinearLatent, kwargs: dict, match: str) -> None:
    with pytest.raises(genlab.GenlabError, match=match):
        latent_map(vec_model, **kwargs)


# ----------------------------------------------------------------------------- factors
def _factor_dataset(n: int = 600) -> genlab.Dataset:
    rng = np.random.default_rng(5)
    x = vector_data(n, seed=6)
    factors = np.c_[x[:, 0] - 0.5 * x[:, 1], rng.uniform(size=n), np.sin(x[:, 0])]
    return make_dataset(
        name="factors-toy",
        kind="vector",
        x=x,
        factors=factors,
        where="test",
        source="test",
        options={},
        test_fraction=0.25,
        seed=0,
        factor_names=["linear", "noise", "curved"],
    )


def test_factor_r2_linear_noise_and_curved() -> None:
    ds = _factor_dataset()
    model = LinearLatent(latent=2).fit(ds)
    r2 = factor_r2(model, ds)
    assert set(r2) == {"linear", "noise", "curved"}
    assert r2["linear"]["linear"] > 0.999  # lies in the span of the top two principal axes
    assert r2["linear"]["knn"] > 0.9
    assert r2["noise"]["linear"] < 0.05 and r2["noise"]["knn"] < 0.1  # unrelated to the data
    assert r2["curved"]["knn"] > r2["curved"]["linear"] + 0.2  # k-NN sees what a line cannot


def test_factor_r2_needs_factors(vec_model: LinearLatent) -> None:
    ds = make_dataset(
        name="plain",
        kind="vector",
        x=vector_data(50),
        where="t",
        source="t",
        options={},
        test_fraction=0.2,
        seed=0,
    )
    with pytest.raises(genlab.DataError, match="'plain' has no known factors"):
        factor_r2(vec_model, ds)


# ----------------------------------------------------------------------------- families without a latent
@pytest.mark.parametrize("name", ["gaussian", "gmm"])
def test_families_without_latent_raise_not_supported(name: str) -> None:
    model = genlab.make_model(name).fit(vector_data(100))
    for call in (
        lambda: embed(model, vector_data(3)),
        lambda: latent_map(model),
        lambda: interpolate(model, vector_data(1)[0], vector_data(1)[0]),
        lambda: traverse(model, vector_data(2), dim=0, values=[0.0]),
    ):
        with pytest.raises(
            genlab.NotSupported,
            match=rf"{name} has no latent space; families with one: vae, gan, flow, diffusion",
        ):
            call()


def test_unfitted_model_raises_not_fitted() -> None:
    with pytest.raises(genlab.NotFittedError, match="not fitted"):
        embed(LinearLatent(), vector_data(2))


def test_decoder_only_model_interpolates_latent_points() -> None:
    model = DecoderOnly(latent=2).fit(vector_data())
    assert not has_encoder(model)
    assert has_encoder(LinearLatent().fit(vector_data()))
    with pytest.raises(genlab.NotSupported, match="no encoder"):
        embed(model, vector_data(2))
    za, zb = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    out = interpolate(model, za, zb, steps=3, latent=True)
    np.testing.assert_allclose(
        out, model.decode(np.array([[1, 0], [0.5**0.5] * 2, [0, 1]], np.float32)), atol=1e-5
    )
    # a latent map needs no encoder: the prior span
    assert latent_stats(model, vector_data())["source"] == "prior"
    assert latent_map(model, grid=3).shape == (9, 3)


# ----------------------------------------------------------------------------- figures
def test_latent_figures_images(tmp_path, img_model: LinearLatent) -> None:
    x = image_data(200, seed=7)
    labels = (x.sum((1, 2, 3)) > 10).astype(int)
    ds = make_dataset(
        name="squares",
        kind="image",
        x=x,
        labels=labels,
        factors=x.sum((1, 2, 3))[:, None],
        where="t",
        source="t",
        options={},
        test_fraction=0.25,
        seed=0,
        factor_names=["area"],
        class_names=["small", "big"],
    )
    summary = latent_figures(img_model, ds, tmp_path, grid=5, pairs=3, steps=4)
    for f in ("latent_map.png", "latent_scatter.png", "interpolations.png"):
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
    saved = json.loads((tmp_path / "latent.json").read_text())
    assert saved["latent_dim"] == 3 and saved["has_encoder"] is True
    assert saved["map"]["grid"] == 5 and len(set(saved["map"]["dims"])) == 2
    assert saved["factor_r2"]["area"]["linear"] > 0.5  # area is a strong principal direction
    assert summary["figures"] == saved["figures"]


def test_latent_figures_vectors_decoder_only(tmp_path) -> None:
    ds = make_dataset(
        name="blob",
        kind="vector",
        x=vector_data(200),
        where="t",
        source="t",
        options={},
        test_fraction=0.25,
        seed=0,
    )
    model = DecoderOnly(latent=2).fit(ds)
    summary = latent_figures(model, ds, tmp_path, grid=4)
    assert set(summary["figures"]) == {"latent_map", "interpolations"}  # no encoder: no scatter
    assert "prior" in summary["interpolations"]["between"]
    assert summary["map"]["span"] == [[-2.0, 2.0], [-2.0, 2.0]]


# ----------------------------------------------------------------------------- every registered family
FAST = {  # tiny settings, as in tests/models/test_contract.py
    "vae": {"latent_dim": 2, "hidden": (32, 32), "batch_size": 32, "iwae_k": 4},
    "gan": {"latent_dim": 4, "hidden": (32, 32), "batch_size": 32},
    "flow": {"transforms": 2, "hidden": (32, 32), "batch_size": 32},
    "diffusion": {"hidden": 32, "batch_size": 32, "steps": 10},
    "autoregressive": {"hidden": 32, "batch_size": 32},
    "ebm": {"hidden": 32, "batch_size": 32, "langevin_steps": 5},
}


@pytest.mark.parametrize("name", list(genlab.list_models()))
def test_every_family_has_a_working_latent_or_says_which_do(name: str) -> None:
    from genlab.models import REGISTRY, models_with

    data = vector_data(200, d=2)
    model = genlab.make_model(name, **FAST.get(name, {}))
    if name in FAST:
        model.fit(data, budget="10steps", seed=0, progress="off")
    else:
        model.fit(data)
    if not REGISTRY[name].latent:
        with pytest.raises(genlab.NotSupported, match=", ".join(models_with("latent"))):
            latent_map(model)
        return
    d = model.latent_dim
    grid = latent_map(model, grid=3)
    assert grid.shape == (9, 2) and np.isfinite(grid).all()
    if has_encoder(model):
        z = embed(model, data[:4])
        assert z.shape == (4, d)
        path = interpolate(model, data[:2], data[2:4], steps=4)
        rec = model.decode(z)  # the endpoints are the reconstructions
        # (a DDIM decode differs in the last float bits with the batch size, and its chain amplifies that)
        tol = {"rtol": 2e-2, "atol": 1e-3} if name == "diffusion" else {"rtol": 1e-5, "atol": 1e-4}
        np.testing.assert_allclose(path[:, 0], rec[:2], **tol)
        np.testing.assert_allclose(path[:, -1], rec[2:], **tol)
    else:  # a GAN: interpolate between latent points
        za = np.random.default_rng(0).standard_normal((2, d)).astype(np.float32)
        path = interpolate(model, za[0], za[1], steps=4, latent=True)
        np.testing.assert_allclose(path[[0, -1]], model.decode(za), atol=1e-5)
