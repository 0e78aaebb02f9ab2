"""The one interface every model family implements (scikit-learn style).

`__init__` only stores hyperparameters; `fit` sets fitted state in attributes ending in `_`; every
other public method raises `NotFittedError` before `fit`. A family overrides the underscore hooks
(`_check`, `_fit`, `_sample`, `_log_prob`, `_encode`, `_decode`, `_get_state`, `_set_state`); the
public methods here validate input and output once, for all families. `check(data)` runs a family's
hyperparameter checks against the data without fitting, so a caller can refuse a bad request before
it writes anything.

Conditioning (docs/conditional.md): every family takes the hyperparameter `conditional` (False, True,
"labels" or "factors"). A conditional fit reads the data set's labels (or its continuous factors, e.g.
tins' height and width); `sample(n, labels=...)` / `sample(n, factors=...)` asks for them, and the hooks
then receive `cond=`: int64 class indices (n,) or float32 factor rows (n, F). A family lists what it
conditions on in `conditions`; `per_class = True` families (the baselines) are fitted once per class
here, by the shared machinery, and need no conditioning code of their own.
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
from genlab.models.sharding import draw_in_chunks

__all__ = [
    "CONDITIONS",
    "FitData",
    "GenerativeModel",
    "as_fit_data",
    "check_array",
    "resolve_seed",
]  # check_array: genlab.checks

#: what a family may condition on
CONDITIONS = ("labels", "factors")
#: training factor rows kept with a factor-conditional model, to draw conditions when none are given
MAX_FACTOR_ROWS = 50_000


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
    test_labels: np.ndarray | None = None
    factors: np.ndarray | None = None  # (N, F) continuous generating factors (tins), where known
    test_factors: np.ndarray | None = None
    class_names: list[str] | None = None
    factor_names: list[str] | None = None
    # the condition of a conditional fit, row for row with train/test (int64 labels or float32 factors);
    # the training engine hands it to `training_step` beside each batch
    cond: np.ndarray | None = None
    test_cond: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    def blocks(self) -> list[Any]:
        """The encoded columns by type (`genlab.data.table.Block`); plain vectors are all numeric."""
        from genlab.data.table import Block

        if self.table is not None:
            return self.table.blocks()
        return [Block(f"x{j}", "numeric", j, j + 1) for j in range(self.dim)]


def as_fit_data(data: Any, labels: Any = None) -> FitData:
    """Accept a `Dataset`, an array of shape (N, D) / (N, C, H, W), or a table (a pandas DataFrame or a
    dict of columns: encoded by a `TableCodec` inferred from it, all rows used for training). `labels`:
    class indices (N,) of an array's rows (a Dataset brings its own)."""
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
        fd.test_labels = getattr(data, "test_labels", None) if test is not None else None
        fd.factors = getattr(data, "train_factors", None)
        fd.test_factors = getattr(data, "test_factors", None) if test is not None else None
        fd.class_names = getattr(data, "class_names", None)
        fd.factor_names = getattr(data, "factor_names", None)
    else:
        train = check_array(data, what="training data")
        fd = FitData(train, None, tuple(train.shape[1:]), "image" if train.ndim == 4 else "vector")
    if labels is not None:
        y = np.asarray(labels)
        if y.shape != (len(fd.train),) or y.dtype.kind not in "iub" or (len(y) and y.min() < 0):
            raise DataError(
                f"labels: need {len(fd.train)} non-negative integer class indices, one per training row, "
                f"got shape {y.shape} of {y.dtype}"
            )
        fd.labels, fd.test_labels = y.astype(np.int64), None
        fd.class_names = None
    if len(fd.train) < 2:
        raise DataError(f"training data: need at least 2 observations, got {len(fd.train)}")
    return fd


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise GenlabError(f"n must be a positive integer, got {n!r}")
    return int(n)


def _class_names(data: FitData) -> list[str]:
    """The classes of labelled data: its own names, else "0".."K-1"."""
    k = int(np.max(data.labels)) + 1 if len(data.labels) else 0
    names = list(data.class_names or [])
    if len(names) < k:
        names += [str(j) for j in range(len(names), k)]
    return [str(c) for c in names]


def _child_seed(seed: int, k: int) -> int:
    """An independent seed for part `k` (a class) of a fit or a draw seeded by `seed`."""
    return int(np.random.SeedSequence([int(seed), int(k)]).generate_state(1)[0])


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
    #: What the family can condition on (`conditional=...`): a subset of CONDITIONS.
    conditions: ClassVar[tuple[str, ...]] = ()
    #: Conditional on labels by one model per class (fitted, sampled, saved by the shared machinery).
    per_class: ClassVar[bool] = False

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
    def check(self, data: Any, *, labels: Any = None) -> GenerativeModel:
        """Raise the GenlabError `fit(data)` would raise first for bad hyperparameters (and a conditional
        model on data without labels or factors), without fitting."""
        fd = as_fit_data(data, labels)
        self._condition_mode(fd)
        self._check(fd)
        return self

    def fit(
        self,
        data: Any,
        *,
        budget: str | Budget | None = None,
        seed: int = 0,
        labels: Any = None,
        **options: Any,
    ) -> GenerativeModel:
        """Fit to a Dataset or an array (N, D) / (N, C, H, W). `budget` is ignored by closed-form families.
        `labels`: class indices of an array's rows, for a conditional model (a Dataset brings its own)."""
        fd = as_fit_data(data, labels)
        seed = resolve_seed(seed)
        budget = parse_budget(budget)
        mode = self._condition_mode(fd)
        self._check(fd)
        self._set_condition(fd, mode)
        self.shape_ = fd.shape
        self.kind_ = fd.kind
        self.table_ = fd.table
        try:
            if mode == "labels" and self.per_class:
                self._fit_per_class(fd, budget=budget, seed=seed, **options)
            else:
                self._fit(fd, budget=budget, seed=seed, **options)
        except BaseException:
            del self.shape_  # a failed fit leaves the model unfitted
            raise
        return self

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Any = None,
        factors: Any = None,
        return_labels: bool = False,
    ) -> Any:
        """Draw `n` observations, shape (n, *shape), float32, in the data's own space. A model fitted on
        a table returns a pandas DataFrame with the table's columns, dtypes and categories.

        A label-conditional model takes `labels`: class indices (n,), one class (an index or a name such
        as "Sandal"), or None (classes drawn at their training frequencies, from `seed`). A
        factor-conditional model takes `factors`: rows (n, F) or (F,), or a dict {name: value} (the other
        factors drawn from the training rows), or None. `return_labels=True` returns (x, the labels or
        factor rows used)."""
        x, c = self._draw(n, seed, labels, factors)
        x = x if self.table is None else self.table.decode(x)
        return (x, c) if return_labels else x

    def sample_encoded(
        self, n: int, *, seed: int | None = None, labels: Any = None, factors: Any = None
    ) -> np.ndarray:
        """`sample` as the family draws it: float32 (n, *shape); for a table, its encoded rows."""
        return self._draw(n, seed, labels, factors)[0]

    def sample_labels(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """The labels (int64 (n,)) or factor rows (float32 (n, F)) that `sample(n, seed=seed)` draws when
        it is given none; `sample(..., return_labels=True)` returns the same beside the samples."""
        self._check_fitted("sample_labels")
        if not self.conditional_mode:
            raise GenlabError(f"{self.name}: this model is not conditional; it draws no labels")
        return self._condition_for(_check_n(n), resolve_seed(seed), None, None)

    def _draw(self, n: Any, seed: int | None, labels: Any, factors: Any) -> tuple[np.ndarray, Any]:
        self._check_fitted("sample")
        n = _check_n(n)
        check_fits(4.0 * n * int(np.prod(self.shape_)), f"{self.name}.sample(n={n})",
                   hint="draw fewer samples at a time")  # fmt: skip
        seed = resolve_seed(seed)
        cond = self._condition_for(n, seed, labels, factors)
        x, cond = draw_in_chunks(self, n, seed, cond)  # chunk i from chunk_seed(seed, i); maybe shared
        return x.reshape(n, *self.shape_), cond

    def _sample_block(self, n: int, seed: int, cond: np.ndarray | None) -> np.ndarray:
        """One chunk of a draw (see `genlab.models.sharding`): n rows from `seed` with conditions `cond`."""
        if cond is None:
            return self._sample(n, seed)
        if self.conditional_mode == "labels" and self.per_class:
            return self._sample_per_class(n, seed, cond)
        return self._sample(n, seed, cond=cond)

    @property
    def table(self) -> Any:
        """The `TableCodec` of the table the model was fitted on, or None."""
        return getattr(self, "table_", None)

    def log_prob(self, x: Any, *, labels: Any = None, factors: Any = None) -> np.ndarray:
        """Log density (natural log) of each observation in the data's own space, shape (n,). A table
        model takes rows of its table (a DataFrame; the density is of their encoding) or encoded rows.
        A conditional model gives log p(x | labels) (or factors); a label-conditional one given no
        labels gives the marginal log p(x) = log sum_k p(k) p(x | k), with p(k) the training shares."""
        self._check_fitted("log_prob")
        if self.log_prob_kind is None:
            raise NotSupported(self._no_log_prob_message())
        if self.table is not None and not isinstance(x, np.ndarray):
            from genlab.data.table import is_frame

            if is_frame(x):
                x = self.table.encode(x, where="log_prob input")
        x = check_array(x, what="log_prob input", shape=self.shape_)
        mode = self.conditional_mode
        if not mode:
            self._no_condition(labels, factors, "log_prob")
            return np.asarray(self._log_prob(x), dtype=np.float64).reshape(len(x))
        if mode == "labels" and labels is None:
            if factors is not None:
                self._no_condition(None, factors, "log_prob")
            log_w = np.log(np.maximum(self.class_counts_, 1e-300) / max(sum(self.class_counts_), 1))
            per = [self._cond_log_prob(x, np.full(len(x), k, np.int64)) + log_w[k]
                   for k in range(self.n_classes_) if self.class_counts_[k] > 0]  # fmt: skip
            from scipy.special import logsumexp

            return logsumexp(np.stack(per), axis=0)
        cond = self._condition_given(len(x), labels, factors, "log_prob")
        return self._cond_log_prob(x, cond)

    def _cond_log_prob(self, x: np.ndarray, cond: np.ndarray) -> np.ndarray:
        if self.conditional_mode == "labels" and self.per_class:
            out = np.zeros(len(x))
            for k in np.unique(cond):
                out[cond == k] = self.parts_[int(k)]._log_prob(x[cond == k])
            return out
        return np.asarray(self._log_prob(x, cond=cond), dtype=np.float64).reshape(len(x))

    def encode(self, x: Any, *, labels: Any = None, factors: Any = None) -> np.ndarray:
        """Map observations to latent points, shape (n, latent_dim); a conditional model needs the
        observations' labels (or factors)."""
        self._check_fitted("encode")
        self._require_latent("encode")
        x = check_array(x, what="encode input", shape=self.shape_)
        if not self.conditional_mode:
            self._no_condition(labels, factors, "encode")
            return np.asarray(self._encode(x), dtype=np.float32).reshape(len(x), -1)
        cond = self._condition_given(len(x), labels, factors, "encode")
        return np.asarray(self._encode(x, cond=cond), dtype=np.float32).reshape(len(x), -1)

    def decode(self, z: Any, *, labels: Any = None, factors: Any = None) -> np.ndarray:
        """Map latent points (n, latent_dim) back to observations (n, *shape); a conditional model needs
        the labels (or factors) to decode with."""
        self._check_fitted("decode")
        self._require_latent("decode")
        z = check_array(z, what="decode input", shape=(self.latent_dim,))
        if not self.conditional_mode:
            self._no_condition(labels, factors, "decode")
            return np.asarray(self._decode(z), dtype=np.float32).reshape(len(z), *self.shape_)
        cond = self._condition_given(len(z), labels, factors, "decode")
        return np.asarray(self._decode(z, cond=cond), dtype=np.float32).reshape(len(z), *self.shape_)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write `config.json` and `model.safetensors` into the folder `path` (never pickle)."""
        from genlab.models.persist import save_model

        self._check_fitted("save")
        return save_model(self, path, overwrite=overwrite)

    # ------------------------------------------------------------------ conditioning
    @property
    def conditional_mode(self) -> str | bool:
        """False, "labels" or "factors": what the fitted model conditions on (`conditional_`)."""
        return getattr(self, "conditional_", False) or False

    def _condition_mode(self, data: FitData) -> str | None:
        """What `conditional` asks for on this data: None, "labels" or "factors" (True: labels when the
        data has them, else factors); GenlabError when the family or the data cannot do it."""
        c = getattr(self, "conditional", False)
        if c is None or c is False:
            return None
        if c is not True and c not in CONDITIONS:
            raise GenlabError(
                f"{self.name}: conditional must be false, true, 'labels' or 'factors', got {c!r}"
            )
        if not self.conditions:
            raise NotSupported(
                f"{self.name}: conditional=true is not supported by this family; `genlab models` lists "
                "the families that condition"
            )
        what = f"data set {getattr(data.dataset, 'name', '?')!r}" if data.dataset is not None else "the data"
        if c is True:
            c = "labels" if data.labels is not None else "factors" if data.factors is not None else None
            if c is None:
                raise DataError(
                    f"{self.name}: conditional=true needs labels (or factors, as tins has), and {what} has "
                    "none; load labelled data (e.g. a CSV's label= column, an npz 'labels' array) or fit "
                    "with conditional=false"
                )
        if c not in self.conditions:
            raise NotSupported(f"{self.name}: conditions on {' or '.join(self.conditions)} only, not on {c}")
        if c == "labels" and data.labels is None:
            raise DataError(f"{self.name}: conditional={c!r} needs labels, and {what} has none")
        if c == "factors" and data.factors is None:
            raise DataError(
                f"{self.name}: conditional={c!r} needs generating factors (as tins has), and {what} has none"
            )
        if c == "labels" and self.per_class:
            counts = np.bincount(np.asarray(data.labels, np.int64))
            names = _class_names(data)
            low = [k for k in range(len(names)) if k >= len(counts) or counts[k] < 2]
            if low:
                k = low[0]
                raise DataError(
                    f"{self.name}: conditional fits one model per class, and class {names[k]!r} has "
                    f"{counts[k] if k < len(counts) else 0} training observations (needs at least 2)"
                )
        return c

    def _set_condition(self, data: FitData, mode: str | None) -> None:
        """Record the condition (fitted attributes) and hand its training rows to the family (`data.cond`)."""
        self.conditional_ = mode or False
        if mode == "labels":
            y = np.asarray(data.labels, np.int64)
            self.class_names_ = _class_names(data)
            self.n_classes_ = len(self.class_names_)
            self.class_counts_ = [int(c) for c in np.bincount(y, minlength=self.n_classes_)]
            data.cond = y
            data.test_cond = None if data.test_labels is None else np.asarray(data.test_labels, np.int64)
        elif mode == "factors":
            f = np.asarray(data.factors, np.float32)
            self.factor_names_ = list(data.factor_names or [f"f{j}" for j in range(f.shape[1])])
            self.factor_rows_ = f[:MAX_FACTOR_ROWS].copy()
            data.cond = f
            data.test_cond = None if data.test_factors is None else np.asarray(data.test_factors, np.float32)

    def _condition_meta(self) -> tuple[dict[str, np.ndarray], dict[str, Any] | None]:
        """What a saved model keeps of its condition: (arrays, the config's "condition" object)."""
        mode = self.conditional_mode
        if mode == "labels":
            meta = {
                "mode": mode,
                "class_names": list(self.class_names_),
                "class_counts": list(self.class_counts_),
            }
            return {}, meta
        if mode == "factors":
            return {"condition.factor_rows": self.factor_rows_}, {
                "mode": mode,
                "factor_names": list(self.factor_names_),
            }
        return {}, None

    def _restore_condition(self, meta: dict[str, Any] | None, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of `_condition_meta` (a model saved before conditioning existed has no "condition")."""
        mode = (meta or {}).get("mode") or False
        self.conditional_ = mode
        if mode == "labels":
            self.class_names_ = [str(c) for c in meta["class_names"]]
            self.n_classes_ = len(self.class_names_)
            self.class_counts_ = [int(c) for c in meta["class_counts"]]
            if len(self.class_counts_) != self.n_classes_:
                raise ValueError("condition: class_names and class_counts differ in length")
        elif mode == "factors":
            self.factor_names_ = [str(c) for c in meta["factor_names"]]
            self.factor_rows_ = np.asarray(arrays["condition.factor_rows"], np.float32)
            if self.factor_rows_.ndim != 2 or self.factor_rows_.shape[1] != len(self.factor_names_):
                raise ValueError("condition: factor rows do not match the factor names")
        elif mode is not False:
            raise ValueError(f"condition: unknown mode {mode!r}")

    def _no_condition(self, labels: Any, factors: Any, method: str) -> None:
        mode = self.conditional_mode
        if labels is not None and mode != "labels":
            raise GenlabError(
                f"{self.name}.{method}(labels=...): this model is "
                + ("conditioned on factors; pass factors=" if mode == "factors" else
                   "not conditional (fit it with conditional=true on labelled data)")
            )  # fmt: skip
        if factors is not None and mode != "factors":
            raise GenlabError(
                f"{self.name}.{method}(factors=...): this model is "
                + ("conditioned on labels; pass labels=" if mode == "labels" else
                   "not conditional (fit it with conditional='factors' on data with factors)")
            )  # fmt: skip

    def _condition_given(self, n: int, labels: Any, factors: Any, method: str) -> np.ndarray:
        """The condition of `encode`/`decode`/`log_prob`: it must be given (no drawing)."""
        mode = self.conditional_mode
        self._no_condition(
            None if mode == "labels" else labels, None if mode == "factors" else factors, method
        )
        given = labels if mode == "labels" else factors
        if given is None:
            what = "labels" if mode == "labels" else "factors"
            raise GenlabError(
                f"{self.name}.{method}(): this model is conditional; pass {what}= for the {n} rows"
            )
        return self._condition_for(n, 0, labels, factors)

    def _condition_for(self, n: int, seed: int, labels: Any, factors: Any) -> np.ndarray | None:
        """The condition of n draws: None (unconditional), labels int64 (n,) or factor rows float32 (n, F).
        Conditions not given are drawn from a stream of `seed` apart from the family's own."""
        mode = self.conditional_mode
        if not mode:
            self._no_condition(labels, factors, "sample")
            return None
        self._no_condition(
            None if mode == "labels" else labels, None if mode == "factors" else factors, "sample"
        )
        rng = np.random.default_rng([int(seed), 0xC0D])
        if mode == "labels":
            return self._labels_for(n, labels, rng)
        return self._factors_for(n, factors, rng)

    def class_index(self, label: Any) -> int:
        """A class given by index (int, or a string of digits that is no class name) or by name -> index."""
        names = list(self.class_names_)
        if isinstance(label, (str, np.str_)):
            if str(label) in names:
                return names.index(str(label))
            if str(label).strip().lstrip("-").isdigit():
                label = int(str(label).strip())
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool) and 0 <= label < len(names):
            return int(label)
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise GenlabError(
            f"{self.name}: unknown class {label!r}; classes (by index 0-{len(names) - 1} or name): {shown}"
        )

    def _labels_for(self, n: int, labels: Any, rng: np.random.Generator) -> np.ndarray:
        if labels is None:
            p = np.asarray(self.class_counts_, np.float64)
            return rng.choice(self.n_classes_, size=n, p=p / p.sum()).astype(np.int64)
        if isinstance(labels, (int, np.integer, str, np.str_)) and not isinstance(labels, bool):
            return np.full(n, self.class_index(labels), np.int64)
        y = np.asarray(labels)
        if y.shape != (n,):
            raise GenlabError(
                f"{self.name}: labels must be one class or {n} of them (one per row), got shape {y.shape}"
            )
        if y.dtype.kind in "US" or y.dtype == object:
            return np.array([self.class_index(v) for v in y.tolist()], np.int64)
        if y.dtype.kind not in "iu":
            raise GenlabError(f"{self.name}: labels must be class indices or names, got {y.dtype} values")
        bad = (y < 0) | (y >= self.n_classes_)
        if bad.any():
            self.class_index(int(y[np.argmax(bad)]))  # raises, naming the classes
        return y.astype(np.int64)

    def _factors_for(self, n: int, factors: Any, rng: np.random.Generator) -> np.ndarray:
        names, rows = list(self.factor_names_), self.factor_rows_
        base = rows[rng.integers(0, len(rows), n)].astype(np.float32)
        if factors is None:
            return base
        if isinstance(factors, dict):
            for k, v in factors.items():
                if k not in names:
                    raise GenlabError(f"{self.name}: unknown factor {k!r}; factors: {', '.join(names)}")
                try:
                    v = float(v)
                except (TypeError, ValueError):
                    raise GenlabError(f"{self.name}: factor {k}={v!r} must be a number") from None
                if not np.isfinite(v):
                    raise GenlabError(f"{self.name}: factor {k}={v!r} must be finite")
                base[:, names.index(k)] = v
            return base
        f = np.asarray(factors, np.float32)
        if f.shape == (len(names),):
            f = np.broadcast_to(f, (n, len(names)))
        if f.shape != (n, len(names)) or not np.isfinite(f).all():
            raise GenlabError(
                f"{self.name}: factors must be finite rows ({n}, {len(names)}) ({', '.join(names)}), "
                f"one row, or a dict; got shape {f.shape}"
            )
        return np.ascontiguousarray(f)

    # ------------------------------------------------------------------ one model per class (baselines)
    def _part(self) -> GenerativeModel:
        part = type(self)(**{**self.get_params(), "conditional": False})
        part.shape_, part.kind_, part.table_ = self.shape_, self.kind_, self.table_
        return part

    def _fit_per_class(self, data: FitData, *, budget: Budget, seed: int, **options: Any) -> None:
        self.parts_ = []
        for k in range(self.n_classes_):
            rows = np.flatnonzero(data.cond == k)
            sub = FitData(
                np.asarray(data.train[rows], np.float32), None, data.shape, data.kind, table=data.table
            )
            part = self._part()
            part._check(sub)
            part._fit(sub, budget=budget, seed=_child_seed(seed, k), **options)
            self.parts_.append(part)

    def _sample_per_class(self, n: int, seed: int, cond: np.ndarray) -> np.ndarray:
        out = np.zeros((n, int(np.prod(self.shape_))), np.float32)
        for k in np.unique(cond):
            rows = np.flatnonzero(cond == k)
            x = self.parts_[int(k)]._sample(len(rows), _child_seed(seed, int(k)))
            out[rows] = np.asarray(x, np.float32).reshape(len(rows), -1)
        return out

    def _full_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any] | None]:
        """(arrays, state metadata, condition metadata) of a fitted model, for `save`."""
        cond_arrays, cond_meta = self._condition_meta()
        if self.conditional_mode == "labels" and self.per_class:
            arrays, metas = {}, []
            for k, part in enumerate(self.parts_):
                a, m = part._get_state()
                arrays.update({f"class{k}.{name}": v for name, v in a.items()})
                metas.append(m)
            return {**arrays, **cond_arrays}, {"classes": metas}, cond_meta
        arrays, meta = self._get_state()
        return {**arrays, **cond_arrays}, meta, cond_meta

    def _load_full_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], cond_meta: dict[str, Any] | None
    ) -> None:
        """Inverse of `_full_state` (the condition is restored first: networks are built from it)."""
        self._restore_condition(cond_meta, arrays)
        arrays = {k: v for k, v in arrays.items() if not k.startswith("condition.")}
        if self.conditional_mode == "labels" and self.per_class:
            metas = meta["classes"]
            if len(metas) != self.n_classes_:
                raise ValueError(f"{len(metas)} per-class models for {self.n_classes_} classes")
            self.parts_ = []
            for k, m in enumerate(metas):
                prefix = f"class{k}."
                part = self._part()
                part._set_state({a[len(prefix) :]: v for a, v in arrays.items() if a.startswith(prefix)}, m)
                self.parts_.append(part)
            return
        self._set_state(arrays, meta)

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
