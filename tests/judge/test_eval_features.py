"""Feature spaces: standardised vectors, pixels, a seeded random CNN, user networks, and the trained,
cached image extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import genlab
from genlab.errors import DataError, GenlabError
from genlab.judge.features import STATS_KNEE, STATS_WEIGHT, make_extractor, pixel_statistics


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


def test_vectors_auto_are_standardised_with_training_statistics():
    ds = genlab.load_dataset("wine")
    ext = make_extractor("auto", ds)
    f = ext(ds.train)
    assert ext.info["kind"] == "standardised" and f.shape == (len(ds.train), 13)
    np.testing.assert_allclose(f.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(f.std(0), 1, atol=1e-3)
    g = ext(ds.test)  # the test split uses the training statistics, not its own
    np.testing.assert_allclose(g, (ds.test - ds.train.mean(0)) / ds.train.std(0), rtol=1e-3, atol=1e-3)


def test_pixels_are_the_flattened_observations(digits):
    ext = make_extractor("pixels", digits)
    np.testing.assert_array_equal(ext(digits.test[:5]), digits.test[:5].reshape(5, 64))
    assert ext.info == {"kind": "pixels", "dim": 64}


def test_random_cnn_is_seeded_and_needs_images(digits):
    a = make_extractor("random", digits)(digits.test[:20])
    b = make_extractor("random", digits)(digits.test[:20])
    assert a.shape == (20, 64) and np.array_equal(a, b)
    assert a.std() > 0.1
    with pytest.raises(GenlabError, match="needs image data"):
        make_extractor("random", genlab.load_dataset("moons", n=100))


def test_auto_image_features_train_a_classifier_and_cache_it(digits, tmp_path):
    ext = make_extractor("auto", digits, steps=70)
    info = ext.info
    # the network's 64-d embedding beside 16 pixel statistics (issue 14: features that see noise and blur)
    assert info["kind"] == "cnn-classifier+pixel-stats" and info["dim"] == 80 and info["cached"] is False
    assert info["blocks"] == {"embedding": 64, "pixel_stats": 16}
    f = ext(digits.train)
    assert f.shape == (len(digits.train), 80)
    np.testing.assert_allclose(f[:, :64].std(0), 1, atol=1e-3)  # the embedding standardised
    # the statistics standardised, then compressed beyond STATS_KNEE sd: k asinh(z / k), weighted by 1
    assert info["pixel_stats"] == {"weight": STATS_WEIGHT, "knee": STATS_KNEE} == {"weight": 1.0, "knee": 2.0}
    s = pixel_statistics(digits.train).astype(np.float64)
    sd = s.std(0)
    z = (s - s.mean(0)) / np.where(sd > 1e-12, sd, 1.0)
    np.testing.assert_allclose(f[:, 64:], 2.0 * np.arcsinh(z / 2.0), atol=2e-3)
    assert np.abs(f[:, 64:]).max() < 2.0 * np.arcsinh(np.abs(z).max() / 2.0) + 1e-3 < np.abs(z).max()
    assert info["quality"]["test_accuracy"] > 0.85  # learned features that separate digit classes
    files = sorted(p.name.split(".", 1)[1] for p in (tmp_path / "cache" / "extractors").iterdir())
    assert files == ["json", "safetensors", "train-features.safetensors"]  # the network, and train's features
    np.testing.assert_array_equal(ext.train_features(digits), f)  # the memo is the features themselves
    again = make_extractor("auto", digits, steps=70)
    assert again.info["cached"] is True and again.info["quality"] == info["quality"]
    np.testing.assert_array_equal(ext(digits.test[:50]), again(digits.test[:50]))
    np.testing.assert_array_equal(again.train_features(digits), f)  # read back from the cache
    other = genlab.load_dataset("digits", seed=1)  # another split: its own features, not the memo
    np.testing.assert_array_equal(again.train_features(other), again(other.train))
    feats = next((tmp_path / "cache" / "extractors").glob("*.train-features.safetensors"))
    feats.write_bytes(b"damaged")  # a damaged features file is recomputed, not an error
    np.testing.assert_allclose(make_extractor("auto", digits, steps=70).train_features(digits), f, atol=1e-5)

    weights = next(p for p in (tmp_path / "cache" / "extractors").glob("*.safetensors") if p != feats)
    weights.write_bytes(b"not a safetensors file")  # a damaged cache is rebuilt, not an error
    rebuilt = make_extractor("auto", digits, steps=70)
    assert rebuilt.info["cached"] is False
    # training is deterministic: the retrained network gives the very same features
    np.testing.assert_array_equal(ext(digits.test[:50]), rebuilt(digits.test[:50]))


def test_unlabelled_images_get_an_autoencoder(digits):
    class Unlabelled:  # a data set without labels
        kind, train, test, fingerprint = "image", digits.train, digits.test, "unlabelled-digits"

    ext = make_extractor("auto", Unlabelled(), steps=100)
    assert ext.info["kind"] == "cnn-autoencoder+pixel-stats"
    q = ext.info["quality"]
    assert 0 < q["test_mse"] < 0.07 and q["test_r2"] > 0.1  # clearly better than predicting the mean image


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, deprecated in torch 2.10+
def test_user_networks_torchscript_and_module(digits, tmp_path):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 7))
    ext = make_extractor(net, digits)
    assert ext.info["kind"] == "module" and ext.info["dim"] == 7
    with torch.no_grad():
        want = net(torch.from_numpy(digits.test[:9])).numpy()
    np.testing.assert_allclose(ext(digits.test[:9]), want, rtol=1e-6)  # used as given, not standardised

    path = tmp_path / "net.pt"
    torch.jit.script(net).save(str(path))
    ts = make_extractor(str(path), digits)
    assert ts.info["kind"] == "torchscript" and ts.info["dim"] == 7
    np.testing.assert_allclose(ts(digits.test[:9]), want, rtol=1e-6)


def test_bad_feature_choices_are_named(digits, tmp_path):
    with pytest.raises(GenlabError, match="no such file"):
        make_extractor(str(tmp_path / "missing.pt"), digits)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x80\x04junk")
    with pytest.raises(DataError, match="not a TorchScript module"):
        make_extractor(junk, digits)
    with pytest.raises(GenlabError, match="failed on input"):  # a network that does not accept 1x8x8 images
        make_extractor(nn.Linear(3, 2), digits)
