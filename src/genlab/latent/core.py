"""Working in a model's latent space: embed, interpolate, traverse, decode a grid, score factors.

Every function takes a fitted model of a family with a latent space (`genlab.models.models_with("latent")`:
vae, gan, flow, diffusion) and works through its public `encode`/`decode`, so it knows nothing about
the family. A GAN has a decoder (its generator) but no encoder: give it latent points (`latent=True`).

All latent spaces here have a standard normal prior, which sets the defaults: slerp for interpolation,
+-2 prior standard deviations for a grid when no data is given.

A conditional model (`conditional_` "labels" or "factors") encodes and decodes under a condition:
- encoding observations needs *their* condition: `embed(model, x, labels=y)` (or `factors=`); a Dataset
  brings its own (`latent_stats`, `factor_r2`, `condition_of(model, dataset, "test")`);
- decoding latent points (`latent_map`, and `interpolate`/`traverse` of latent points) uses the
  `labels=`/`factors=` given, else `default_condition(model)`: the most frequent training class (the
  lowest index on a tie), or the median training factor row. Factors named in a dict are set, the
  others stay at their medians (`decode_condition`), so every point of a grid shares one condition.
- `interpolate`/`traverse` of observations use `labels=`/`factors=` both to encode the endpoints and
  to decode the path (one condition, or one per pair), so the endpoints are reconstructions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError, NotFittedError, NotSupported

__all__ = [
    "condition_of",
    "decode_condition",
    "default_condition",
    "embed",
    "factor_r2",
    "has_encoder",
    "interpolate",
    "latent_grid",
    "latent_map",
    "latent_stats",
    "lerp",
    "slerp",
    "traverse",
]

#: default span of a latent grid without data, in prior standard deviations
PRIOR_SPAN = 2.0
#: percentiles of encoded data that bound a latent grid when data is given
DATA_PERCENTILES = (2.0, 98.0)


# ----------------------------------------------------------------------------- checks
def _latent_dim(model: Any, what: str) -> int:
    """The model's latent dimension; NotFittedError / NotSupported naming the families with one."""
    if not getattr(model, "is_fitted", False):
        raise NotFittedError(f"{what}: the model is not fitted; call fit(data) first")
    d = model.latent_dim
    if d is None:
        from genlab.models import models_with

        raise NotSupported(
            f"{what}: {model.name} has no latent space; families with one: {', '.join(models_with('latent'))}"
        )
    return int(d)


def _observations(model: Any, x: Any, what: str) -> tuple[np.ndarray, bool]:
    """x as a batch (n, *shape) and whether it was a single observation of shape `shape`."""
    from genlab.checks import check_array

    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{what}: cannot convert to a float array ({e})") from None
    single = tuple(arr.shape) == tuple(model.shape_)
    return check_array(arr[None] if single else arr, what=what, shape=tuple(model.shape_)), single


def _latents(z: Any, d: int, what: str) -> tuple[np.ndarray, bool]:
    """z as a batch (n, d) and whether it was a single point of shape (d,)."""
    from genlab.checks import check_array

    try:
        arr = np.asarray(z, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{what}: cannot convert to a float array ({e})") from None
    single = arr.shape == (d,)
    return check_array(arr[None] if single else arr, what=what, shape=(d,)), single


# ----------------------------------------------------------------------------- conditions
def _mode(model: Any) -> str | bool:
    return getattr(model, "conditional_", False) or False


def default_condition(model: Any) -> dict[str, Any]:
    """The condition a conditional model decodes under when none is given: {"labels": the most frequent
    training class (lowest index on a tie)}, {"factors": the median training factor row (F,)}, or {}
    for an unconditional model."""
    mode = _mode(model)
    if mode == "labels":
        return {"labels": int(np.argmax(np.asarray(model.class_counts_)))}
    if mode == "factors":
        return {"factors": np.median(np.asarray(model.factor_rows_, np.float32), axis=0).astype(np.float32)}
    return {}


def decode_condition(model: Any, *, labels: Any = None, factors: Any = None) -> dict[str, Any]:
    """`decode`'s condition keywords for `labels=`/`factors=` as the latent functions take them.

    Unconditional model: {} (labels or factors given are an error). Label-conditional: one class (an
    index or a name) -> {"labels": index}; class indices (n,) pass through; None -> the most frequent
    class. Factor-conditional: a dict {name: value} -> a full factor row, the factors not named at their
    training medians; a row (F,) or rows (n, F) pass through; None -> the median row."""
    mode = _mode(model)
    if not mode:
        if labels is not None or factors is not None:
            what = "labels" if labels is not None else "factors"
            raise GenlabError(f"{model.name}: this model is not conditional; it takes no {what}=")
        return {}
    if mode == "labels":
        if factors is not None:
            raise GenlabError(
                f"{model.name}: this model is conditioned on labels; pass labels=, not factors="
            )
        if labels is None:
            return default_condition(model)
        if isinstance(labels, (int, np.integer, str, np.str_)) and not isinstance(labels, bool):
            return {"labels": model.class_index(labels)}
        return {"labels": labels}
    if labels is not None:
        raise GenlabError(f"{model.name}: this model is conditioned on factors; pass factors=, not labels=")
    if factors is None:
        return default_condition(model)
    if isinstance(factors, dict):
        names = list(model.factor_names_)
        row = default_condition(model)["factors"].copy()
        for k, v in factors.items():
            if k not in names:
                raise GenlabError(f"{model.name}: unknown factor {k!r}; factors: {', '.join(names)}")
            try:
                row[names.index(k)] = float(v)
            except (TypeError, ValueError):
                raise GenlabError(f"{model.name}: factor {k}={v!r} must be a number") from None
        if not np.isfinite(row).all():
            raise GenlabError(f"{model.name}: factors must be finite numbers, got {factors!r}")
        return {"factors": row}
    return {"factors": factors}


def condition_of(model: Any, dataset: Any, split: str = "train", n: int | None = None) -> dict[str, Any]:
    """`encode`'s condition keywords for the first `n` observations of a Dataset's split ("train" or
    "test"): their labels or factor rows, as the model was fitted on them; {} for an unconditional
    model. DataError when a conditional model's data set lacks them."""
    mode = _mode(model)
    if not mode:
        return {}
    if split not in ("train", "test"):
        raise GenlabError(f"condition_of: split must be 'train' or 'test', got {split!r}")
    what = "labels" if mode == "labels" else "factors"
    values = getattr(dataset, f"{split}_{what}", None)
    if values is None:
        raise DataError(
            f"{model.name} is conditioned on {what}, and data set {getattr(dataset, 'name', '?')!r} has no "
            f"{split} {what} to encode its observations with"
        )
    values = np.asarray(values)[: len(getattr(dataset, split)) if n is None else n]
    return {what: values.astype(np.int64 if mode == "labels" else np.float32)}


def _probe_condition(model: Any) -> dict[str, Any]:
    """A condition for one row (to try `encode` with)."""
    cond = default_condition(model)
    return {k: np.asarray(v)[None] if k == "factors" else np.asarray([v], np.int64) for k, v in cond.items()}


def has_encoder(model: Any) -> bool:
    """Whether `model.encode` works (vae, flow, diffusion); False for a decoder-only GAN."""
    _latent_dim(model, "has_encoder")
    try:
        model.encode(np.zeros((1, *model.shape_), np.float32), **_probe_condition(model))
    except NotSupported:
        return False
    return True


def _encode_condition(model: Any, labels: Any, factors: Any, what: str) -> dict[str, Any]:
    """The observations' own condition for `encode`: required for a conditional model, never defaulted."""
    mode = _mode(model)
    if mode and (labels if mode == "labels" else factors) is None:
        kw = "labels" if mode == "labels" else "factors"
        raise GenlabError(
            f"{what}: {model.name} is conditioned on {mode}; pass {kw}= (the observations' own {mode})"
        )
    return decode_condition(model, labels=labels, factors=factors)


def embed(model: Any, x: Any, *, labels: Any = None, factors: Any = None) -> np.ndarray:
    """Latent points of observations: (n, *shape) -> (n, latent_dim); one observation -> (latent_dim,).
    A conditional model needs the observations' `labels` (one class or (n,)) or `factors`."""
    _latent_dim(model, "embed")
    batch, single = _observations(model, x, "embed input")
    cond = _encode_condition(model, labels, factors, "embed")
    try:
        z = model.encode(batch, **cond)
    except NotSupported as e:
        raise NotSupported(
            f"embed: {model.name} has a decoder but no encoder, so observations cannot be embedded ({e})"
        ) from None
    return z[0] if single else z


# ----------------------------------------------------------------------------- interpolation
def lerp(za: np.ndarray, zb: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Straight line: (n, d), (n, d), (steps,) -> (n, steps, d)."""
    za, zb, t = np.asarray(za, np.float64), np.asarray(zb, np.float64), np.asarray(t, np.float64)
    return za[:, None] + t[None, :, None] * (zb - za)[:, None]


def slerp(za: np.ndarray, zb: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake; White 2016 for Gaussian latents): (n, d), (n, d), (steps,) ->
    (n, steps, d). Under a standard normal prior most mass lies near a sphere, and a straight line between
    two typical points passes through the unlikely region near the origin; slerp follows the sphere.
    Falls back to lerp for (anti)parallel or zero vectors, where the great circle is undefined."""
    za, zb, t = np.asarray(za, np.float64), np.asarray(zb, np.float64), np.asarray(t, np.float64)
    na, nb = np.linalg.norm(za, axis=1), np.linalg.norm(zb, axis=1)  # (n,)
    ok = (na > 1e-12) & (nb > 1e-12)
    cos = np.where(ok, (za * zb).sum(1) / np.where(ok, na * nb, 1.0), 1.0).clip(-1.0, 1.0)
    omega = np.arccos(cos)  # (n,) angle between the two points
    so = np.sin(omega)
    ok &= so > 1e-6
    so = np.where(ok, so, 1.0)
    wa = np.sin((1.0 - t)[None, :] * omega[:, None]) / so[:, None]  # (n, steps)
    wb = np.sin(t[None, :] * omega[:, None]) / so[:, None]
    out = wa[..., None] * za[:, None] + wb[..., None] * zb[:, None]
    return np.where(ok[:, None, None], out, lerp(za, zb, t))


def interpolate(
    model: Any,
    a: Any,
    b: Any,
    *,
    steps: int = 8,
    method: str = "slerp",
    latent: bool = False,
    labels: Any = None,
    factors: Any = None,
) -> np.ndarray:
    """Decoded observations on the path from a to b in latent space.

    a, b: observations (one of shape `shape`, or batches (n, *shape)), encoded first; with `latent=True`
    they are latent points ((latent_dim,) or (n, latent_dim)), which is how a GAN is interpolated.
    Returns (steps, *shape) for one pair, (n, steps, *shape) for n pairs. The endpoints are exactly
    decode(encode(a)) and decode(encode(b)); `method` is "slerp" (default) or "lerp".
    A conditional model: `labels`/`factors` (one condition, or one per pair) encode a and b and decode
    the path; they are required for observations, and default to `default_condition` for latent points.
    """
    d = _latent_dim(model, "interpolate")
    if method not in ("slerp", "lerp"):
        raise GenlabError(f"interpolate: method must be 'slerp' or 'lerp', got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 2:
        raise GenlabError(f"interpolate: steps must be an integer >= 2, got {steps!r}")
    if latent:
        za, single = _latents(a, d, "interpolate a")
        zb, single_b = _latents(b, d, "interpolate b")
        cond = decode_condition(model, labels=labels, factors=factors)
    else:
        za, single = _observations(model, a, "interpolate a")
        zb, single_b = _observations(model, b, "interpolate b")
        cond = _encode_condition(model, labels, factors, "interpolate")
        za, zb = embed(model, za, **cond), embed(model, zb, **cond)
    if single != single_b or len(za) != len(zb):
        raise DataError(
            f"interpolate: a and b must have the same number of points, got {len(za)} and {len(zb)}"
        )
    t = np.linspace(0.0, 1.0, int(steps))
    path = (slerp if method == "slerp" else lerp)(za, zb, t).astype(np.float32)  # (n, steps, d)
    path[:, 0], path[:, -1] = za, zb  # exact endpoints, free of rounding in the weights
    cond = _per_point(model, cond, len(za), int(steps), "interpolate")
    x = model.decode(path.reshape(-1, d), **cond).reshape(len(za), int(steps), *model.shape_)
    return x[0] if single else x


def _per_point(model: Any, cond: dict[str, Any], n: int, k: int, what: str) -> dict[str, Any]:
    """The condition of n points, each decoded k times (rows point-major): one condition as it is, one
    per point repeated k times."""
    out = {}
    for key, v in cond.items():
        arr = np.asarray(v)
        per = arr.ndim == (1 if key == "labels" else 2)
        if per and len(arr) != n:
            raise DataError(f"{what}: {key} must be one condition or {n} (one per point), got {len(arr)}")
        out[key] = np.repeat(arr, k, axis=0) if per else v
    return out


def traverse(
    model: Any,
    x: Any,
    *,
    dim: int,
    values: Any,
    latent: bool = False,
    labels: Any = None,
    factors: Any = None,
) -> np.ndarray:
    """Decode x's latent point with coordinate `dim` set to each of `values` (the others kept).

    x: one observation or a batch (n, *shape) (latent points with `latent=True`).
    Returns (len(values), *shape) for one observation, (n, len(values), *shape) for a batch.
    A conditional model: `labels`/`factors` as in `interpolate` (encode x, decode the traversal).
    """
    d = _latent_dim(model, "traverse")
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not 0 <= dim < d:
        raise GenlabError(f"traverse: dim must be an integer in [0, {d}), got {dim!r}")
    vals = np.asarray(values, dtype=np.float32).reshape(-1)
    if vals.size == 0 or not np.isfinite(vals).all():
        raise GenlabError("traverse: values must be a non-empty list of finite numbers")
    if latent:
        z, single = _latents(x, d, "traverse input")
        cond = decode_condition(model, labels=labels, factors=factors)
    else:
        batch, single = _observations(model, x, "traverse input")
        cond = _encode_condition(model, labels, factors, "traverse")
        z = embed(model, batch, **cond)
    zz = np.repeat(z[:, None], len(vals), axis=1)  # (n, k, d)
    zz[:, :, dim] = vals
    cond = _per_point(model, cond, len(z), len(vals), "traverse")
    out = model.decode(zz.reshape(-1, d), **cond).reshape(len(z), len(vals), *model.shape_)
    return out[0] if single else out


# ----------------------------------------------------------------------------- grids
def latent_stats(
    model: Any, data: Any = None, *, max_n: int = 2000, labels: Any = None, factors: Any = None
) -> dict[str, Any]:
    """Where the latent points live: reference point, lower and upper bound per dimension, spread.

    With `data` (observations, or a Dataset: its training split) and an encoder: the mean, the 2nd and
    98th percentiles and the standard deviation of the first `max_n` encoded observations. Otherwise the
    prior: 0, -2, +2 and 1 in every dimension. "source" says which ("data" or "prior").
    A conditional model encodes a Dataset under its own labels/factors, observations under the
    `labels`/`factors` given (one per observation, or one for all).
    """
    d = _latent_dim(model, "latent_stats")
    if data is not None and has_encoder(model):
        x = np.asarray(getattr(data, "train", data))[:max_n]
        if hasattr(data, "train"):
            cond = condition_of(model, data, "train", len(x))
        else:
            cut = {k: v[:max_n] if np.ndim(v) >= (1 if k == "labels" else 2) else v
                   for k, v in (("labels", labels), ("factors", factors)) if v is not None}  # fmt: skip
            cond = _encode_condition(model, cut.get("labels"), cut.get("factors"), "latent_stats")
        z = embed(model, x, **cond)
        lo, hi = np.percentile(z, DATA_PERCENTILES, axis=0)
        return {"reference": z.mean(0), "low": lo, "high": hi, "std": z.std(0), "source": "data"}
    ones = np.ones(d, np.float32)
    return {
        "reference": 0 * ones,
        "low": -PRIOR_SPAN * ones,
        "high": PRIOR_SPAN * ones,
        "std": ones,
        "source": "prior",
    }


def _check_span(span: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """None, s (-> [-s, s]), (lo, hi) for both dimensions, or ((lo0, hi0), (lo1, hi1))."""
    if span is None:
        return None
    try:
        arr = np.asarray(span, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.array([np.nan])
    if arr.ndim == 0:
        arr = np.array([-abs(float(arr)), abs(float(arr))])
    if arr.shape == (2,):
        arr = np.stack([arr, arr])
    if arr.shape != (2, 2) or not np.isfinite(arr).all() or (arr[:, 1] <= arr[:, 0]).any():
        raise GenlabError(
            f"latent_map: span must be a positive number s, (low, high) or ((low0, high0), (low1, high1)) "
            f"with low < high; got {span!r}"
        )
    return (float(arr[0, 0]), float(arr[0, 1])), (float(arr[1, 0]), float(arr[1, 1]))


def latent_grid(
    model: Any,
    *,
    dims: tuple[int, int] = (0, 1),
    grid: int = 15,
    span: Any = None,
    data: Any = None,
    reference: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The latent points of `latent_map`: (z (grid*grid, latent_dim), values of dims[0], values of dims[1])."""
    d = _latent_dim(model, "latent_map")
    if _mode(model) and data is not None and not hasattr(data, "train"):
        raise GenlabError(
            f"latent_map: {model.name} is conditional; give data as a Dataset (it brings its "
            f"{_mode(model)}), or span= and reference= (latent_stats(model, x, {_mode(model)}=...) has them)"
        )
    if len(tuple(dims)) != 2 or any(isinstance(k, bool) or not isinstance(k, int | np.integer) for k in dims):
        raise GenlabError(f"latent_map: dims must be two integers, got {dims!r}")
    i, j = (int(k) for k in dims)
    if i == j or not (0 <= i < d and 0 <= j < d):
        raise GenlabError(
            f"latent_map: dims must be two different latent dimensions in [0, {d}), got {tuple(dims)}"
            + ("; this model's latent space has one dimension (use traverse)" if d == 1 else "")
        )
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or grid < 2:
        raise GenlabError(f"latent_map: grid must be an integer >= 2, got {grid!r}")
    spans = _check_span(span)
    if reference is not None:
        reference, _ = _latents(reference, d, "latent_map reference")
        if len(reference) != 1:
            raise DataError(f"latent_map: reference must be one latent point of shape ({d},)")
    if spans is None or reference is None:  # encode the data only when something is left to fill in
        stats = latent_stats(model, data)
        spans = spans or ((stats["low"][i], stats["high"][i]), (stats["low"][j], stats["high"][j]))
        reference = stats["reference"] if reference is None else reference
    v0 = np.linspace(*spans[0], int(grid), dtype=np.float32)  # columns, left to right
    v1 = np.linspace(*spans[1], int(grid), dtype=np.float32)  # rows, top to bottom
    z = np.tile(np.asarray(reference, np.float32).reshape(1, d), (int(grid) ** 2, 1))
    z[:, j] = np.repeat(v1, grid)  # row-major: row r = k // grid
    z[:, i] = np.tile(v0, grid)  # column c = k % grid
    return z, v0, v1


def latent_map(
    model: Any,
    *,
    dims: tuple[int, int] = (0, 1),
    grid: int = 15,
    span: Any = None,
    data: Any = None,
    reference: Any = None,
    labels: Any = None,
    factors: Any = None,
) -> np.ndarray:
    """Decode a grid x grid lattice over two latent dimensions; returns (grid*grid, *shape).

    Row-major order: observation k = r * grid + c has z[dims[0]] = the c-th value (columns, ascending
    left to right) and z[dims[1]] = the r-th value (rows, ascending top to bottom), so
    `image_grid(latent_map(...), nrow=grid)` shows dims[0] along x and dims[1] along y.
    The other dimensions are held at a reference point. `span`: s, (low, high) or per-dimension pairs;
    by default the 2nd-98th percentiles of the encoded `data` (observations or a Dataset's training
    split) when the model has an encoder and data is given, else +-2 prior standard deviations. The
    reference point (`reference`, a latent point) defaults to the mean of the encoded data, or the
    prior mean 0.
    A conditional model decodes every point under one condition: `labels` (a class, by index or name)
    or `factors` (a dict, the factors not named at their training medians, or a row), by default
    `default_condition(model)` (the most frequent class, or the median factor row).
    """
    cond = decode_condition(model, labels=labels, factors=factors)
    z, _, _ = latent_grid(model, dims=dims, grid=grid, span=span, data=data, reference=reference)
    return model.decode(z, **cond)


# ----------------------------------------------------------------------------- factors
def factor_r2(
    model: Any, dataset: Any, *, k: int = 10, max_train: int = 5000, max_test: int = 5000
) -> dict[str, dict[str, float]]:
    """How well latents predict known factors: {factor: {"linear": R^2, "knn": R^2}}.

    A scikit-learn LinearRegression and a KNeighborsRegressor (k neighbours, on standardised latents)
    are fitted from the latents of the first `max_train` training observations to each factor, and
    scored (R^2, `sklearn.metrics.r2_score`) on the latents of the first `max_test` test observations.
    Linear R^2 near 1 means the factor is a linear function of the latent point; k-NN R^2 allows any
    smooth function.
    """
    _latent_dim(model, "factor_r2")
    names = getattr(dataset, "factor_names", None)
    f_train, f_test = getattr(dataset, "train_factors", None), getattr(dataset, "test_factors", None)
    where = f"factor_r2: data set {getattr(dataset, 'name', '?')!r}"
    if not names or f_train is None or f_test is None:
        raise DataError(f"{where} has no known factors (e.g. load_dataset('tins') has height and width)")
    if len(dataset.test) < 2:
        raise DataError(f"{where}: need at least 2 test observations to score R^2, got {len(dataset.test)}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise GenlabError(f"factor_r2: k must be a positive integer, got {k!r}")
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test = dataset.train[:max_train], dataset.test[:max_test]
    z_train = embed(model, x_train, **condition_of(model, dataset, "train", len(x_train))).astype(np.float64)
    z_test = embed(model, x_test, **condition_of(model, dataset, "test", len(x_test))).astype(np.float64)
    y_train = np.asarray(f_train, np.float64)[:max_train].reshape(len(z_train), -1)
    y_test = np.asarray(f_test, np.float64)[:max_test].reshape(len(z_test), -1)
    knn = make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=min(int(k), len(z_train))))
    out: dict[str, dict[str, float]] = {}
    for col, name in enumerate(names):
        y, yt = y_train[:, col], y_test[:, col]
        lin = LinearRegression().fit(z_train, y)
        out[str(name)] = {
            "linear": float(r2_score(yt, lin.predict(z_test))),
            "knn": float(r2_score(yt, knn.fit(z_train, y).predict(z_test))),
        }
    return out
