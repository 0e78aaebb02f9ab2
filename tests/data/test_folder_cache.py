"""Big image folders are decoded once into a uint8 file in the cache and memory-mapped: a second load
reads nothing again, a changed folder gets a new cache, and training reads batches from the file (the
weights equal those of training on the same pixels in memory)."""

from __future__ import annotations

import numpy as np
from PIL import Image

import genlab
from genlab.arrays import ImageArray


def make_folder(root, n_per_class: int = 30) -> None:
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for k in range(n_per_class):
            Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(root / cls / f"{k:03d}.png")


def test_cached_folder_is_memory_mapped_and_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    make_folder(tmp_path / "imgs")
    ds = genlab.load_dataset(tmp_path / "imgs", cache=True)
    assert isinstance(ds.train, ImageArray) and isinstance(ds.train.raw, np.memmap)
    assert (
        ds.shape == (1, 10, 10) and ds.class_names == ["cats", "dogs"] and len(ds.train) + len(ds.test) == 60
    )
    direct = genlab.load_dataset(tmp_path / "imgs", cache=False)  # the same pixels, decoded in memory
    np.testing.assert_allclose(np.asarray(ds.train), np.asarray(direct.train), atol=1 / 255)
    cached = list((tmp_path / "cache" / "folders").glob("*.npy"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = genlab.load_dataset(tmp_path / "imgs", cache=True)
    assert again.fingerprint == ds.fingerprint and cached[0].stat().st_mtime_ns == mtime  # not decoded again
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "imgs" / "cats" / "new.png")
    genlab.load_dataset(tmp_path / "imgs", cache=True)
    assert len(list((tmp_path / "cache" / "folders").glob("*.npy"))) == 2  # a changed folder: a new cache


def test_training_streams_batches_from_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    make_folder(tmp_path / "imgs")
    ds = genlab.load_dataset(tmp_path / "imgs", cache=True)
    dense = genlab.load_dataset(tmp_path / "imgs", cache=True)
    dense.train, dense.test = np.asarray(ds.train), np.asarray(ds.test)
    kw = {"latent_dim": 2, "channels": (4, 8), "batch_size": 16, "latent_sampler": "prior"}
    a = genlab.make_model("vae", **kw).fit(ds, budget="12steps", seed=0, progress="off", watch="off")
    b = genlab.make_model("vae", **kw).fit(dense, budget="12steps", seed=0, progress="off", watch="off")
    np.testing.assert_array_equal(a.sample(4, seed=1), b.sample(4, seed=1))
