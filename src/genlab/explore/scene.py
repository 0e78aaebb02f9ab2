"""What the explorer page shows, computed in Python: latent points, planes, colours, pictures, neighbours.

The page gets one JSON object (the scene) and one PNG (the atlas, every picture it shows side by side).
Arrays travel as base64 little-endian float32/int32, which is exact and a third of the size of JSON
numbers.

Latent points: the encoded test observations (clickable) and training observations (background),
or, for a decoder without an encoder (GAN), draws from the generator's N(0, I) prior.
Planes ("views"): a plane coordinate c (m,) is the latent point z = o + (c - c0) B, and a latent point
projects to c = c0 + (z - o) P^T (B = P for orthonormal directions). Offered, the default first:
- known factors (data with two factors that the latent point predicts linearly with test R^2 >=
  `FACTOR_R2`, as tins' height and width): c is the predicted factors, B the pseudo-inverse of the fit;
- principal components of the encoded training points (latent spaces of more than two dimensions, up
  to `PCA_ROWS` directions);
- the latent coordinates themselves (up to `AXES_MAX_DIM` dimensions).
The page puts two rows on the screen and gives the others sliders; whatever no row covers stays at o.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.errors import GenlabError

__all__ = [
    "AXES_MAX_DIM",
    "PCA_ROWS",
    "Scene",
    "SceneOptions",
    "atlas_png",
    "build_scene",
    "encode_array",
    "plane_coords",
    "plane_points",
]

#: principal directions offered for a latent space of more than two dimensions
PCA_ROWS = 10
#: up to this many latent dimensions the page also offers the coordinates themselves as a view
AXES_MAX_DIM = 64
#: float32 values of full latent points the page may carry (beyond it fewer points are shown)
MAX_LATENT_FLOATS = 1_000_000
#: pixel (or vector) values of all the pictures the page may carry, before PNG compression
MAX_PICTURE_VALUES = 8_000_000
#: training observations searched for each shown point's nearest neighbours
MAX_NEIGHBOUR_POOL = 20_000
#: the prior's span (standard deviations) for a plane of prior draws
PRIOR_SPAN = 3.0
#: test R^2 of a known factor's linear prediction from the latent point, for the factor plane
FACTOR_R2 = 0.8


@dataclass(frozen=True)
class SceneOptions:
    """How much the page shows. `grid`: side of the grid of pictures decoded in Python when the page
    cannot decode live (0: none). `neighbours`: nearest training observations per clickable point."""

    n_test: int = 500
    n_train: int = 2000
    neighbours: int = 4
    grid: int = 15
    seed: int = 0

    def check(self) -> None:
        for name in ("n_test", "n_train", "neighbours", "grid"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
                raise GenlabError(f"explore: {name} must be a non-negative integer, got {v!r}")
        if self.n_test < 1:
            raise GenlabError(f"explore: n_test must be at least 1, got {self.n_test}")
        if self.grid == 1:
            raise GenlabError("explore: grid must be 0 (none) or at least 2")


@dataclass
class Scene:
    """The page's scene (JSON-able), its atlas PNG, and the decoded plane (grid mode) for the record."""

    data: dict[str, Any]
    atlas: bytes | None


def encode_array(a: np.ndarray, dtype: str = "f4") -> dict[str, Any]:
    """{"dtype", "shape", "b64"}: a little-endian float32 ("f4") or int32 ("i4") array for the page."""
    arr = np.ascontiguousarray(np.asarray(a, dtype="<" + dtype))
    return {"dtype": dtype, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode()}


def atlas_png(images: np.ndarray) -> tuple[bytes, int]:
    """(N, C, H, W) in [0, 1] -> a PNG of the tiles in rows of `cols` (no padding), and `cols`."""
    from PIL import Image

    x = np.asarray(images, np.float32)
    n, c, h, w = x.shape
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    tiles = np.zeros((rows * cols, h, w, 3 if c == 3 else 1), np.uint8)
    pix = (np.clip(x if c in (1, 3) else x[:, :1], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    tiles[:n] = pix.transpose(0, 2, 3, 1)
    grid = tiles.reshape(rows, cols, h, w, -1).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, -1)
    img = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue(), cols


# ----------------------------------------------------------------------------- planes
def _ranges(coords: np.ndarray, pad: float = 0.1) -> list[list[float]]:
    """Per row: the 1st-99th percentile of the points' coordinates, widened by `pad` on each side."""
    lo, hi = np.percentile(coords, [1.0, 99.0], axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - pad * span, hi + pad * span
    return [[float(a), float(b)] for a, b in zip(lo, hi, strict=True)]


def _view(
    name: str, origin: np.ndarray, rows: list[str], ranges: list[list[float]], **kw: Any
) -> dict[str, Any]:
    """A plane (see `plane_points`): basis None is the identity; project None is the basis."""
    m = len(rows)
    view = {
        "name": name,
        "origin": encode_array(origin),
        "center": [0.0] * m,
        "basis": None,
        "project": None,
        "rows": rows,
        "ranges": ranges,
        "defaults": [0.0] * m,
        "initial": [0, 1] if m > 1 else [0, -1],
        "rest": "",
    }
    view.update(kw)
    return view


def _factor_view(
    z_fit: np.ndarray, f_fit: np.ndarray, z_test: np.ndarray, f_test: np.ndarray, names: list[str]
) -> dict[str, Any] | None:
    """A plane whose axes are two known factors as the latent space predicts them (least squares,
    f = center + (z - origin) W^T): a plane point is the latent point, nearest the origin, whose
    prediction is that point. None unless two factors are predicted with test R^2 >= FACTOR_R2."""
    d = z_fit.shape[1]
    origin, center = z_fit.mean(0).astype(np.float64), f_fit.mean(0)
    zc = z_fit.astype(np.float64) - origin
    w, *_ = np.linalg.lstsq(np.c_[zc, np.ones(len(zc))], f_fit - center, rcond=None)
    W, b = w[:d].T, w[d]  # (factors, d), intercept (about 0)
    pred = center + b + (z_test.astype(np.float64) - origin) @ W.T
    ss = ((f_test - f_test.mean(0)) ** 2).sum(0)
    r2 = 1.0 - ((f_test - pred) ** 2).sum(0) / np.where(ss > 0, ss, np.inf)
    good = [k for k in range(len(names)) if r2[k] >= FACTOR_R2][:2]
    if len(good) < 2:
        return None
    Wg = W[good]  # (2, d)
    if np.linalg.cond(Wg @ Wg.T) > 1e8:  # the two predictions share one direction
        return None
    basis = np.linalg.pinv(Wg).T  # (2, d): z = origin + (c - center) B reproduces c
    center_g = center[good] + b[good]
    coords = center_g + (z_test.astype(np.float64) - origin) @ Wg.T
    return _view(
        "known factors, as the latent space predicts them (linear fit)",
        origin,
        [f"{names[k]} (R\u00b2 {r2[k]:.2f})" for k in good],
        _ranges(coords),
        center=[float(v) for v in center_g],
        defaults=[float(v) for v in center_g],
        basis=encode_array(basis),
        project=encode_array(Wg),
        rest="A plane point is the latent point whose linear prediction of the two factors is that point"
        + (
            "; the other latent directions stay at the mean of the encoded training points." if d > 2 else "."
        ),
    )


def _views(
    z_fit: np.ndarray, z_all: np.ndarray, prior: bool, factors: tuple[Any, ...] | None = None
) -> list[dict[str, Any]]:
    """The planes the page offers (see the module docstring); the first is the default: the known
    factors where the latent space predicts two of them well (the seed's picture of a latent space of
    tins: height along one axis, width along the other), else its coordinates or principal components."""
    n, d = z_fit.shape
    views = []
    if factors is not None and d >= 2:
        view = _factor_view(*factors)
        if view is not None:
            views.append(view)
    if d > 2 and not prior:  # an isotropic prior has no principal directions
        mean = z_fit.mean(0).astype(np.float64)
        _, s, vt = np.linalg.svd(z_fit.astype(np.float64) - mean, full_matrices=False)
        m = min(PCA_ROWS, d, len(s))
        share = s[:m] ** 2 / max(float((s**2).sum()), 1e-300)
        basis = vt[:m]
        views.append(
            _view(
                "principal components of the encoded training points",
                mean,
                [f"PC{k + 1} ({100 * share[k]:.0f}%)" for k in range(m)],
                _ranges((z_all - mean) @ basis.T),
                basis=encode_array(basis),
                rest="the other directions stay at the mean of the encoded training points" if m < d else "",
            )
        )
    if d <= AXES_MAX_DIM:
        if prior:
            ranges, defaults = [[-PRIOR_SPAN, PRIOR_SPAN]] * d, [0.0] * d
            top = list(range(min(d, 2)))
        else:
            ranges, defaults = _ranges(z_all), [float(v) for v in z_fit.mean(0)]
            top = sorted(int(k) for k in np.argsort(-z_fit.std(0), kind="stable")[:2])
        views.append(
            _view(
                "latent coordinates",
                np.zeros(d),
                [f"z[{k}]" for k in range(d)],
                ranges,
                defaults=defaults,
                initial=top if d > 1 else [0, -1],
            )
        )
    return views


def plane_points(view: dict[str, Any], coords: np.ndarray) -> np.ndarray:
    """Latent points z = origin + (c - center) B of plane coordinates c (n, m) in a view, float32 (n, d)."""
    origin = _decode_array(view["origin"]).astype(np.float64)
    c = np.asarray(coords, np.float64) - np.asarray(view["center"], np.float64)
    z = origin + (c if view["basis"] is None else c @ _decode_array(view["basis"]).astype(np.float64))
    return z.astype(np.float32)


def plane_coords(view: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """Plane coordinates c = center + (z - origin) P^T of latent points z (n, d) in a view, (n, m)."""
    zc = np.asarray(z, np.float64) - _decode_array(view["origin"]).astype(np.float64)
    proj = view["project"] or view["basis"]
    c = zc if proj is None else zc @ _decode_array(proj).astype(np.float64).T
    return np.asarray(view["center"], np.float64) + c


def _decode_array(a: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(a["b64"])
    return np.frombuffer(raw, dtype="<" + a["dtype"]).reshape(a["shape"])


def grid_coords(view: dict[str, Any], g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The g x g plane coordinates of a view's initial plane, row-major (row r: the r-th y value,
    ascending; column c: the c-th x value, ascending), the other rows at their defaults; and the x
    and y values."""
    i, j = view["initial"]
    xs = np.linspace(*view["ranges"][i], g)
    ys = np.linspace(*view["ranges"][j], g) if j >= 0 else np.zeros(1)
    c = np.tile(np.asarray(view["defaults"], np.float64), (len(ys) * g, 1))
    c[:, i] = np.tile(xs, len(ys))
    if j >= 0:
        c[:, j] = np.repeat(ys, g)
    return c, xs, ys


# ----------------------------------------------------------------------------- the scene
def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).reshape(len(x), -1)


def build_scene(
    model: Any,
    dataset: Any,
    *,
    options: SceneOptions,
    live: bool,
    note: str,
    decode_note: str,
    title: str,
    condition: dict[str, Any] | None = None,
) -> Scene:
    """The scene of `model` on `dataset`; `live`: the page decodes (else Python decodes a grid).
    A conditional model's points are encoded under their own labels (or factors); what Python decodes
    without an observation's own condition (prior draws, the grid) uses `condition` (decode's keywords,
    default `genlab.latent.default_condition`), which is also the class the page's selector starts at."""
    from genlab.explore._links import knn
    from genlab.latent.core import condition_of, decode_condition, embed, has_encoder

    cond = decode_condition(model) if condition is None else dict(condition)

    options.check()
    d, kind, shape = int(model.latent_dim), model.kind_, tuple(int(s) for s in model.shape_)
    encoder = has_encoder(model)
    # fewer points for a wide latent space, so the page's latent payload stays bounded
    cap = max(50, MAX_LATENT_FLOATS // max(d, 1))
    # and fewer clickable points for large pictures: each has its own, its neighbours' (and its
    # reconstruction's, when Python decodes), so the page's pictures stay bounded too
    size = int(np.prod(shape))
    per_point = size * (1 + options.neighbours + (0 if live else 1))
    grid_values = 0 if live else size * options.grid**2
    cap = min(cap, max(20, (MAX_PICTURE_VALUES - grid_values) // per_point))
    n_test = min(options.n_test, len(dataset.test), cap)
    n_train = min(options.n_train, len(dataset.train), max(0, cap - n_test)) if encoder else 0

    images: list[np.ndarray] = []  # atlas tiles (images) or rows (vectors), in order

    def add(x: np.ndarray) -> list[int]:
        start = sum(len(a) for a in images)
        images.append(np.asarray(x, np.float32))
        return list(range(start, start + len(x)))

    pool = dataset.train[:MAX_NEIGHBOUR_POOL]
    k = min(options.neighbours, len(pool))
    test_cond = condition_of(model, dataset, "test", n_test) if encoder else cond
    if encoder:
        x_test = dataset.test[:n_test]
        z_test = embed(model, x_test, **test_cond)
        z_train = (
            embed(model, dataset.train[:n_train], **condition_of(model, dataset, "train", n_train))
            if n_train
            else np.zeros((0, d), np.float32)
        )
        shown = x_test  # what each clickable point is
    else:  # a decoder without an encoder: points are draws from the prior
        z_test = np.random.default_rng(options.seed).standard_normal((n_test, d)).astype(np.float32)
        z_train = np.zeros((0, d), np.float32)
        shown = model.decode(z_test, **cond)
    obs_index = add(shown)
    nb_index = np.zeros((n_test, 0), np.int64)
    if k:
        _, nb = knn(_flat(shown), _flat(pool), k)
        uniq, inverse = np.unique(nb.reshape(-1), return_inverse=True)
        first = add(pool[uniq])[0] if len(uniq) else 0
        nb_index = first + inverse.reshape(nb.shape)

    z_fit = z_train if len(z_train) >= max(3, d) else z_test
    fit = None  # for the factor plane: (latents, factors) to fit, and to score on
    factor_names = [str(f) for f in (getattr(dataset, "factor_names", None) or [])]
    has_factors = dataset.test_factors is not None and dataset.train_factors is not None
    if encoder and len(factor_names) >= 2 and has_factors:
        f_test = np.asarray(dataset.test_factors[:n_test], np.float64).reshape(n_test, -1)
        if len(z_fit) == len(z_train) and len(z_train) > d + 1:
            f_fit = np.asarray(dataset.train_factors[:n_train], np.float64).reshape(n_train, -1)
        else:
            f_fit = f_test
        fit = (z_fit, f_fit, z_test, f_test, factor_names)
    views = _views(z_fit, np.concatenate([z_test, z_train]), prior=not encoder, factors=fit)

    colours: list[dict[str, Any]] = []
    if encoder and dataset.test_labels is not None:
        labels = np.asarray(dataset.test_labels[:n_test]).astype(np.int64)
        classes = list(dataset.class_names or [str(c) for c in range(int(labels.max()) + 1)])
        colours.append(
            {"name": "label", "kind": "label", "values": encode_array(labels, "i4"), "names": classes}
        )
    if encoder and dataset.test_factors is not None and factor_names:
        values = np.asarray(dataset.test_factors[:n_test], np.float64).reshape(n_test, -1)
        for col, name in enumerate(factor_names):
            colours.append({"name": name, "kind": "factor", "values": encode_array(values[:, col])})

    grid: dict[str, Any] | None = None
    recon_index: list[int] | None = None
    if not live:
        if options.grid >= 2:
            c, xs, ys = grid_coords(views[0], options.grid)
            z_grid = plane_points(views[0], c)
            grid = {
                "view": 0,
                "rows": list(views[0]["initial"]),
                "xs": [float(v) for v in xs],
                "ys": [float(v) for v in ys],
                "start": add(model.decode(z_grid, **cond))[0],
            }
        if encoder:
            recon_index = add(model.decode(z_test, **test_cond))

    atlas = None
    pictures: dict[str, Any] = {"kind": kind, "shape": list(shape)}
    stacked = np.concatenate(images) if images else np.zeros((0, *shape), np.float32)
    if kind == "image":
        atlas, cols = atlas_png(stacked)
        pictures.update(cols=cols, count=len(stacked))
    else:
        rows = stacked.reshape(len(stacked), -1)
        ref = _flat(pool)
        lo, hi = np.percentile(ref, [0.5, 99.5], axis=0)
        features = list(getattr(dataset, "feature_names", None) or [f"x{i + 1}" for i in range(ref.shape[1])])
        pictures.update(
            rows=encode_array(rows),
            lo=[float(v) for v in lo],
            hi=[float(v) for v in hi],
            features=[str(f) for f in features],
        )
        if ref.shape[1] == 2:  # a 2-D data space: the decoded point is drawn over the training data
            pictures["background"] = encode_array(ref[:2000])

    data = {
        "format": "genlab-explorer",
        "version": 1,
        "title": title,
        "model": {
            "name": model.name,
            "latent_dim": d,
            "kind": kind,
            "shape": list(shape),
            "conditional": False,
            "class_names": [str(c) for c in (getattr(model, "class_names_", None) or [])]
            if "labels" in cond
            else list(dataset.class_names or []),
            # the class the page decodes with at first (its selector's start), and each test point's own
            "class": int(cond["labels"]) if "labels" in cond and np.ndim(cond["labels"]) == 0 else None,
            "point_labels": encode_array(np.asarray(test_cond["labels"], np.int64)[:n_test], "i4")
            if encoder and "labels" in test_cond
            else None,
        },
        "live": bool(live),
        "note": note,
        "decode_note": decode_note,
        "points": {
            "kind": "encoded" if encoder else "prior",
            "test": encode_array(z_test),
            "train": encode_array(z_train),
            "obs": obs_index,
            "neighbours": encode_array(nb_index, "i4"),
            "recon": recon_index,
        },
        "views": views,
        "colours": colours,
        "grid": grid,
        "pictures": pictures,
        "dataset": {
            "name": str(getattr(dataset, "name", "")),
            "n_train": len(dataset.train),
            "n_test": len(dataset.test),
        },
    }
    return Scene(data, atlas)
