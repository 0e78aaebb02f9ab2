"""genlab.latent and `genlab latent` on conditional models: the data are encoded under their own labels
(or factors), the map and interpolations decoded under one chosen condition (default: the most
frequent training class, the median factor row). Closed-form checks on a linear stand-in, then a small
conditional VAE on digits through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from standins import CondLinear, image_data

import genlab
from genlab.data.dataset import make_dataset
from genlab.errors import GenlabError
from genlab.latent import (
    decode_condition,
    default_condition,
    embed,
    factor_r2,
    has_encoder,
    interpolate,
    latent_figures,
    latent_grid,
    latent_map,
    latent_stats,
    traverse,
)


def squares(n: int = 240):
    """8x8 squares: label = the square is big (3 of 4 are small, so "small" is the most frequent
    class), factor = its area."""
    x = image_data(n, seed=3)
    area = x.sum((1, 2, 3))
    labels = (area > np.quantile(area, 0.75)).astype(int)
    return make_dataset(
        name="squares", kind="image", x=x, labels=labels, factors=np.c_[area, area % 5], where="t",
        source="t", options={}, test_fraction=0.25, seed=0, factor_names=["area", "mod5"],
        class_names=["small", "big"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return squares()


@pytest.fixture(scope="module")
def by_label(data) -> CondLinear:
    return CondLinear(latent=3, conditional="labels").fit(data)


@pytest.fixture(scope="module")
def by_factor(data) -> CondLinear:
    return CondLinear(latent=3, conditional="factors").fit(data)


# ----------------------------------------------------------------------------- the API, closed form
def test_embed_needs_the_observations_condition(by_label: CondLinear, data) -> None:
    assert has_encoder(by_label)
    with pytest.raises(GenlabError, match=r"embed: cond-standin is conditioned on labels; pass labels="):
        embed(by_label, data.test[:5])
    y = data.test_labels[:5]
    np.testing.assert_allclose(
        embed(by_label, data.test[:5], labels=y), by_label.encode(data.test[:5], labels=y)
    )
    # the condition matters: encoding the same observations as the other class moves them
    assert not np.allclose(
        embed(by_label, data.test[:5], labels=1 - y), embed(by_label, data.test[:5], labels=y)
    )
    assert embed(by_label, data.test[0], labels="big").shape == (3,)


def test_default_condition_is_the_most_frequent_class_and_the_median_row(by_label, by_factor, data) -> None:
    counts = np.bincount(data.train_labels)
    assert counts[0] > counts[1] and default_condition(by_label) == {"labels": 0}
    med = default_condition(by_factor)["factors"]
    np.testing.assert_allclose(med, np.median(by_factor.factor_rows_, axis=0))
    # a dict sets the factors it names; the others stay at their medians
    row = decode_condition(by_factor, factors={"area": 2.5})["factors"]
    assert row[0] == 2.5 and row[1] == med[1]
    assert decode_condition(by_label, labels="big") == {"labels": 1}
    with pytest.raises(GenlabError, match="unknown factor 'depth'"):
        decode_condition(by_factor, factors={"depth": 1})
    with pytest.raises(GenlabError, match="conditioned on labels; pass labels=, not factors="):
        decode_condition(by_label, factors={"area": 1})
    with pytest.raises(GenlabError, match="unknown class 'huge'"):
        latent_map(by_label, grid=2, labels="huge")


def test_latent_map_decodes_every_point_with_one_class(by_label: CondLinear, data) -> None:
    z, _, _ = latent_grid(by_label, grid=3, data=data)
    # the span comes from the training data encoded under their own labels
    stats = latent_stats(by_label, data)
    ztr = by_label.encode(data.train, labels=data.train_labels)
    np.testing.assert_allclose(stats["reference"], ztr.mean(0), rtol=1e-5, atol=1e-6)
    default = latent_map(by_label, grid=3, data=data)
    np.testing.assert_allclose(default, by_label.decode(z, labels=0), atol=1e-6)
    big = latent_map(by_label, grid=3, data=data, labels="big")
    np.testing.assert_allclose(big, by_label.decode(z, labels=1), atol=1e-6)
    # the two maps differ by exactly the difference of the class offsets
    diff = (by_label.class_means_[1] - by_label.class_means_[0]).reshape(1, -1)
    np.testing.assert_allclose((big - default).reshape(9, -1), np.repeat(diff, 9, 0), atol=1e-5)
    with pytest.raises(GenlabError, match="give data as a Dataset"):
        latent_grid(by_label, grid=3, data=data.train)


def test_interpolate_and_traverse_under_a_condition(by_label: CondLinear, data) -> None:
    a, b, y = data.test[:2], data.test[2:4], data.test_labels[:2]
    strips = interpolate(by_label, a, b, steps=4, method="lerp", labels=y)  # one class per pair
    assert strips.shape == (2, 4, 1, 8, 8)
    for i in range(2):  # endpoints: reconstructions under the pair's class (exact for the linear model)
        za = by_label.encode(a[i : i + 1], labels=y[i : i + 1])
        np.testing.assert_allclose(strips[i, 0], by_label.decode(za, labels=y[i : i + 1])[0], atol=1e-5)
    with pytest.raises(GenlabError, match="interpolate: cond-standin is conditioned on labels"):
        interpolate(by_label, a, b)
    z = np.zeros((1, 3), np.float32)
    got = interpolate(by_label, z, z, steps=2, latent=True)  # latent points: the default class
    np.testing.assert_allclose(got[0, 0], by_label.decode(z, labels=0)[0], atol=1e-6)
    t = traverse(by_label, z[0], dim=1, values=[-1, 1], latent=True, labels="big")
    zz = np.array([[0, -1, 0], [0, 1, 0]], np.float32)
    np.testing.assert_allclose(t, by_label.decode(zz, labels=1), atol=1e-6)


def test_factor_model_encodes_with_its_factors(by_factor: CondLinear, data) -> None:
    f = data.test_factors[:4]
    np.testing.assert_allclose(
        embed(by_factor, data.test[:4], factors=f), by_factor.encode(data.test[:4], factors=f)
    )
    r2 = factor_r2(by_factor, data)  # the condition took the area out of the latent points
    assert set(r2) == {"area", "mod5"} and r2["area"]["linear"] < 0.5
    z = np.zeros((1, 3), np.float32)
    got = latent_map(by_factor, grid=2, span=1.0, reference=z[0], factors={"area": 9.0})
    row = decode_condition(by_factor, factors={"area": 9.0})["factors"]
    zz, _, _ = latent_grid(by_factor, grid=2, span=1.0, reference=z[0])
    np.testing.assert_allclose(got, by_factor.decode(zz, factors=row), atol=1e-5)


def test_latent_figures_record_the_condition(tmp_path: Path, by_label, by_factor, data) -> None:
    summary = latent_figures(by_label, data, tmp_path / "a", grid=3, pairs=2, steps=3)
    saved = json.loads((tmp_path / "a" / "latent.json").read_text())
    assert saved["condition"] == {"mode": "labels", "label": 0, "class": "small",
                                  "chosen": "the most frequent training class"}  # fmt: skip
    assert summary["figures"] == saved["figures"] and len(saved["figures"]) == 3
    saved = latent_figures(by_label, data, tmp_path / "b", grid=3, pairs=2, steps=3, labels="big")
    assert saved["condition"]["label"] == 1 and saved["condition"]["chosen"] == "given"
    saved = latent_figures(by_factor, data, tmp_path / "c", grid=3, pairs=2, steps=3, factors={"area": 4})
    assert (
        saved["condition"]["factors"]["area"] == 4.0
        and saved["condition"]["chosen"]["mod5"] == "training median"
    )
    assert set(saved["factor_r2"]) == {"area", "mod5"}
    with pytest.raises(GenlabError, match="labels must be one class"):
        latent_figures(by_label, data, tmp_path / "d", labels=[0, 1])


# ----------------------------------------------------------------------------- a conditional VAE, API and CLI
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory, genlab_cli_module) -> Path:
    run = tmp_path_factory.mktemp("cvae") / "run"
    code, _, err = genlab_cli_module(["fit", "digits", "--model", "vae", "--set", "conditional=true",
                                      "--set", "latent_dim=2", "--budget", "20steps", "--out", str(run),
                                      "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    return run


@pytest.fixture(scope="module")
def genlab_cli_module():
    """The CLI in-process for module-scoped fixtures (stdout/stderr not captured)."""
    import sys

    from genlab import cli

    def run(args: list[str]) -> tuple[int, str, str]:
        argv, sys.argv = sys.argv, ["genlab", *args]
        try:
            cli.main()
            return 0, "", ""
        except SystemExit as e:
            return int(e.code or 0), "", ""
        finally:
            sys.argv = argv

    return run


def test_conditional_vae_latent_api(digits_run: Path) -> None:
    model = genlab.load(digits_run)
    ds = genlab.load_dataset("digits")
    assert model.conditional_ == "labels" and default_condition(model) == {
        "labels": int(np.argmax(np.bincount(ds.train_labels)))
    }
    z = embed(model, ds.test[:10], labels=ds.test_labels[:10])
    np.testing.assert_array_equal(z, model.encode(ds.test[:10], labels=ds.test_labels[:10]))
    sevens, threes = (
        latent_map(model, grid=3, data=ds, labels=7),
        latent_map(model, grid=3, data=ds, labels="3"),
    )
    zg, _, _ = latent_grid(model, grid=3, data=ds)
    np.testing.assert_allclose(sevens, model.decode(zg, labels=7), atol=1e-6)
    assert np.abs(sevens - threes).max() > 1e-3  # the class changes what is decoded


def test_conditional_vae_latent_cli(digits_run: Path, tmp_path: Path, genlab_cli) -> None:
    most = int(np.argmax(genlab.load(digits_run).class_counts_))
    code, _, err = genlab_cli(["latent", str(digits_run), "--out", str(tmp_path / "a"), "--grid", "4"])
    assert code == 0, err
    assert f"decoded with class '{most}' (the most frequent training class" in err
    cond = json.loads((tmp_path / "a" / "latent.json").read_text())["condition"]
    assert cond["label"] == most and cond["chosen"] == "the most frequent training class"
    for f in ("latent_map.png", "latent_scatter.png", "interpolations.png"):
        assert (tmp_path / "a" / f).read_bytes()[:4] == b"\x89PNG"
    code, _, err = genlab_cli(
        ["latent", str(digits_run), "--out", str(tmp_path / "b"), "--grid", "4", "--class", "7"]
    )
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "latent.json").read_text())["condition"]["label"] == 7
    assert (tmp_path / "a" / "latent_map.png").read_bytes() != (
        tmp_path / "b" / "latent_map.png"
    ).read_bytes()
    for args, message in (
        (["--class", "Sandal"], "unknown class 'Sandal'"),
        (["--where", "height=0.8"], "--where: the model in"),
    ):
        code, _, err = genlab_cli(["latent", str(digits_run), "--out", str(tmp_path / "c"), *args])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "c").exists()  # refused before anything is written


def test_class_on_an_unconditional_model_exits_2(tmp_path: Path, genlab_cli) -> None:
    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "iris", "--model", "vae", "--budget", "3steps", "--out", str(run),
                               "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    code, _, err = genlab_cli(["latent", str(run), "--class", "1"])
    assert code == 2 and "--class: the model in" in err and "not conditional" in err, err
    code, _, err = genlab_cli(["latent", str(run), "--where", "a=1"])
    assert code == 2 and "not conditional" in err, err
    assert not (run / "latent").exists()


def test_factor_conditional_vae_latent_where(tmp_path: Path, genlab_cli) -> None:
    """`genlab latent RUN --where width=0.5` on a factor-conditional VAE (tins): the map is decoded with
    width 0.5 and height at its training median; the same --where parsing as `genlab sample`."""
    run = tmp_path / "run"
    code, _, err = genlab_cli(["fit", "tins", "--model", "vae", "--set", "conditional=factors", "--set", "n=120",
                               "--set", "size=8", "--set", "latent_dim=2", "--budget", "3steps", "--out", str(run),
                               "--no-evaluate"])  # fmt: skip
    assert code == 0, err
    code, _, err = genlab_cli(["latent", str(run), "--where", "width=0.5", "--grid", "3"])
    assert code == 0, err
    model = genlab.load(run)
    cond = json.loads((run / "latent" / "latent.json").read_text())["condition"]
    median = float(np.median(model.factor_rows_[:, model.factor_names_.index("height")]))
    assert cond["factors"]["width"] == 0.5 and cond["factors"]["height"] == pytest.approx(median, rel=1e-6)
    assert cond["chosen"] == {"height": "training median", "width": "given"}
    assert "decoded with height=" in err and "width=0.5" in err
    for args, message in (
        (["--where", "depth=1"], "no factor 'depth'"),
        (["--class", "1"], "conditioned on factors"),
    ):
        code, _, err = genlab_cli(["latent", str(run), "--force", *args])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
