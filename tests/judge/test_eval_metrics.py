"""The metric functions against closed forms, reference code (prdc, scipy sqrtm) and known behaviours."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import mannwhitneyu

from genlab.errors import DataError
from genlab.judge import neighbors as N
from genlab.metrics import (
    authenticity,
    c2st,
    closer_to_train_share,
    ct_test,
    density_coverage,
    frechet_distance,
    kid,
    memorization_rate,
    precision_recall,
)


# ------------------------------------------------------------------------------------------ neighbours
def test_knn_matches_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(57, 5)), rng.normal(size=(83, 5))
    r[10] = r[3]  # a duplicate in the reference set
    full = np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1))
    dist, idx = N.knn(q, r, 4, block_bytes=8 * 83 * 5)  # 5 rows per block: 12 blocks
    np.testing.assert_allclose(dist, np.sort(full, 1)[:, :4], atol=1e-12)
    np.testing.assert_allclose(full[np.arange(57)[:, None], idx], dist, atol=1e-12)

    self_full = np.sqrt(((r[:, None] - r[None]) ** 2).sum(-1))
    np.fill_diagonal(self_full, np.inf)  # not its own neighbour; the duplicate still counts at 0
    radii = N.kth_neighbour_distance(r, 3, block_bytes=8 * 83 * 7)
    np.testing.assert_allclose(radii, np.sort(self_full, 1)[:, 2], atol=1e-12)
    assert N.knn(r, r, 1, exclude_self=True)[0][3, 0] == 0.0


def test_distance_blocks_respect_the_memory_budget():
    a, b = np.zeros((1000, 3)), np.zeros((700, 3))
    budget = 8 * 700 * 64
    rows = [d2.shape[0] for _, d2 in N.sq_distance_blocks(N.as_tensor(a), N.as_tensor(b), block_bytes=budget)]
    assert max(rows) == 64 and sum(rows) == 1000  # never the full 1000 x 700 matrix at once


def test_knn_asks_for_too_many_neighbours():
    with pytest.raises(DataError, match="k=5"):
        N.knn(np.zeros((3, 2)), np.zeros((4, 2)), 5)


# ------------------------------------------------------------------------------------------ Frechet distance
def _sqrtm_fd(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).normal(size=(300, 12)) * 3 + 5
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n", [200, 6])  # 6 < d: singular covariances take the eigen fallback
def test_frechet_distance_agrees_with_scipy_sqrtm(n):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(n, 10)) @ rng.normal(size=(10, 10))
    b = rng.normal(size=(n, 10)) * 1.5 + 0.3
    assert frechet_distance(a, b) == pytest.approx(_sqrtm_fd(a, b), rel=1e-6, abs=1e-6)


def test_frechet_distance_matches_the_gaussian_closed_form():
    # samples whitened to exactly the wanted mean and covariance: FD = |mu1-mu2|^2 + sum (sqrt(a)-sqrt(b))^2
    rng = np.random.default_rng(3)

    def exact(mu, var, n=500):
        z = rng.normal(size=(n, len(mu)))
        z -= z.mean(0)
        z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False)).T)
        return z * np.sqrt(var) + mu

    mu1, v1, mu2, v2 = (
        np.array([0.0, 1, 2]),
        np.array([1.0, 4, 9]),
        np.array([1.0, 1, 0]),
        np.array([4.0, 1, 1]),
    )
    want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(exact(mu1, v1), exact(mu2, v2)) == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------------------------------ KID
def test_kid_is_the_unbiased_mmd_with_the_cubic_kernel():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) + 0.5
    k = lambda x, y: (x @ y.T / 6 + 1) ** 3  # noqa: E731
    m = 40
    want = (
        (k(a, a).sum() - np.trace(k(a, a))) / (m * (m - 1))
        + (k(b, b).sum() - np.trace(k(b, b))) / (m * (m - 1))
        - 2 * k(a, b).mean()
    )
    mean, std = kid(a, b, subsets=3, subset_size=40)  # every subset is the whole set
    assert mean == pytest.approx(want, rel=1e-10) and std == pytest.approx(0.0, abs=1e-12)


def test_kid_near_zero_for_identical_distributions_and_positive_otherwise():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8))
    mean, std = kid(a, b, subsets=30, subset_size=300)
    assert abs(mean) < 0.02 and std > 0
    shifted, _ = kid(a, b + 0.5, subsets=30, subset_size=300)
    assert shifted > 10 * max(abs(mean), std)


# ------------------------------------------------------------------------------------------ precision, recall, density, coverage
def _prdc(real, fake, k):
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        return compute_prdc(real, fake, k)


@pytest.mark.parametrize("k", [3, 5])
def test_manifold_metrics_agree_with_the_prdc_package(k):
    rng = np.random.default_rng(6)
    real = rng.normal(size=(600, 16))
    fake = rng.normal(size=(450, 16)) * 1.2 + 0.15
    want = _prdc(real, fake, k)
    pr, dc = precision_recall(real, fake, k=k), density_coverage(real, fake, k=k)
    for key, got in {**pr, **dc}.items():
        assert got == pytest.approx(float(want[key]), abs=1e-6), key


def test_density_and_coverage_for_identical_distributions():
    # Naeem et al. 2020: E[density] = 1 and E[coverage] ~ 1 - 2^-k when fake and real share a distribution
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    dc = density_coverage(real, fake, k=5)
    assert dc["density"] == pytest.approx(1.0, abs=0.06)
    assert dc["coverage"] == pytest.approx(1 - 2.0**-5, abs=0.02)


def test_exact_copies_score_perfect_fidelity_yet_are_all_memorised():
    rng = np.random.default_rng(8)
    train = rng.normal(size=(500, 8))
    copies = train[rng.permutation(500)]
    assert precision_recall(train, copies, k=3) == {"precision": 1.0, "recall": 1.0}
    assert memorization_rate(train, copies) == 1.0
    assert authenticity(train, copies) == 0.0


# ------------------------------------------------------------------------------------------ classifier two-sample test
def test_c2st_near_half_for_one_distribution_and_high_for_two():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(600, 4)), rng.normal(size=(600, 4))
    assert c2st(a, b) == pytest.approx(0.5, abs=0.06)
    assert c2st(a, b + np.array([2.0, 0, 0, 0])) > 0.8


# ------------------------------------------------------------------------------------------ C_T and the copy detectors
def test_mann_whitney_z_matches_the_reference_formula():
    from genlab.judge.metrics import mann_whitney_z

    rng = np.random.default_rng(10)
    x, y = rng.exponential(size=37), rng.exponential(size=53) * 1.3
    x[:3] = y[:3]  # a few ties
    u = mannwhitneyu(x, y, alternative="less").statistic  # U of x: pairs with x > y, ties 1/2
    want = (u - (37 * 53 / 2 - 0.5)) / np.sqrt(37 * 53 * (37 + 53 + 1) / 12)
    assert mann_whitney_z(x, y) == pytest.approx(want, rel=1e-12)


@pytest.fixture(scope="module")
def copy_sets():
    rng = np.random.default_rng(11)
    train, test, fresh = rng.normal(size=(2000, 6)), rng.normal(size=(600, 6)), rng.normal(size=(600, 6))
    copies = train[rng.choice(2000, 600, replace=False)]
    half = np.concatenate([copies[:300], fresh[:300]])
    return train, test, fresh, copies, half


def test_ct_sign_tells_copying_from_fresh_and_underfit(copy_sets):
    train, test, fresh, copies, half = copy_sets
    assert abs(ct_test(train, test, fresh)) < 3
    assert ct_test(train, test, copies) < -10  # strongly negative: data copying
    assert ct_test(train, test, half) < -3
    assert ct_test(train, test, fresh * 1.5) > 5  # over-dispersed: strongly positive


def test_memorization_authenticity_and_closer_share(copy_sets):
    train, test, fresh, copies, half = copy_sets
    assert memorization_rate(train, fresh) < 0.02
    assert memorization_rate(train, half) == pytest.approx(0.5, abs=0.02)
    assert authenticity(train, fresh) > 0.4
    assert authenticity(train, half) == pytest.approx(authenticity(train, fresh[:300]) / 2, abs=0.02)
    assert closer_to_train_share(train, test, fresh) == pytest.approx(0.5, abs=0.07)
    same_size = train[:600]  # train no larger than test: nothing is subsampled, copies are always nearer
    assert closer_to_train_share(same_size, test, same_size[::-1]) == 1.0


def test_metric_inputs_are_checked():
    good = np.zeros((10, 3))
    with pytest.raises(DataError, match="dimensions differ"):
        frechet_distance(good, np.zeros((10, 4)))
    bad = good.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match="row 4"):
        precision_recall(good, bad)
    with pytest.raises(DataError, match="k=3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))


def test_neighbours_on_another_device_match(monkeypatch) -> None:
    """The distance blocks are computed on a GPU when there is one and the work is large. This machine has
    none, so only the plumbing is tested: forcing a device (GENLAB_EVAL_DEVICE) gives the same neighbours,
    and small work stays on the CPU."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 7)), rng.normal(size=(400, 7))
    d0, i0 = N.knn(a, b, 3)
    monkeypatch.setenv("GENLAB_EVAL_DEVICE", "cpu")
    d1, i1 = N.knn(a, b, 3)
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_allclose(d0, d1)
    assert N.compute_device(10, 10).type == "cpu"
