"""The one interface every model family implements (scikit-learn style).

`__init__` only stores hyperparameters; `fit` sets fitted state in attributes ending in `_`; every
other public method raises `NotFittedError` before `fit`. A family overrides the underscore hooks
(`_check`, `_fit`, `_sample`, `_log_prob`, `_encode`, `_decode`, `_get_state`, `_set_state`); the
public methods here validate input and output once, for all families. `check(data)` runs a family's
hyperparameter checks against the data without fitting, so a caller can refuse a bad request before
it writes anything.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from genlab.budget import Budget, parse_budget
from genlab.checks import check_array
from genlab.errors import DataError, GenlabError, NotFittedError, NotSupported
from genlab.memory import check_fits

__all__ = [
    "FitData",
    "GenerativeModel",
    "as_fit_data",
    "check_array",
    "resolve_seed",
]  # check_array: genlab.checks


@dataclass
class FitData:
    """What a family sees in `_fit`: float32 arrays shaped (N, *shape). A table arrives encoded (kind
    "table", `table` its `TableCodec`): families that treat columns by type read `blocks()`."""

    train: np.ndarray
    test: np.ndarray | None
    shape: tuple[int, ...]
    kind: str  # "vector", "image" or "table"
    labels: np.ndarray | None = None
    dataset: Any = None  # the Dataset, when one was given
    table: Any = None  # kind "table": the TableCodec

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    def blocks(self) -> list[Any]:
        """The encoded columns by type (`genlab.data.table.Block`); plain vectors are all numeric."""
        from genlab.data.table import Block

        if self.table is not None:
            return self.table.blocks()
        return [Block(f"x{j}", "numeric", j, j + 1) for j in range(self.dim)]


def as_fit_data(data: Any) -> FitData:
    """Accept a `Dataset`, an array of shape (N, D) / (N, C, H, W), or a table (a pandas DataFrame or a
    dict of columns: encoded by a `TableCodec` inferred from it, all rows used for training)."""
    from genlab.data.table import codec_from_frame, is_frame

    if is_frame(data):
        codec, frame = codec_from_frame(data, where="training table")
        train = check_array(codec.encode(frame), what="training table")
        fd = FitData(train, None, tuple(train.shape[1:]), "table", table=codec)
    elif hasattr(data, "train") and hasattr(data, "kind"):
        train = check_array(data.train, what=f"dataset {getattr(data, 'name', '?')!r} train split")
        test = data.test if getattr(data, "test", None) is not None and len(data.test) else None
        if test is not None:
            test = check_array(
                test, what=f"dataset {getattr(data, 'name', '?')!r} test split", shape=train.shape[1:]
            )
        table = getattr(data, "table", None)
        fd = FitData(
            train, test, tuple(train.shape[1:]), data.kind, getattr(data, "train_labels", None), data,
            table=getattr(table, "codec", None),
        )  # fmt: skip
    else:
        train = check_array(data, what="training data")
        fd = FitData(train, None, tuple(train.shape[1:]), "image" if train.ndim == 4 else "vector")
    if len(fd.train) < 2:
        raise DataError(f"training data: need at least 2 observations, got {len(fd.train)}")
    return fd


def resolve_seed(seed: int | None) -> int:
    """An explicit seed is used as is; None draws fresh entropy (never hidden global state)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GenlabError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


class GenerativeModel:
    """Base class of every family. Subclasses declare hyperparameters as keyword arguments of `__init__`."""

    name: ClassVar[str] = ""
    #: "exact", "lower_bound" or None (no `log_prob`).
    log_prob_kind: ClassVar[str | None] = None
    #: What `log_prob` returns, in words (density of continuous data, or a probability mass).
    log_prob_note: ClassVar[str] = "natural-log density in the data's own space"

    # ------------------------------------------------------------------ hyperparameters
    @classmethod
    def _param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for p in inspect.signature(init).parameters.values():
                if (
                    p.name != "self"
                    and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                    and p.name not in names
                ):
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> GenerativeModel:
        valid = self._param_names()
        for k, v in params.items():
            if k not in valid:
                raise GenlabError(f"{self.name}: unknown hyperparameter {k!r}; valid: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fitted state
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "shape_")

    def _check_fitted(self, method: str) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{self.name}.{method}() called before fit(); call fit(data) first")

    @property
    def latent_dim(self) -> int | None:
        """Dimension of the latent space, or None for families without one."""
        return None

    # ------------------------------------------------------------------ public API
    def check(self, data: Any) -> GenerativeModel:
        """Raise the GenlabError `fit(data)` would raise first for bad hyperparameters, without fitting."""
        self._check(as_fit_data(data))
        return self

    def fit(
        self, data: Any, *, budget: str | Budget | None = None, seed: int = 0, **options: Any
    ) -> GenerativeModel:
        """Fit to a Dataset or an array (N, D) / (N, C, H, W). `budget` is ignored by closed-form families."""
        fd = as_fit_data(data)
        seed = resolve_seed(seed)
        budget = parse_budget(budget)
        self._check(fd)
        self.shape_ = fd.shape
        self.kind_ = fd.kind
        self.table_ = fd.table
        try:
            self._fit(fd, budget=budget, seed=seed, **options)
        except BaseException:
            del self.shape_  # a failed fit leaves the model unfitted
            raise
        return self

    def sample(self, n: int, *, seed: int | None = None) -> Any:
        """Draw `n` observations, shape (n, *shape), float32, in the data's own space. A model fitted on
        a table returns a pandas DataFrame with the table's columns, dtypes and categories."""
        x = self.sample_encoded(n, seed=seed)
        return x if self.table is None else self.table.decode(x)

    def sample_encoded(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """`sample` as the family draws it: float32 (n, *shape); for a table, its encoded rows."""
        self._check_fitted("sample")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise GenlabError(f"n must be a positive integer, got {n!r}")
        check_fits(4.0 * int(n) * int(np.prod(self.shape_)), f"{self.name}.sample(n={n})",
                   hint="draw fewer samples at a time")  # fmt: skip
        x = np.asarray(self._sample(int(n), resolve_seed(seed)), dtype=np.float32)
        return x.reshape(int(n), *self.shape_)

    @property
    def table(self) -> Any:
        """The `TableCodec` of the table the model was fitted on, or None."""
        return getattr(self, "table_", None)

    def log_prob(self, x: Any) -> np.ndarray:
        """Log density (natural log) of each observation in the data's own space, shape (n,). A table
        model takes rows of its table (a DataFrame; the density is of their encoding) or encoded rows."""
        self._check_fitted("log_prob")
        if self.log_prob_kind is None:
            raise NotSupported(self._no_log_prob_message())
        if self.table is not None and not isinstance(x, np.ndarray):
            from genlab.data.table import is_frame

            if is_frame(x):
                x = self.table.encode(x, where="log_prob input")
        x = check_array(x, what="log_prob input", shape=self.shape_)
        return np.asarray(self._log_prob(x), dtype=np.float64).reshape(len(x))

    def encode(self, x: Any) -> np.ndarray:
        """Map observations to latent points, shape (n, latent_dim)."""
        self._check_fitted("encode")
        self._require_latent("encode")
        x = check_array(x, what="encode input", shape=self.shape_)
        return np.asarray(self._encode(x), dtype=np.float32).reshape(len(x), -1)

    def decode(self, z: Any) -> np.ndarray:
        """Map latent points (n, latent_dim) back to observations (n, *shape)."""
        self._check_fitted("decode")
        self._require_latent("decode")
        z = check_array(z, what="decode input", shape=(self.latent_dim,))
        return np.asarray(self._decode(z), dtype=np.float32).reshape(len(z), *self.shape_)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write `config.json` and `model.safetensors` into the folder `path` (never pickle)."""
        from genlab.models.persist import save_model

        self._check_fitted("save")
        return save_model(self, path, overwrite=overwrite)

    # ------------------------------------------------------------------ hooks
    def _check(self, data: FitData) -> None:
        """Check hyperparameter values against the data (see `genlab.models.params`); the default checks none."""

    def _fit(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit() (a family hook)")

    def _sample(self, n: int, seed: int) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _sample() (a family hook)")

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        raise NotSupported(self._no_log_prob_message())

    def _encode(self, x: np.ndarray) -> np.ndarray:
        raise NotSupported(f"{self.name} has no encoder; {self._latent_families()}")

    def _decode(self, z: np.ndarray) -> np.ndarray:
        raise NotSupported(f"{self.name} has no decoder; {self._latent_families()}")

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Fitted state as (arrays for safetensors, JSON-able metadata)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _get_state() (a family hook)")

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Inverse of `_get_state`; raise KeyError/ValueError on anything missing or malformed."""
        raise NotImplementedError(f"{type(self).__name__} must implement _set_state() (a family hook)")

    # ------------------------------------------------------------------ messages
    def _no_log_prob_message(self) -> str:
        return f"{self.name} has no log_prob (its density is not available); `genlab models` lists the families with one"

    @staticmethod
    def _latent_families() -> str:
        return "`genlab models` lists the families with a latent space"

    def _require_latent(self, method: str) -> None:
        if self.latent_dim is None:
            raise NotSupported(
                f"{self.name} has no latent space, so no {method}(); {self._latent_families()}"
            )
