"""Known degradations of real images, each with the verdicts a judge must give: the judge's own test.

Every case is built from real data whose right answer is known: fresh held-out images (that must pass
both rules), the same images blurred, noised, with contrast halved or classes missing (Rule 1 must fail,
Rule 2 pass: they copy nothing), training images copied outright, with a little noise, mirrored or for
half the samples (Rule 2 must fail), and collapsed samples (all black, one image repeated, the training
mean repeated: Rule 1 fails; Rule 2 passes, because n identical samples are one sample, and one sample
cannot show copying).

    data = suite_data(dataset)                  # training images and fresh held-out ones
    for case in DEGRADATIONS:
        x = case.make(data, seed)               # (n, C, H, W) in [0, 1]
        ev = genlab.evaluate(x, dataset, n=len(x))

"Fresh" images are test rows that the evaluation's reference sample T does not use: `suite_data` takes
the first half of the evaluation plan's test permutation as T (so n <= half the test split) and the
rest as the fresh pool. `tests/judge/test_degradations.py` asserts every verdict on digits and a small
Fashion-MNIST subset; `benchmarks/judge.py` runs the full table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = [
    "DEGRADATIONS",
    "Degradation",
    "SuiteData",
    "add_noise",
    "blur",
    "hflip",
    "keep_classes",
    "judge_cases",
    "run_case",
    "verdict_specs",
    "scale_contrast",
    "suite_data",
]


# ============================================================================ the degradations
def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of images (N, C, H, W) with a standard deviation of `sigma` pixels (edges reflected)."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(x, np.float32)
    return gaussian_filter(x, sigma=(0, 0, sigma, sigma), mode="reflect").astype(np.float32)


def add_noise(x: np.ndarray, sd: float, *, seed: int = 0) -> np.ndarray:
    """Gaussian pixel noise of standard deviation `sd`, clipped back to [0, 1]."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 21]))
    x = np.asarray(x, np.float32)
    return np.clip(x + rng.normal(0.0, sd, x.shape).astype(np.float32), 0.0, 1.0)


def scale_contrast(x: np.ndarray, factor: float) -> np.ndarray:
    """Each image's deviations from its own mean intensity multiplied by `factor` (0.5: contrast halved)."""
    x = np.asarray(x, np.float32)
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip(m + factor * (x - m), 0.0, 1.0)


def hflip(x: np.ndarray) -> np.ndarray:
    """Mirror images left to right."""
    return np.ascontiguousarray(np.asarray(x)[..., ::-1])


def keep_classes(x: np.ndarray, labels: np.ndarray, classes: Any, n: int, *, seed: int = 0) -> np.ndarray:
    """n images of the given classes only: all of them if there are n, else drawn with replacement."""
    rows = np.flatnonzero(np.isin(labels, list(classes)))
    if len(rows) == 0:
        raise DataError(f"keep_classes: no image of classes {list(classes)}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 22]))
    pick = rng.permutation(rows)[:n] if len(rows) >= n else rng.choice(rows, n, replace=True)
    return np.asarray(x[pick], np.float32)


# ============================================================================ the suite
@dataclass
class SuiteData:
    """Training images and fresh real ones (test rows outside the reference sample), with labels."""

    train: np.ndarray
    train_labels: np.ndarray | None
    fresh: np.ndarray
    fresh_labels: np.ndarray | None
    n: int  # samples per case (= the fresh images available, at most half the test split)


def suite_data(dataset: Any, *, n: int | None = None, seed: int = 0) -> SuiteData:
    """Split the test rows as `evaluate(..., n, seed)` will: its reference sample T is the first n of
    the plan's test permutation, so the rows after those are fresh real images the judge never compares
    with. n defaults to half the test split."""
    from genlab.judge.measures import make_plan

    test = np.asarray(dataset.test, np.float32)
    n = int(n or len(test) // 2)
    if not 20 <= n <= len(test) // 2:
        raise DataError(f"suite_data: n must lie in [20, {len(test) // 2}] (half the test split), got {n}")
    full = make_plan(len(dataset.train), len(test), len(test), seed).test_idx  # the same permutation
    fresh = full[n : 2 * n]
    labels = getattr(dataset, "test_labels", None)
    return SuiteData(
        np.asarray(dataset.train, np.float32),
        getattr(dataset, "train_labels", None),
        test[fresh],
        None if labels is None else np.asarray(labels)[fresh],
        n,
    )


def _copies(d: SuiteData, seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 23]))
    return d.train[rng.choice(len(d.train), d.n, replace=len(d.train) < d.n)]


def _classes(d: SuiteData, share: float, seed: int) -> np.ndarray:
    if d.fresh_labels is None:
        raise DataError("this degradation needs class labels")
    classes = np.unique(d.fresh_labels)
    k = max(1, int(round(len(classes) * share)))
    return keep_classes(d.fresh, d.fresh_labels, classes[:k], d.n, seed=seed)


def _half_copies(d: SuiteData, seed: int) -> np.ndarray:
    half = d.n // 2
    return np.concatenate([_copies(d, seed)[:half], d.fresh[: d.n - half]])


def _repeat(image: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(np.asarray(image, np.float32)[None], n, axis=0)


@dataclass(frozen=True)
class Degradation:
    """One case: how to make its samples from `SuiteData` and a seed, and the right verdicts.

    rule1/rule2: "pass" or "fail"; a dict {data set name: verdict, "default": verdict} where the answer
    differs by data: noise of sd 0.02 is invisible on 8x8 digits of 17 grey levels, but turns the
    exactly black backgrounds of Fashion-MNIST into a visible grain (docs/metrics.md). A mirrored copy
    fails Rule 1 everywhere: a mirrored digit is no digit, and Fashion-MNIST's shoes and bags all face
    one way.
    """

    name: str
    what: str
    rule1: str | dict[str, str]
    rule2: str
    make: Callable[[SuiteData, int], np.ndarray]

    def expected(self, rule: str, data: str = "") -> str:
        v = getattr(self, rule)
        return v if isinstance(v, str) else v.get(data, v["default"])


DEGRADATIONS: list[Degradation] = [
    Degradation("fresh", "fresh held-out images (not the reference rows)", "pass", "pass",
                lambda d, s: d.fresh.copy()),
    Degradation("blur 0.5", "fresh images, Gaussian blur of 0.5 px", "fail", "pass",
                lambda d, s: blur(d.fresh, 0.5)),
    Degradation("blur 1", "fresh images, Gaussian blur of 1 px", "fail", "pass", lambda d, s: blur(d.fresh, 1.0)),
    Degradation("noise 0.05", "fresh images + Gaussian noise, sd 0.05", "fail", "pass",
                lambda d, s: add_noise(d.fresh, 0.05, seed=s)),
    Degradation("noise 0.1", "fresh images + Gaussian noise, sd 0.1", "fail", "pass",
                lambda d, s: add_noise(d.fresh, 0.1, seed=s)),
    Degradation("contrast 0.5", "fresh images, contrast halved", "fail", "pass",
                lambda d, s: scale_contrast(d.fresh, 0.5)),
    Degradation("half classes", "fresh images of half the classes", "fail", "pass",
                lambda d, s: _classes(d, 0.5, s)),
    Degradation("one class", "fresh images of one class", "fail", "pass", lambda d, s: _classes(d, 0.0, s)),
    Degradation("copies", "training images", "pass", "fail", _copies),
    Degradation("copies + noise 0.02", "training images + Gaussian noise, sd 0.02",
                {"digits": "pass", "default": "fail"}, "fail", lambda d, s: add_noise(_copies(d, s), 0.02, seed=s)),
    Degradation("half copies", "half training images, half fresh ones", "pass", "fail", _half_copies),
    Degradation("mirrored copies", "training images mirrored left to right", "fail", "fail",
                lambda d, s: hflip(_copies(d, s))),
    Degradation("all black", "every sample all black", "fail", "pass",
                lambda d, s: np.zeros_like(d.fresh)),
    Degradation("one image repeated", "one fresh image, n times", "fail", "pass",
                lambda d, s: _repeat(d.fresh[0], d.n)),
    Degradation("training mean repeated", "the mean training image, n times", "fail", "pass",
                lambda d, s: _repeat(d.train.mean(0), d.n)),
]  # fmt: skip


def run_case(
    case: Degradation, dataset: Any, data: SuiteData, *, features: Any = "auto", seed: int = 0
) -> Any:
    """Evaluate one case's samples against `dataset` (the reference sample T disjoint from the fresh pool)."""
    from genlab.judge.evaluation import evaluate

    x = case.make(data, seed)
    return evaluate(x, dataset, n=len(x), features=features, seed=seed)


def verdict_specs() -> list[Any]:
    """The metrics that decide verdicts (judged ones; diagnostics and the NLL, which needs a model, left out):
    `judge_cases` with these gives the same verdicts as the full evaluation, faster."""
    from genlab.judge.specs import METRICS

    return [s for s in METRICS if s.judged and s.name != "nll_per_dim"]


def judge_cases(
    dataset: Any,
    cases: list[Degradation] | None = None,
    *,
    features: Any = "auto",
    n: int | None = None,
    seed: int = 0,
    specs: list[Any] | None = None,
) -> list[tuple[Degradation, Any]]:
    """Every case's `Evaluation`, with the training and test features computed once (as `evaluate` computes
    them: the same extractor, plan and mirror images). `specs=None`: all metrics."""
    from genlab.judge.evaluation import evaluate_features
    from genlab.judge.features import FeatureExtractor, make_extractor
    from genlab.judge.measures import make_plan
    from genlab.judge.specs import METRICS

    data = suite_data(dataset, n=n, seed=seed)
    ext = features if isinstance(features, FeatureExtractor) else make_extractor(features, dataset)
    train, test = np.asarray(dataset.train, np.float32), np.asarray(dataset.test, np.float32)
    f_train, f_test = ext.train_features(dataset), ext(test)
    out = []
    for case in cases if cases is not None else DEGRADATIONS:
        x = case.make(data, seed)
        plan = make_plan(len(train), len(test), len(x), seed)
        mirror = (ext(hflip(x)), ext(hflip(test[plan.test_idx])))
        ev = evaluate_features(
            f_train, f_test, ext(x), seed=seed, features=dict(ext.info), plan=plan, dataset=dataset,
            specs=specs if specs is not None else METRICS, mirror=mirror,
        )  # fmt: skip
        ev.samples = x
        out.append((case, ev))
    return out
