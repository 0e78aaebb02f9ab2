"""The 2-D toys: shapes, determinism, documented geometry, and exact log densities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import genlab
from genlab.data import toys

TOY_NAMES = ["moons", "circles", "8gaussians", "checkerboard", "swissroll", "pinwheel", "spirals"]


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_shapes_and_determinism(name: str) -> None:
    ds = genlab.load_dataset(name, n=1000, seed=3)
    assert ds.kind == "vector" and ds.shape == (2,)
    assert ds.train.shape == (800, 2) and ds.test.shape == (200, 2)
    assert ds.train.dtype == np.float32 and np.isfinite(ds.train).all()
    assert ds.train_labels is None and ds.train_factors is None
    again = genlab.load_dataset(name, n=1000, seed=3)
    np.testing.assert_array_equal(ds.train, again.train)
    assert ds.fingerprint == again.fingerprint
    other = genlab.load_dataset(name, n=1000, seed=4)
    assert not np.array_equal(ds.train, other.train)
    assert ds.fingerprint != other.fingerprint
    # all toys live on roughly the same scale, [-4, 4]^2 give or take the noise
    assert np.abs(ds.train).max() < 5.0 and ds.train.std() > 0.5


def test_default_n_is_10000() -> None:
    ds = genlab.load_dataset("8gaussians")
    assert (ds.n_train, ds.n_test) == (8000, 2000)


def test_options_from_cli_strings() -> None:
    ds = genlab.load_dataset("moons", n="500", noise="0")
    assert ds.n_train + ds.n_test == 500 and ds.options == {"n": 500, "noise": 0.0}
    # noise 0: every point lies exactly on one of the two documented unit half circles (before x2 + shift)
    p = (np.concatenate([ds.train, ds.test]).astype(np.float64) - [-1.0, -0.2]) / 2.0
    r_upper = np.hypot(p[:, 0], p[:, 1])
    r_lower = np.hypot(p[:, 0] - 1.0, p[:, 1] - 0.5)
    assert np.all(np.minimum(np.abs(r_upper - 1), np.abs(r_lower - 1)) < 1e-5)


def test_circles_radii() -> None:
    ds = genlab.load_dataset("circles", n=2000, noise=0.0)
    r = np.hypot(*np.concatenate([ds.train, ds.test]).T)
    assert np.all(np.minimum(np.abs(r - 3.0), np.abs(r - 1.5)) < 1e-5)
    assert abs(np.mean(np.abs(r - 3.0) < 1e-5) - 0.5) < 1e-9  # half on each circle


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("moons", {"m": 3}, r"'moons'.*unknown option.*'m'.*valid options: n, noise"),
        ("8gaussians", {"noise": 0.1}, r"'8gaussians'.*unknown option.*'noise'.*valid options: n$"),
        ("moons", {"n": 1}, "at least 2"),
        ("moons", {"n": "many"}, "n='many' must be int"),
        ("moons", {"n": 2.5}, "must be int"),
        ("moons", {"noise": -1}, "noise must be >= 0"),
    ],
)
def test_bad_toy_options(name: str, options: dict, match: str) -> None:
    with pytest.raises(genlab.DataError, match=match):
        genlab.load_dataset(name, **options)


def _grid(lo: float, hi: float, step: float) -> tuple[np.ndarray, float]:
    c = np.arange(lo + step / 2, hi, step)  # cell midpoints
    xx, yy = np.meshgrid(c, c)
    return np.stack([xx.ravel(), yy.ravel()], 1), step * step


@pytest.mark.parametrize("name", ["8gaussians", "checkerboard"])
def test_log_density_integrates_to_one(name: str) -> None:
    ds = genlab.load_dataset(name, n=100)
    pts, cell = _grid(-6.0, 6.0, 0.02)
    total = np.exp(ds.log_density(pts)).sum() * cell
    assert abs(total - 1.0) < 0.01, total


def test_eight_gaussians_density_matches_scipy_mixture() -> None:
    x = np.random.default_rng(0).uniform(-4, 4, (300, 2))
    ref = np.log(
        np.mean([multivariate_normal(m, toys.SD8**2 * np.eye(2)).pdf(x) for m in toys.CENTERS8], axis=0)
    )
    np.testing.assert_allclose(toys.eight_gaussians_log_density(x), ref, rtol=1e-10, atol=1e-10)
    # the documented geometry: radius 2*sqrt(2), sd 1/(2*sqrt(2))
    np.testing.assert_allclose(np.hypot(*toys.CENTERS8.T), 2 * np.sqrt(2))
    np.testing.assert_allclose(toys.SD8, 1 / (2 * np.sqrt(2)))


def test_eight_gaussians_samples_follow_their_density() -> None:
    ds = genlab.load_dataset("8gaussians", n=8000, seed=1)
    x = ds.train.astype(np.float64)
    k = np.argmin(((x[:, None] - toys.CENTERS8[None]) ** 2).sum(-1), 1)
    assert np.all(np.abs(np.bincount(k, minlength=8) / len(x) - 1 / 8) < 0.02)
    resid = x - toys.CENTERS8[k]
    assert np.std(resid) == pytest.approx(toys.SD8, rel=0.05)
    # the mean log density of samples estimates minus the entropy: 8 well separated modes
    entropy = np.log(8) + np.log(2 * np.pi * np.e * toys.SD8**2)
    assert -ds.log_density(x).mean() == pytest.approx(entropy, abs=0.05)


def test_checkerboard_samples_on_black_squares() -> None:
    ds = genlab.load_dataset("checkerboard", n=8000, seed=2)
    x = np.concatenate([ds.train, ds.test]).astype(np.float64)
    lp = ds.log_density(x)
    np.testing.assert_allclose(lp, -np.log(32.0))  # every sample is on the support
    cells = (np.floor(x[:, 0] / 2) + 2) * 4 + np.floor(x[:, 1] / 2) + 2
    counts = np.bincount(cells.astype(int), minlength=16)
    assert (counts > 0).sum() == 8  # 8 of the 16 squares used, evenly
    assert np.all(np.abs(counts[counts > 0] / len(x) - 1 / 8) < 0.02)
    # white squares and the outside have zero density
    assert ds.log_density(np.array([[1.0, -1.0], [-3.0, 3.0], [4.5, 0.0]])).tolist() == [-np.inf] * 3
    assert np.isfinite(ds.log_density(np.array([[1.0, 1.0], [-3.0, -3.0]]))).all()


@pytest.mark.parametrize("name", ["moons", "circles", "swissroll", "pinwheel", "spirals"])
def test_other_toys_have_no_log_density(name: str) -> None:
    assert genlab.load_dataset(name, n=10).log_density is None
