"""The `tins` data set: determinism, factor ranges, image format, factors visible in the pixels, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

import genlab
from genlab.data.tins import BACKGROUND, HEIGHT_RANGE, WIDTH_RANGE, render_tins


@pytest.fixture(scope="module")
def tins() -> genlab.Dataset:
    return genlab.load_dataset("tins", n=600, seed=0)


def test_format(tins: genlab.Dataset) -> None:
    assert tins.kind == "image" and tins.shape == (1, 32, 32) and tins.name == "tins"
    assert (tins.n_train, tins.n_test) == (480, 120)
    assert tins.train.dtype == np.float32 and tins.train.min() >= 0.0 and tins.train.max() <= 1.0
    assert tins.factor_names == ["height", "width"] and tins.log_density is None
    assert tins.train_factors.shape == (480, 2) and tins.test_factors.shape == (120, 2)
    # the background is plain, so every image's corner pixels are the background
    np.testing.assert_allclose(tins.train[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]], BACKGROUND)
    assert tins.options == {"n": 600, "size": 32, "color": False, "extra_factors": False}


def test_deterministic_from_seed(tins: genlab.Dataset) -> None:
    again = genlab.load_dataset("tins", n=600, seed=0)
    np.testing.assert_array_equal(again.train, tins.train)
    np.testing.assert_array_equal(again.train_factors, tins.train_factors)
    assert again.fingerprint == tins.fingerprint
    other = genlab.load_dataset("tins", n=600, seed=1)
    assert not np.array_equal(other.train_factors, tins.train_factors)
    assert other.fingerprint != tins.fingerprint
    # the images are a function of the factors alone
    np.testing.assert_allclose(render_tins(tins.test_factors), tins.test, atol=1e-6)


def test_factor_ranges(tins: genlab.Dataset) -> None:
    f = np.concatenate([tins.train_factors, tins.test_factors])
    for j, (lo, hi) in enumerate((HEIGHT_RANGE, WIDTH_RANGE)):
        assert f[:, j].min() >= lo and f[:, j].max() <= hi
        assert f[:, j].min() < lo + 0.02 and f[:, j].max() > hi - 0.02  # uniform over the whole range
    assert abs(np.corrcoef(f.T)[0, 1]) < 0.15  # drawn independently


def _extent(mask: np.ndarray, axis: int) -> np.ndarray:
    """Number of rows (axis=2) or columns (axis=1) with any tin pixel, per image."""
    return mask.any(axis=axis).sum(-1)


@pytest.mark.parametrize("size", [32, 48])
def test_factors_visible_in_pixels(size: int) -> None:
    ds = genlab.load_dataset("tins", n=400, size=size, test_fraction=0.0, seed=2)
    mask = ds.train[:, 0] > BACKGROUND + 0.1
    height_px, width_px = _extent(mask, 2), _extent(mask, 1)
    f = ds.train_factors
    assert np.corrcoef(height_px, f[:, 0])[0, 1] > 0.95
    assert np.corrcoef(width_px, f[:, 1])[0, 1] > 0.95
    # and in the documented units (a fraction of the frame): the mask is symmetric, so within 2 pixels
    assert np.abs(height_px - f[:, 0] * size).max() <= 2.0
    assert np.abs(width_px - f[:, 1] * size).max() <= 2.0
    # inside the frame, centred horizontally
    assert not mask[:, [0, -1]].any() and not mask[:, :, [0, -1]].any()
    cols = np.arange(size) + 0.5
    centre = (mask.any(1) * cols).sum(1) / mask.any(1).sum(1)
    np.testing.assert_allclose(centre, size / 2, atol=0.51)


def test_color_and_extra_factors() -> None:
    ds = genlab.load_dataset("tins", n=300, color="true", extra_factors="true", seed=3)
    assert ds.shape == (3, 32, 32) and ds.factor_names == ["height", "width", "pattern", "hue"]
    f = ds.train_factors
    assert set(np.unique(f[:, 2])) == {0.0, 1.0, 2.0, 3.0}
    assert f[:, 3].min() >= 0 and f[:, 3].max() < 1
    # the hue is the body's colour: the brightest channel at the body's centre follows it
    x = ds.train
    centre = x[:, :, 20, 16]  # below the lid, middle of the body for every tin
    dominant = centre.argmax(1)
    hue = f[:, 3]
    plain = f[:, 2] == 0  # no stripe can cover the pixel
    expect = np.select([(hue < 1 / 6) | (hue >= 5 / 6), hue < 1 / 2], [0, 1], 2)
    near_edge = np.min(np.abs(hue[:, None] - np.array([1 / 6, 1 / 2, 5 / 6, 0, 1])), 1) < 0.06
    ok = plain & ~near_edge
    assert ok.sum() > 20 and np.mean(dominant[ok] == expect[ok]) > 0.95
    gray = genlab.load_dataset("tins", n=50, extra_factors=True)
    assert gray.factor_names == ["height", "width", "pattern"] and gray.shape == (1, 32, 32)


def test_pattern_draws_stripes() -> None:
    """Count the bright bands down the body's centre line: one per stripe."""
    size = 64
    f = np.array([[0.8, 0.6, k] for k in range(4)] * 2 + [[0.5, 0.4, k] for k in range(4)])
    x = render_tins(f, size=size)[:, 0, :, size // 2 - 3]  # a column left of centre, (n, size)
    plain = render_tins(f[:, :2], size=size)[:, 0, :, size // 2 - 3]
    brighter = x > plain + 0.1
    bands = (np.diff(brighter.astype(int), axis=1) == 1).sum(1)
    np.testing.assert_array_equal(bands, f[:, 2])


def test_bad_options() -> None:
    with pytest.raises(
        genlab.DataError, match="unknown option.*'hue'.*valid options: n, size, color, extra_factors"
    ):
        genlab.load_dataset("tins", hue=0.5)
    with pytest.raises(genlab.DataError, match="size must be at least 8"):
        genlab.load_dataset("tins", n=10, size=4)


def test_render_speed() -> None:
    """2,000 images at 32x32 in well under 2 s of CPU (typically ~0.1 s); generous for a shared machine."""
    f = np.column_stack([np.full(2000, 0.6), np.full(2000, 0.5)])
    start = time.process_time()
    x = render_tins(f, size=32)
    assert x.shape == (2000, 1, 32, 32)
    assert time.process_time() - start < 2.0
