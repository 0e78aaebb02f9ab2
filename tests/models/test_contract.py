"""One contract, every registered family: fit on tiny data, sample, seeds, save/load, log_prob, latents.

A family joins by registering in `genlab.models.REGISTRY` and adding its fast settings to `FAST` below.
"""

from __future__ import annotations

import numpy as np
import pytest

import genlab
from genlab.models import REGISTRY, get_model_class

# Tiny, fast settings per family: (hyperparameters, budget). Budgets are in steps, never seconds.
FAST: dict[str, tuple[dict, str | None]] = {
    "gaussian": ({}, None),
    "gmm": ({"n_components": 3}, None),
    "kde": ({"bandwidth": 0.3}, None),
    "vae": ({"latent_dim": 2, "hidden": (32, 32), "batch_size": 32, "iwae_k": 8}, "30steps"),
    "gan": ({"latent_dim": 4, "hidden": (32, 32), "batch_size": 32}, "30steps"),
    "flow": ({"transforms": 2, "hidden": (32, 32), "batch_size": 32}, "30steps"),
    "autoregressive": ({"hidden": 16, "layers": 2, "components": 3, "batch_size": 32}, "30steps"),
    "diffusion": ({"hidden": 32, "depth": 1, "channels": 8, "batch_size": 32, "steps": 10}, "30steps"),
    "ebm": ({"hidden": 32, "channels": 8, "batch_size": 32, "langevin_steps": 5}, "30steps"),
    "copula": ({}, None),
    "tabddpm": ({"hidden": 32, "depth": 1, "timesteps": 20, "batch_size": 32}, "30steps"),
}

NAMES = list(REGISTRY)


def _vector_data(n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, 2)) * [1.0, 0.5] + [1.0, -2.0]).astype(np.float32)


def _image_data(n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 17, size=(n, 1, 8, 8)) / 16.0).astype(np.float32)
    x[:, :, 2:6, 2:6] = 1.0  # some structure shared by all images
    return x


@pytest.fixture(scope="module", params=NAMES)
def fitted_vector(request: pytest.FixtureRequest):
    name = request.param
    params, budget = FAST[name]
    model = genlab.make_model(name, **params)
    return model.fit(_vector_data(), budget=budget, seed=0)


def test_registry_agrees_with_classes() -> None:
    for name, spec in REGISTRY.items():
        cls = get_model_class(name)
        assert cls.name == name
        kind = cls.log_prob_kind or "none"
        assert kind == spec.likelihood, name
        assert name in FAST, f"{name} has no fast contract settings"


@pytest.mark.parametrize("name", NAMES)
def test_methods_before_fit_raise(name: str) -> None:
    model = genlab.make_model(name, **FAST[name][0])
    x = _vector_data(4)
    for call in (lambda: model.sample(2), lambda: model.log_prob(x), lambda: model.save("unused")):
        with pytest.raises(genlab.NotFittedError):
            call()


@pytest.mark.parametrize("name", NAMES)
def test_unknown_hyperparameter_is_named(name: str) -> None:
    with pytest.raises(genlab.GenlabError, match="no_such_knob"):
        genlab.make_model(name, no_such_knob=1)


def test_sample_shape_dtype_finite(fitted_vector) -> None:
    x = fitted_vector.sample(50, seed=1)
    assert x.shape == (50, 2) and x.dtype == np.float32
    assert np.isfinite(x).all()


def test_seed_reproducibility(fitted_vector) -> None:
    a, b = fitted_vector.sample(20, seed=3), fitted_vector.sample(20, seed=3)
    c = fitted_vector.sample(20, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_save_load_round_trip(fitted_vector, tmp_path) -> None:
    fitted_vector.save(tmp_path / "m")
    loaded = genlab.load(tmp_path / "m")
    assert type(loaded) is type(fitted_vector)
    for k, v in fitted_vector.get_params().items():
        w = loaded.get_params()[k]
        assert (tuple(v) if isinstance(v, list | tuple) else v) == (
            tuple(w) if isinstance(w, list | tuple) else w
        ), k
    np.testing.assert_array_equal(loaded.sample(30, seed=7), fitted_vector.sample(30, seed=7))
    with pytest.raises(genlab.DataError, match="already holds"):
        fitted_vector.save(tmp_path / "m")


def test_log_prob_or_not_supported(fitted_vector) -> None:
    x = _vector_data(30)
    if fitted_vector.log_prob_kind is None:
        with pytest.raises(genlab.NotSupported):
            fitted_vector.log_prob(x)
        return
    lp = fitted_vector.log_prob(x)
    assert lp.shape == (30,) and np.isfinite(lp).all()
    with pytest.raises(genlab.DataError, match="shape"):
        fitted_vector.log_prob(np.zeros((3, 5), np.float32))


def test_latent_interface(fitted_vector) -> None:
    spec = REGISTRY[fitted_vector.name]
    if not spec.latent:
        assert fitted_vector.latent_dim is None
        with pytest.raises(genlab.NotSupported, match="latent"):
            fitted_vector.encode(_vector_data(3))
        return
    d = fitted_vector.latent_dim
    assert isinstance(d, int) and d >= 1
    z = np.random.default_rng(0).normal(size=(5, d)).astype(np.float32)
    x = fitted_vector.decode(z)
    assert x.shape == (5, 2) and np.isfinite(x).all()
    try:
        e = fitted_vector.encode(_vector_data(5))
    except genlab.NotSupported:
        return  # e.g. a GAN decodes but has no encoder
    assert e.shape == (5, d) and np.isfinite(e).all()


@pytest.mark.parametrize("name", NAMES)
def test_images_fit_and_sample(name: str, tmp_path) -> None:
    params, budget = FAST[name]
    model = genlab.make_model(name, **params).fit(_image_data(), budget=budget, seed=0)
    x = model.sample(6, seed=0)
    assert x.shape == (6, 1, 8, 8) and x.dtype == np.float32 and np.isfinite(x).all()
    model.save(tmp_path / "img")
    np.testing.assert_array_equal(genlab.load(tmp_path / "img").sample(6, seed=0), x)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_weights_and_no_global_rng(name: str, tmp_path) -> None:
    """Randomness comes from the fit's seed alone: two fits with one seed save byte-identical model
    files, another seed gives other weights (for families that draw any), and a fit leaves torch's and
    numpy's global random state exactly as it found them."""
    import torch

    params, budget = FAST[name]
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()
    files = []
    for k, seed in enumerate((5, 5, 6)):
        m = genlab.make_model(name, **params).fit(_vector_data(), budget=budget, seed=seed)
        m.save(tmp_path / str(k))
        files.append((tmp_path / str(k) / "model.safetensors").read_bytes())
    assert torch.equal(torch.random.get_rng_state(), torch_state), "fit changed torch's global RNG"
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), np_state, strict=True)), (
        "fit changed numpy's global RNG"
    )
    assert files[0] == files[1], "same seed, different files"
    if name not in ("gaussian", "kde", "copula"):  # closed forms without random choices (on numbers)
        assert files[0] != files[2], "the seed does not reach the fit"


def _table():  # -> pandas.DataFrame
    import pandas as pd

    rng = np.random.default_rng(2)
    n = 120
    size = rng.normal(10, 3, n)
    f = pd.DataFrame(
        {
            "size": np.round(size, 1),
            "count": rng.integers(0, 300, n),
            "kind": np.where(size > 10, "big", "small").astype(object),
            "colour": rng.choice(["red", "blue", "green"], n).astype(object),
        }
    )
    f.loc[[4, 9], "size"] = np.nan
    f.loc[[7], "colour"] = np.nan
    return f


@pytest.mark.parametrize("name", NAMES)
def test_tables_fit_sample_and_round_trip(name: str, tmp_path) -> None:
    """Every family fits a mixed table (through its encoding) and gives back rows of that table: the same
    columns and dtypes, categories only from those seen, numbers within the observed range; a saved
    model decodes on its own."""
    import pandas as pd

    params, budget = FAST[name]
    ds = genlab.load_dataset(_table(), test_fraction=0.2)
    model = genlab.make_model(name, **params).fit(ds, budget=budget, seed=0)
    rows = model.sample(40, seed=1)
    real = ds.table.train
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == list(real.columns)
    assert rows.dtypes.to_dict() == real.dtypes.to_dict()
    assert set(rows["kind"].dropna()) <= {"big", "small"} and set(rows["colour"].dropna()) <= {
        "red",
        "blue",
        "green",
    }
    assert rows["size"].dropna().between(real["size"].min(), real["size"].max()).all()
    assert (rows["count"] == rows["count"].round()).all()
    model.save(tmp_path / "t")
    loaded = genlab.load(tmp_path / "t")
    pd.testing.assert_frame_equal(loaded.sample(40, seed=1), rows)
