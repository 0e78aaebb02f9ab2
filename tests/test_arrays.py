"""Images kept as stored (`genlab.arrays.ImageArray`): the same values, to the bit, as converting the
whole array, the same fingerprint, no whole conversion when loading, and the same trained weights."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import genlab
from genlab.arrays import ImageArray, chunks


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_values_are_those_of_a_whole_conversion(dtype, top) -> None:
    raw = np.random.default_rng(0).integers(0, int(top) + 1, size=(50, 1, 6, 6)).astype(dtype)
    whole = raw.astype(np.float32) / np.float32(top) if dtype == np.uint8 else (raw / top).astype(np.float32)
    a = ImageArray(raw)
    assert a.shape == (50, 1, 6, 6) and a.dtype == np.float32 and len(a) == 50
    np.testing.assert_array_equal(np.asarray(a), whole)
    np.testing.assert_array_equal(a[3:9], whole[3:9])
    np.testing.assert_array_equal(a[[4, 1, 1]], whole[[4, 1, 1]])
    np.testing.assert_array_equal(a[2, 0], whole[2, 0])
    idx = np.array([7, 3, 40])
    np.testing.assert_array_equal(np.asarray(a.take(idx).take(np.array([2, 0]))), whole[idx][[2, 0]])
    assert a.min() == whole.min() and a.max() == whole.max()
    np.testing.assert_array_equal(a.unique(), np.unique(whole))
    np.testing.assert_array_equal(np.concatenate([b for _, b in chunks(a, 7)]), whole)


def test_a_uint8_file_loads_without_converting_it_whole(tmp_path) -> None:
    raw = np.random.default_rng(1).integers(0, 256, size=(20_000, 28, 28)).astype(np.uint8)  # 15.7 MB
    np.save(tmp_path / "x.npy", raw)
    tracemalloc.start()
    ds = genlab.load_dataset(tmp_path / "x.npy")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(ds.train, ImageArray) and isinstance(ds.train.raw, np.memmap)
    assert peak < 0.5 * raw.nbytes * 4  # far below the 63 MB a float32 copy takes (file memory-mapped)
    # the fingerprint is that of the float32 data a whole conversion would give
    from genlab.data.dataset import fingerprint

    split = {"name": ds.name, "seed": 0, "test_fraction": 0.2, "split": "random"}
    full = {"train": np.asarray(ds.train), "test": np.asarray(ds.test), "y_train": None, "y_test": None,
            "f_train": None, "f_test": None}  # fmt: skip
    assert fingerprint(full, split) == ds.fingerprint


def test_training_on_stored_pixels_equals_training_on_floats(tmp_path) -> None:
    """The engine converts each batch on the device: the weights are those of a fit on float32 data."""
    raw = np.random.default_rng(2).integers(0, 256, size=(200, 1, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "x.npy", raw)
    lazy = genlab.load_dataset(tmp_path / "x.npy")
    dense = genlab.load_dataset(tmp_path / "x.npy")
    dense.train, dense.test = np.asarray(lazy.train), np.asarray(lazy.test)
    kw = {"latent_dim": 2, "channels": (4, 8), "batch_size": 32, "latent_sampler": "prior"}
    a = genlab.make_model("vae", **kw).fit(lazy, budget="15steps", seed=0, progress="off", watch="off")
    b = genlab.make_model("vae", **kw).fit(dense, budget="15steps", seed=0, progress="off", watch="off")
    np.testing.assert_array_equal(a.sample(5, seed=1), b.sample(5, seed=1))
