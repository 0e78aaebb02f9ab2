"""Real data sets bundled with scikit-learn (offline): iris, wine, breast-cancer, digits.

Vectors keep their own units; `digits` becomes 1x8x8 images in [0, 1] (pixel / 16, so 17 levels
k/16). All carry labels and class names; `load_dataset` splits them stratified by label.
sklearn is imported inside `load_sklearn`, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SKLEARN_SETS", "load_sklearn"]

#: name -> (sklearn loader function name, one-line description)
SKLEARN_SETS: dict[str, tuple[str, str]] = {
    "iris": ("load_iris", "150 iris flowers, 4 measurements in cm, 3 species"),
    "wine": ("load_wine", "178 wines, 13 chemical measurements, 3 cultivars"),
    "breast-cancer": ("load_breast_cancer", "569 tumours, 30 cell-nucleus features, malignant/benign"),
    "digits": ("load_digits", "1,797 handwritten digits as 1x8x8 images in [0, 1] (pixel/16), labels 0-9"),
}


def load_sklearn(name: str) -> dict[str, Any]:
    """Arrays and names for one scikit-learn set: x, labels, kind, class_names, feature_names."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, SKLEARN_SETS[name][0])()
    labels = np.asarray(bunch.target, dtype=np.int64)
    class_names = [str(c) for c in bunch.target_names]
    if name == "digits":
        x = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
        return {"x": x, "labels": labels, "kind": "image", "class_names": class_names, "feature_names": None}
    x = np.asarray(bunch.data, dtype=np.float32)
    return {
        "x": x,
        "labels": labels,
        "kind": "vector",
        "class_names": class_names,
        "feature_names": [str(f) for f in bunch.feature_names],
    }
