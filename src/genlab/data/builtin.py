"""Real data sets bundled with scikit-learn (offline): iris, wine, breast-cancer, digits; and the tables
genlab ships itself (`penguins`: the Palmer penguins, MIT licence, PENGUINS-LICENSE beside it).

Vectors keep their own units; `digits` becomes 1x8x8 images in [0, 1] (pixel / 16, so 17 levels
k/16). All carry labels and class names; they are split stratified by label. sklearn is imported
inside the loader, so importing this module stays cheap. Names and descriptions are in `registry.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.data.dataset import make_dataset

__all__ = ["load_packaged_table", "load_sklearn_set"]


def load_sklearn_set(spec: Any, options: dict[str, Any], test_fraction: Any, seed: Any) -> Any:
    """The registry's loader for a scikit-learn set; `spec.params["fn"]` names sklearn's loader and
    `spec.params["images"]` says the set is 8x8 images (digits)."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, spec.params["fn"])()
    labels = np.asarray(bunch.target, dtype=np.int64)
    if spec.params.get("images"):
        x = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
        kind, feature_names = "image", None
    else:
        x = np.asarray(bunch.data, dtype=np.float32)
        kind, feature_names = "vector", [str(f) for f in bunch.feature_names]
    return make_dataset(
        name=spec.name,
        kind=kind,
        x=x,
        labels=labels,
        where=f"dataset {spec.name!r}",
        source=spec.name,
        options=options,
        test_fraction=test_fraction,
        seed=seed,
        class_names=[str(c) for c in bunch.target_names],
        feature_names=feature_names,
    )


def load_packaged_table(spec: Any, options: dict[str, Any], test_fraction: Any, seed: Any) -> Any:
    """The registry's loader for a CSV table shipped inside genlab (`spec.params["file"]`), read like any CSV."""
    from importlib.resources import as_file, files

    from genlab.data.files import FILE_OPTIONS, load_csv

    with as_file(files("genlab.data") / spec.params["file"]) as path:
        d = load_csv(path, {**{k: v for k, (_, v) in FILE_OPTIONS["csv"].items()}, **options})
    return make_dataset(
        name=spec.name, kind=d["kind"], x=d["x"], labels=d.get("labels"), where=f"dataset {spec.name!r}",
        source=spec.name, options=options, test_fraction=test_fraction, seed=seed, table=d.get("table"),
        feature_names=d.get("feature_names"), class_names=d.get("class_names"),
    )  # fmt: skip
