"""The built-in data sets: one `DatasetSpec` per set, the single place for its name, description and
options. A new built-in set is one loader function (anywhere under `genlab.data`) and one entry below;
the loader is imported only when the set is loaded, so listing them stays instant.

A loader is called as `loader(spec, options, test_fraction, seed) -> Dataset`, with the options already
checked and coerced against `spec.options`; it ends in `make_dataset`, like every file loader.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from genlab.data.dataset import OptionSpec

__all__ = ["DATASETS", "DEFAULT_N", "DatasetSpec"]

DEFAULT_N = 10_000


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    loader: str  # "module:function"
    options: OptionSpec = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # fixed facts for the loader (e.g. which toy)

    def load_fn(self) -> Callable[..., Any]:
        module, fn = self.loader.split(":")
        return getattr(importlib.import_module(module), fn)


_TOY = "genlab.data.toys:load_toy"
_SK = "genlab.data.builtin:load_sklearn_set"
_N = {"n": (int, DEFAULT_N)}

DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec("moons", "two interleaved half circles (2-D)", _TOY, {**_N, "noise": (float, 0.1)},
                    {"fn": "moons"}),
        DatasetSpec("circles", "two concentric circles (2-D)", _TOY, {**_N, "noise": (float, 0.08)},
                    {"fn": "circles"}),
        DatasetSpec("8gaussians", "8 Gaussians on a circle (2-D, exact log_density)", _TOY, _N,
                    {"fn": "eight_gaussians", "log_density": "eight_gaussians_log_density"}),
        DatasetSpec("checkerboard", "uniform on a 4x4 checkerboard's black squares (2-D, exact log_density)",
                    _TOY, _N, {"fn": "checkerboard", "log_density": "checkerboard_log_density"}),
        DatasetSpec("swissroll", "2-D swiss roll", _TOY, {**_N, "noise": (float, 1.0)}, {"fn": "swissroll"}),
        DatasetSpec("pinwheel", "5-armed pinwheel (2-D)", _TOY, _N, {"fn": "pinwheel"}),
        DatasetSpec("spirals", "two interleaved spirals (2-D)", _TOY, {**_N, "noise": (float, 0.1)},
                    {"fn": "spirals"}),
        DatasetSpec("iris", "150 iris flowers, 4 measurements in cm, 3 species", _SK,
                    params={"fn": "load_iris"}),
        DatasetSpec("wine", "178 wines, 13 chemical measurements, 3 cultivars", _SK,
                    params={"fn": "load_wine"}),
        DatasetSpec(
            "breast-cancer", "569 tumours, 30 cell-nucleus features, malignant/benign", _SK,
            params={"fn": "load_breast_cancer"},
        ),
        DatasetSpec(
            "digits", "1,797 handwritten digits as 1x8x8 images in [0, 1] (pixel/16), labels 0-9", _SK,
            params={"fn": "load_digits", "images": True},
        ),
        DatasetSpec(
            "penguins", "344 Palmer penguins: a table of 3 categories, 4 measurements, a year, missing cells",
            "genlab.data.builtin:load_packaged_table",
            {"types": (tuple, None), "drop": (tuple, None), "target": (str, None)}, {"file": "penguins.csv"},
        ),
        DatasetSpec(
            "tins", "procedural biscuit-tin images (1x32x32 by default), factors height and width",
            "genlab.data.tins:load_tins",
            {**_N, "size": (int, 32), "color": (bool, False), "extra_factors": (bool, False)},
        ),
    ]
}  # fmt: skip
