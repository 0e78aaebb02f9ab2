"""Dataset record, split, fingerprint, option coercion, the scikit-learn sets, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import genlab
from genlab.data import coerce_options, dataset_from_json, list_datasets
from genlab.data.dataset import fingerprint, n_test_for, split_indices


def test_list_datasets_names_every_builtin() -> None:
    names = list_datasets()
    expected = ["moons", "circles", "8gaussians", "checkerboard", "swissroll", "pinwheel", "spirals",
                "iris", "wine", "breast-cancer", "digits", "penguins", "tins"]  # fmt: skip
    assert list(names) == expected
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(genlab.DataError) as e:
        genlab.load_dataset("mons")
    msg = str(e.value)
    assert "'mons'" in msg and "did you mean 'moons'" in msg
    assert all(name in msg for name in list_datasets())


@pytest.mark.parametrize(
    ("name", "shape", "kind", "n", "n_classes"),
    [
        ("iris", (4,), "vector", 150, 3),
        ("wine", (13,), "vector", 178, 3),
        ("breast-cancer", (30,), "vector", 569, 2),
        ("digits", (1, 8, 8), "image", 1797, 10),
    ],
)
def test_sklearn_sets(name: str, shape: tuple, kind: str, n: int, n_classes: int) -> None:
    ds = genlab.load_dataset(name)
    assert ds.shape == shape and ds.kind == kind
    assert ds.n_train + ds.n_test == n and ds.n_test == round(0.2 * n)
    assert ds.train.dtype == np.float32 and ds.train_labels.dtype == np.int64
    assert len(ds.class_names) == n_classes
    assert set(np.unique(ds.train_labels)) == set(range(n_classes))
    assert ds.split == "stratified" and ds.log_density is None
    # stratified: each class's share of the test set is its share of the data, within one observation
    all_labels = np.concatenate([ds.train_labels, ds.test_labels])
    expected = np.bincount(all_labels) * ds.n_test / n
    assert np.all(np.abs(np.bincount(ds.test_labels, minlength=n_classes) - expected) <= 1)


def test_digits_are_sixteenths_in_unit_interval() -> None:
    ds = genlab.load_dataset("digits")
    x = np.concatenate([ds.train, ds.test])
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x * 16, np.round(x * 16), atol=1e-5)
    assert len(np.unique(np.round(x * 16))) == 17


def test_vectors_keep_their_units() -> None:
    from sklearn.datasets import load_iris

    ds = genlab.load_dataset("iris", test_fraction=0.0)
    assert ds.n_test == 0 and ds.test.shape == (0, 4)
    raw = load_iris().data.astype(np.float32)
    # same rows, shuffled: compare sorted row sets
    np.testing.assert_array_equal(np.sort(ds.train, axis=0), np.sort(raw, axis=0))
    assert ds.feature_names[0] == "sepal length (cm)"


def test_split_determinism_and_fingerprint() -> None:
    a = genlab.load_dataset("wine", seed=5)
    b = genlab.load_dataset("wine", seed=5)
    c = genlab.load_dataset("wine", seed=6)
    d = genlab.load_dataset("wine", seed=5, test_fraction=0.3)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    assert not np.array_equal(a.test, c.test)
    assert len({a.fingerprint, c.fingerprint, d.fingerprint}) == 3
    # different seeds give different test sets but always partition the same data
    rows = lambda ds: sorted(map(tuple, np.concatenate([ds.train, ds.test]).tolist()))  # noqa: E731
    assert rows(a) == rows(c)


def test_split_indices_partition() -> None:
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    for lab in (None, labels):
        tr, te = split_indices(100, 0.25, seed=1, labels=lab)
        assert len(te) == 25 and len(tr) == 75
        assert sorted(np.concatenate([tr, te]).tolist()) == list(range(100))
    tr, te = split_indices(100, 0.25, seed=1, labels=labels)
    assert np.bincount(labels[te]).tolist() == [13, 7, 5]  # quotas 12.5, 7.5, 5 -> largest remainder
    # small sets: at least one test observation, always two to train on
    assert [n_test_for(n, 0.2) for n in (2, 3, 4, 10)] == [0, 1, 1, 2]
    assert n_test_for(10, 0.0) == 0


def test_fingerprint_is_content_and_params() -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    f = fingerprint({"train": x}, {"seed": 0})
    assert f == fingerprint({"train": x.copy()}, {"seed": 0})
    assert f == fingerprint({"train": x.astype(">f4")}, {"seed": 0})  # byte order does not matter
    assert f != fingerprint({"train": x}, {"seed": 1})
    y = x.copy()
    y[3, 1] += 1
    assert f != fingerprint({"train": y}, {"seed": 0})
    assert f != fingerprint({"train": x.reshape(3, 4)}, {"seed": 0})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_fraction": 1.0}, r"test_fraction must lie in \[0, 1\)"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"test_fraction": "0.2"}, "test_fraction must be a number"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_split_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(genlab.DataError, match=match):
        genlab.load_dataset("iris", **kwargs)
    with pytest.raises(genlab.DataError, match=match):
        genlab.load_dataset("moons", n=20, **kwargs)


def test_coerce_options() -> None:
    spec = {"n": (int, 10), "noise": (float, 0.1), "color": (bool, None), "key": (str, None)}
    assert coerce_options({}, spec, "x") == {"n": 10, "noise": 0.1, "color": None, "key": None}
    got = coerce_options({"n": "500", "noise": "1e-2", "color": "TRUE", "key": "x_train"}, spec, "x")
    assert got == {"n": 500, "noise": 0.01, "color": True, "key": "x_train"}
    assert coerce_options({"color": "false", "n": 7.0, "noise": 2}, spec, "x")["color"] is False
    assert coerce_options({"color": "none"}, spec, "x")["color"] is None
    for bad in ({"n": "1.5"}, {"n": True}, {"noise": "abc"}, {"color": "maybe"}, {"key": 3}):
        with pytest.raises(genlab.DataError, match=f"where: option {next(iter(bad))}="):
            coerce_options(bad, spec, "where")
    with pytest.raises(genlab.DataError, match="unknown option.*'size'.*valid options: n, noise, color, key"):
        coerce_options({"size": 3}, spec, "x")


def test_repr_and_json_roundtrip() -> None:
    ds = genlab.load_dataset("checkerboard", n="300", seed=2)
    assert repr(ds) == "Dataset('checkerboard', kind='vector', shape=(2,), n_train=240, n_test=60)"
    d = json.loads(json.dumps(ds.to_json()))  # JSON-able, no arrays
    assert d["source"] == "checkerboard" and d["options"] == {"n": 300}
    assert (d["seed"], d["test_fraction"], d["n_train"], d["n_test"]) == (2, 0.2, 240, 60)
    assert d["kind"] == "vector" and d["shape"] == [2] and d["fingerprint"] == ds.fingerprint
    again = dataset_from_json(d)
    np.testing.assert_array_equal(again.test, ds.test)
    d["fingerprint"] = "0" * 16
    with pytest.raises(genlab.DataError, match="no longer matches its fingerprint"):
        dataset_from_json(d)
    with pytest.raises(genlab.DataError, match="lacks source"):
        dataset_from_json({"options": {}, "fingerprint": "", "seed": 0, "test_fraction": 0.2})


def test_dataset_feeds_models_base() -> None:
    from genlab.models.base import as_fit_data

    fd = as_fit_data(genlab.load_dataset("digits"))
    assert fd.shape == (1, 8, 8) and fd.kind == "image" and fd.labels is not None


def test_import_is_light() -> None:
    code = (
        "import sys, genlab, genlab.data; genlab.load_dataset('moons', n=10); "
        "print([m for m in ('torch', 'sklearn', 'PIL', 'scipy', 'lightning') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
