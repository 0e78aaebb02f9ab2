"""The metrics, as plain functions on feature arrays (N, D). `genlab.metrics` re-exports them.

Rule 1 (fidelity: do samples look drawn from p_data?):
    frechet_distance   Frechet distance of Gaussians fitted to both sets (Heusel et al. 2017)
    kid                kernel inception distance: unbiased MMD^2, cubic kernel (Binkowski et al. 2018)
    precision_recall   improved precision and recall, k-NN balls, `<=` (Kynkaanniemi et al. 2019)
    density_coverage   density and coverage, k-NN balls, strict `<` (Naeem et al. 2020)
    c2st               classifier two-sample test: held-out accuracy, 0.5 = indistinguishable
                       (Lopez-Paz & Oquab 2017), here with a k-nearest-neighbour classifier
Rule 2 (novelty: do samples differ from the training observations?):
    ct_test                data-copying statistic C_T (Meehan, Chaudhuri & Dasgupta 2020)
    memorization_rate      share of samples with nearest / second-nearest training distance < 1/3
                           (Yoon et al. 2023; Gu et al. 2023)
    authenticity           share of samples farther from their nearest training point than that
                           point is from its own nearest training neighbour (Alaa et al. 2022)
    closer_to_train_share  share of samples closer to the training set than to a held-out set of
                           the same size (0.5 is ideal)

All nearest-neighbour work goes through `genlab.judge.neighbors` (blocked, exact, float64).
Randomness (subsets, splits, k-means) comes from an explicit `seed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.errors import DataError
from genlab.judge.neighbors import BLOCK_BYTES, as_tensor, common_dtype, knn, sq_distance_blocks

__all__ = [
    "MEMORIZATION_RATIO",
    "CellPartition",
    "ManifoldStats",
    "TrainNeighbours",
    "authenticity",
    "authenticity_flags",
    "c2st",
    "check_features",
    "check_same_dim",
    "closer_to_train_share",
    "ct_from_partition",
    "ct_test",
    "default_cells",
    "density_coverage",
    "fit_cells",
    "frechet_distance",
    "frechet_distance_from_moments",
    "kid",
    "manifold_stats",
    "mann_whitney_z",
    "memorization_rate",
    "moments",
    "precision_recall",
    "sq_radii",
    "train_neighbours",
    "train_nn_distance",
]

#: A sample is memorised when d(nearest train) / d(second-nearest train) is below this (Yoon et al. 2023).
MEMORIZATION_RATIO = 1.0 / 3.0


def check_features(x: np.ndarray, what: str, min_rows: int = 2) -> np.ndarray:
    """A finite float array (N, D): float32 stays float32 (faster neighbours), anything else becomes float64."""
    try:
        a = np.asarray(x)
        a = a.astype(np.float32 if a.dtype == np.float32 else np.float64, copy=False)
    except (TypeError, ValueError) as e:
        raise DataError(f"{what}: cannot convert to a float array ({e})") from None
    if a.ndim < 2:
        raise DataError(f"{what}: expected a feature array (N, D), got shape {a.shape}")
    a = a.reshape(len(a), -1)
    if len(a) < min_rows:
        raise DataError(f"{what}: need at least {min_rows} rows, got {len(a)}")
    if not np.isfinite(a).all():
        row = int(np.argwhere(~np.isfinite(a))[0, 0])
        raise DataError(f"{what}: non-finite value in row {row}")
    return a


def check_same_dim(*arrays: tuple[str, np.ndarray]) -> None:
    dims = {name: a.shape[1] for name, a in arrays}
    if len(set(dims.values())) > 1:
        raise DataError("feature dimensions differ: " + ", ".join(f"{k} has {v}" for k, v in dims.items()))


# ============================================================================ Rule 1: Frechet distance
def moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    mu = x.mean(0)
    xc = x - mu
    return mu, (xc.T @ xc) / (len(x) - 1)  # (D,), (D, D)


def frechet_distance_from_moments(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1^1/2 S2 S1^1/2)^1/2), by symmetric eigenvalues only.

    The eigenvalues of S1^1/2 S2 S1^1/2 equal those of L^T S2 L for any factor S1 = L L^T, so a
    Cholesky factor does when S1 is positive definite; a singular S1 falls back to the eigen
    square root. Tiny negative eigenvalues (rounding) are clipped to 0. No `sqrtm`, no complex parts.
    """
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    try:
        f = np.linalg.cholesky(s1)  # S1 = F F^T
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(s1)
        f = v * np.sqrt(np.clip(w, 0.0, None))  # S1 = F F^T with F = V W^1/2
    m = f.T @ s2 @ f
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(ev, 0.0, None)).sum())
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    fd = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    return max(fd, 0.0)  # a squared distance; rounding can leave -1e-13 for identical sets


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted (mean, unbiased covariance) to feature sets a and b."""
    a, b = check_features(a, "frechet_distance: a"), check_features(b, "frechet_distance: b")
    check_same_dim(("a", a), ("b", b))
    return frechet_distance_from_moments(*moments(a), *moments(b))


# ============================================================================ Rule 1: KID
def _cubic_kernel(x: np.ndarray, y: np.ndarray, d: int) -> np.ndarray:
    k = x @ y.T  # (m, m)
    k /= d
    k += 1.0
    return k * k * k  # (x.y / d + 1)^3; products are much faster than ** 3


def kid(
    a: np.ndarray, b: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel inception distance (mean, std over `subsets` random subsets, each without replacement).

    Unbiased MMD^2 with the cubic kernel k(x, y) = (x.y / d + 1)^3; it can be slightly negative when
    the two sets come from the same distribution.
    """
    a, b = check_features(a, "kid: a").astype(np.float64), check_features(b, "kid: b").astype(np.float64)
    check_same_dim(("a", a), ("b", b))
    if subsets < 1:
        raise DataError(f"kid: subsets must be at least 1, got {subsets}")
    m = min(int(subset_size), len(a), len(b))
    if m < 2:
        raise DataError(f"kid: subset_size must be at least 2, got {subset_size}")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    vals = np.empty(subsets)
    for s in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]  # (m, d)
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = _cubic_kernel(x, x, d), _cubic_kernel(y, y, d), _cubic_kernel(x, y, d)
        off = m * (m - 1)
        vals[s] = (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2.0 * kxy.mean()
    return float(vals.mean()), float(vals.std())


# ============================================================================ Rule 1: manifold metrics
@dataclass
class ManifoldStats:
    """Precision/recall (k_pr) and density/coverage (k_dc) of `fake` against `real`, from one pass."""

    precision: float = float("nan")
    recall: float = float("nan")
    density: float = float("nan")
    coverage: float = float("nan")
    density_std: float = float("nan")  # std over fake samples of (count of real balls holding it) / k_dc


def sq_radii(x: np.ndarray, ks: list[int], *, block_bytes: int = BLOCK_BYTES) -> dict[int, torch.Tensor]:
    """{k: squared distance of each row to its k-th nearest other row}: the k-NN balls, from one pass."""
    kmax = max(ks)
    if len(x) <= kmax:
        raise DataError(f"k={kmax} nearest neighbours need more than {kmax} points, got {len(x)}")
    dist, _ = knn(x, x, kmax, exclude_self=True, block_bytes=block_bytes)
    return {k: torch.from_numpy(dist[:, k - 1] ** 2) for k in ks}


def manifold_stats(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    k_pr: int | None = 3,
    k_dc: int | None = 5,
    real_radii: dict[int, torch.Tensor] | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> ManifoldStats:
    """Precision and recall with k_pr, density and coverage with k_dc, in one blocked pass.

    Precision: share of fake points inside some real k-NN ball (distance <= radius).
    Recall: share of real points inside some fake k-NN ball (<=).
    Density: mean over fake points of (number of real balls holding it, distance < radius) / k.
    Coverage: share of real points whose ball (<) holds at least one fake point.
    `real_radii` (from `sq_radii(real, [k_pr, k_dc])`) saves a pass when one real set meets several fake ones.
    """
    real, fake = check_features(real, "real features"), check_features(fake, "fake features")
    check_same_dim(("real", real), ("fake", fake))
    dtype = common_dtype(real, fake)
    r, f = as_tensor(real, dtype), as_tensor(fake, dtype)
    ks = [k for k in (k_pr, k_dc) if k is not None]
    rad = real_radii if real_radii is not None else sq_radii(real, ks, block_bytes=block_bytes)
    rad = {k: v.to(dtype) for k, v in rad.items()}
    out = ManifoldStats()
    if k_pr is not None:
        rad_real_pr = rad[k_pr]
        rad_fake_pr = sq_radii(fake, [k_pr], block_bytes=block_bytes)[k_pr].to(dtype)
        fake_in_real = torch.zeros(len(f), dtype=torch.bool)
        real_in_fake = torch.zeros(len(r), dtype=torch.bool)
    if k_dc is not None:
        rad_real_dc = rad[k_dc]
        density_count = torch.zeros(len(f), dtype=torch.int64)
        nearest_fake = torch.empty(len(r), dtype=dtype)
    for start, d2 in sq_distance_blocks(r, f, block_bytes=block_bytes):  # d2: (rows of real, all fake)
        rows = slice(start, start + len(d2))
        if k_pr is not None:
            fake_in_real |= (d2 <= rad_real_pr[rows, None]).any(0)
            real_in_fake[rows] = (d2 <= rad_fake_pr[None, :]).any(1)
        if k_dc is not None:
            density_count += (d2 < rad_real_dc[rows, None]).sum(0)
            nearest_fake[rows] = d2.min(1).values
    if k_pr is not None:
        out.precision = float(fake_in_real.double().mean())
        out.recall = float(real_in_fake.double().mean())
    if k_dc is not None:
        per_sample = density_count.double() / k_dc
        out.density = float(per_sample.mean())
        out.density_std = float(per_sample.std()) if len(f) > 1 else 0.0
        out.coverage = float((nearest_fake < rad_real_dc).double().mean())
    return out


def precision_recall(real: np.ndarray, fake: np.ndarray, *, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls: {"precision", "recall"}."""
    s = manifold_stats(real, fake, k_pr=k, k_dc=None)
    return {"precision": s.precision, "recall": s.recall}


def density_coverage(real: np.ndarray, fake: np.ndarray, *, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) with k-NN balls: {"density", "coverage"}."""
    s = manifold_stats(real, fake, k_pr=None, k_dc=k)
    return {"density": s.density, "coverage": s.coverage}


# ============================================================================ Rule 1: C2ST
def c2st(real: np.ndarray, fake: np.ndarray, *, k: int | None = None, seed: int = 0) -> float:
    """Classifier two-sample test: held-out balanced accuracy of a k-NN classifier, 0.5 = indistinguishable.

    Each set is split in random halves; the classifier fitted on halves A labels halves B and
    vice versa (2-fold cross-fitting), so every point is classified once by a classifier that never
    saw it. k defaults to floor(sqrt(n_fit) / 2) after Lopez-Paz & Oquab's k-NN C2ST, at most 25
    (top-k cost grows with k), made odd (no ties). Accuracy below 0.5 means each fake point sits
    next to a real one: near-copies.
    """
    r, f = check_features(real, "c2st: real", 4), check_features(fake, "c2st: fake", 4)
    check_same_dim(("real", r), ("fake", f))
    rng = np.random.default_rng(seed)
    halves = []
    for x in (r, f):
        perm = rng.permutation(len(x))
        halves.append((x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]]))
    (r_a, r_b), (f_a, f_b) = halves
    n_fit = min(len(r_a) + len(f_a), len(r_b) + len(f_b))
    if k is None:
        k = min(25, max(1, int(np.sqrt(n_fit) / 2)))
        k += 1 - k % 2
    k = min(int(k), n_fit)
    correct = {0: [], 1: []}  # per true class (0 real, 1 fake)
    for fit_r, fit_f, q_r, q_f in ((r_a, f_a, r_b, f_b), (r_b, f_b, r_a, f_a)):
        fit = np.concatenate([fit_r, fit_f])
        labels = np.concatenate([np.zeros(len(fit_r)), np.ones(len(fit_f))])
        for cls, q in ((0, q_r), (1, q_f)):
            _, idx = knn(q, fit, k)
            pred = labels[idx].mean(1) > 0.5
            correct[cls].append(pred == bool(cls))
    acc_real = np.concatenate(correct[0]).mean()
    acc_fake = np.concatenate(correct[1]).mean()
    return float((acc_real + acc_fake) / 2)


# ============================================================================ Rule 2: data-copying C_T
def mann_whitney_z(x: np.ndarray, y: np.ndarray) -> float:
    """Z-scored Mann-Whitney U of sample x against sample y, as in Meehan et al.'s reference code.

    U = number of pairs with x > y (ties count 1/2); Z = (U - (n m / 2 - 1/2)) / sqrt(n m (n + m + 1) / 12)
    (continuity correction, no tie correction). Negative when x tends to be smaller than y.
    """
    from scipy.stats import rankdata

    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    m, n = len(x), len(y)
    ranks = rankdata(np.concatenate([x, y]))  # average ranks for ties
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float((u - (n * m / 2 - 0.5)) / np.sqrt(n * m * (n + m + 1) / 12))


def default_cells(n_test: int) -> int:
    """About 100 held-out points per cell, between 1 and 20 cells.

    Each kept cell's Z is N(0, 1) for fresh samples, so C_T, their weighted mean, spreads about
    1/sqrt(cells): fewer cells make the fixed -3 limit more sensitive, more cells localise copying
    (and each cell needs enough points for its Mann-Whitney test). Our choice, not the paper's.
    """
    return int(max(1, min(20, n_test // 100)))


@dataclass
class CellPartition:
    """k-means cells fitted on the training features; `train_cells` labels every training point."""

    centers: np.ndarray  # (k, D)
    train_cells: np.ndarray  # (N_train,)

    def assign(self, x: np.ndarray) -> np.ndarray:
        _, idx = knn(x, self.centers, 1)
        return idx[:, 0]


def fit_cells(train: np.ndarray, cells: int, *, seed: int = 0, max_fit: int = 20_000) -> CellPartition:
    """k-means (scikit-learn, seeded) on at most `max_fit` training points; every point gets its cell."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    fit_on = train if len(train) <= max_fit else train[rng.choice(len(train), max_fit, replace=False)]
    cells = int(min(cells, len(fit_on)))
    km = KMeans(n_clusters=cells, n_init=1, random_state=seed).fit(fit_on)
    part = CellPartition(km.cluster_centers_.astype(np.float64), np.empty(0, np.int64))
    part.train_cells = part.assign(train)
    return part


def ct_from_partition(
    train: np.ndarray, test: np.ndarray, generated: np.ndarray, part: CellPartition
) -> tuple[float, list[dict[str, float]]]:
    """C_T and the per-cell table, given cells. See `ct_test`."""
    m = len(generated)
    t_cells, p_cells, q_cells = part.train_cells, part.assign(test), part.assign(generated)
    tau = 20.0 / m
    num = den = 0.0
    table = []
    for c in range(len(part.centers)):
        t_c, p_c, q_c = train[t_cells == c], test[p_cells == c], generated[q_cells == c]
        p_share, q_share = len(p_c) / len(test), len(q_c) / m
        if len(t_c) == 0 or len(p_c) == 0 or not q_share > tau:
            continue  # too few generated points (Q_m(pi) <= 20/m) or no held-out point: dropped
        lq = knn(q_c, t_c, 1)[0][:, 0]  # distance of each generated point to its nearest training point
        lp = knn(p_c, t_c, 1)[0][:, 0]
        z = mann_whitney_z(lq, lp)
        num += p_share * z
        den += p_share
        table.append({"cell": c, "z": z, "test_share": p_share, "generated_share": q_share})
    return (num / den if den > 0 else float("nan")), table


def ct_test(
    train: np.ndarray, test: np.ndarray, generated: np.ndarray, *, cells: int | None = None, seed: int = 0
) -> float:
    """The data-copying statistic C_T of Meehan, Chaudhuri & Dasgupta (2020).

    Cells come from k-means on the training features (`cells` of them; default about one per 100
    test points, at most 20). In each cell, the distances of generated points to their nearest
    training point in that cell are compared with those of the held-out test points by a Z-scored
    Mann-Whitney U test. Cells holding no more than 20/m of the m generated points are dropped (the
    reference code's rule, tau = 20/m) and the Z scores are averaged weighted by each cell's share
    of test points. Strongly negative: samples sit closer to the training points than fresh data
    do (data copying); strongly positive: farther (under-fitting). NaN when no cell is kept.
    """
    tr = check_features(train, "ct_test: train")
    te = check_features(test, "ct_test: test", 1)
    ge = check_features(generated, "ct_test: generated", 1)
    check_same_dim(("train", tr), ("test", te), ("generated", ge))
    part = fit_cells(tr, cells if cells is not None else default_cells(len(te)), seed=seed)
    return ct_from_partition(tr, te, ge, part)[0]


# ============================================================================ Rule 2: nearest training points
@dataclass
class TrainNeighbours:
    """For each sample: nearest and second-nearest training distances and the nearest training index."""

    d1: np.ndarray
    d2: np.ndarray
    index: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """d1 / d2; an exact copy of a duplicated training point (0 / 0) counts as ratio 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.d2 > 0, self.d1 / np.where(self.d2 > 0, self.d2, 1.0), 0.0)


def train_neighbours(train: np.ndarray, x: np.ndarray) -> TrainNeighbours:
    if len(train) < 2:
        raise DataError(f"need at least 2 training points, got {len(train)}")
    dist, idx = knn(x, train, 2)
    return TrainNeighbours(dist[:, 0], dist[:, 1], idx[:, 0])


def train_nn_distance(train: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Distance from training points train[index] to their own nearest other training point."""
    uniq, inv = np.unique(index, return_inverse=True)
    dist, idx = knn(train[uniq], train, 2)
    # the nearest is the point itself, unless a duplicate (also at distance 0) came first
    return np.where(idx[:, 0] == uniq, dist[:, 1], dist[:, 0])[inv]


def memorization_rate(train: np.ndarray, generated: np.ndarray) -> float:
    """Share of samples whose nearest / second-nearest training distance ratio is below 1/3."""
    tr, ge = (
        check_features(train, "memorization_rate: train"),
        check_features(generated, "memorization_rate: generated", 1),
    )
    check_same_dim(("train", tr), ("generated", ge))
    return float((train_neighbours(tr, ge).ratio < MEMORIZATION_RATIO).mean())


def authenticity_flags(train: np.ndarray, nb: TrainNeighbours) -> np.ndarray:
    """True where a sample is farther from its nearest training point than that point's own nearest neighbour."""
    return nb.d1 > train_nn_distance(train, nb.index)


def authenticity(train: np.ndarray, generated: np.ndarray) -> float:
    """Share of authentic samples (Alaa et al. 2022): a sample is authentic when it is farther from its
    nearest training point than that training point is from its own nearest training neighbour."""
    tr, ge = (
        check_features(train, "authenticity: train"),
        check_features(generated, "authenticity: generated", 1),
    )
    check_same_dim(("train", tr), ("generated", ge))
    return float(authenticity_flags(tr, train_neighbours(tr, ge)).mean())


def closer_to_train_share(
    train: np.ndarray, test: np.ndarray, generated: np.ndarray, *, seed: int = 0
) -> float:
    """Share of samples nearer to the training set than to the held-out set (ties count 1/2); 0.5 is ideal.

    The larger of train and test is first subsampled (seeded) to the size of the smaller, so that
    a fresh draw from p_data is equally likely to land nearer to either.
    """
    tr = check_features(train, "closer_to_train_share: train", 1)
    te = check_features(test, "closer_to_train_share: test", 1)
    ge = check_features(generated, "closer_to_train_share: generated", 1)
    check_same_dim(("train", tr), ("test", te), ("generated", ge))
    rng = np.random.default_rng(seed)
    n = min(len(tr), len(te))
    tr = tr if len(tr) == n else tr[rng.choice(len(tr), n, replace=False)]
    te = te if len(te) == n else te[rng.choice(len(te), n, replace=False)]
    d_train = knn(ge, tr, 1)[0][:, 0]
    d_test = knn(ge, te, 1)[0][:, 0]
    return float(((d_train < d_test) + 0.5 * (d_train == d_test)).mean())
