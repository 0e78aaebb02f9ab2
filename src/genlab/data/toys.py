"""The 2-D toy sets, after FFJORD's `toy_data` (Grathwohl et al. 2019), drawn with numpy.

Each generator takes (n, rng, **options) and returns an (n, 2) float array. Definitions and scales:

- `moons`: two interleaved half circles (unit radius, the lower one shifted by (1, -0.5)), angle
  uniform on [0, pi], Gaussian noise sd `noise`=0.1, then mapped by x -> 2x + (-1, -0.2).
- `circles`: two concentric circles of radius 3 and 1.5, angle uniform, noise sd `noise`=0.08
  added before the x3 scaling (so sd 0.24 in the output), half the points on each.
- `8gaussians`: equal mixture of 8 isotropic Gaussians, means on the circle of radius 2*sqrt(2) at
  angles k*pi/4, sd 1/(2*sqrt(2)) ~= 0.354 (FFJORD's scale 4, sd 0.5, divided by sqrt(2)). Exact
  `log_density`.
- `checkerboard`: uniform on the 8 black squares of a 4x4 board of side-2 squares on [-4, 4]^2
  (square (i, j) is black when floor(x/2) + floor(y/2) is even). Exact `log_density` = -log(32) on
  the support, -inf off it.
- `swissroll`: t = 1.5*pi*(1 + 2u), (t cos t, t sin t) + noise sd `noise`=1.0, divided by 5.
- `pinwheel`: 5 arms; radial sd 0.3, tangential sd 0.1, rate 0.25, scaled x2 (FFJORD's).
- `spirals`: two interleaved spirals (FFJORD's `2spirals`) with noise sd `noise`=0.1 after /3.

Only `8gaussians` and `checkerboard` have a known closed-form density; the others give None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genlab.data.dataset import DATA_STREAM, check_split_params, make_dataset, rng_for
from genlab.errors import DataError

__all__ = ["CENTERS8", "SD8", "checkerboard_log_density", "eight_gaussians_log_density", "load_toy"]

R8 = 2.0 * math.sqrt(2.0)  # radius of the 8gaussians circle
SD8 = 0.5 / math.sqrt(2.0)  # sd of each 8gaussians component
CENTERS8 = R8 * np.stack(
    [np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1
)  # (8, 2)
CHECKER_LOG_DENSITY = -math.log(32.0)  # 8 black squares of area 4


def moons(n: int, rng: np.random.Generator, noise: float = 0.1) -> np.ndarray:
    n_out = n // 2
    theta = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(theta), np.sin(theta)], 1)
    lower = np.stack([1.0 - np.cos(theta), 0.5 - np.sin(theta)], 1)
    x = np.where((np.arange(n) < n_out)[:, None], upper, lower)
    x = x + noise * rng.standard_normal((n, 2))
    return 2.0 * x + np.array([-1.0, -0.2])


def circles(n: int, rng: np.random.Generator, noise: float = 0.08) -> np.ndarray:
    radius = np.where(np.arange(n) < n // 2, 1.0, 0.5)
    theta = rng.uniform(0.0, 2 * np.pi, n)
    x = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    x = x + noise * rng.standard_normal((n, 2))
    return 3.0 * x


def eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    k = rng.integers(0, 8, n)
    return CENTERS8[k] + SD8 * rng.standard_normal((n, 2))


def eight_gaussians_log_density(x: np.ndarray) -> np.ndarray:
    """log p(x) for x (n, 2): log mean_k N(x; mu_k, SD8^2 I), by log-sum-exp."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    d2 = ((x[:, None, :] - CENTERS8[None]) ** 2).sum(-1)  # (n, 8)
    logn = -0.5 * d2 / SD8**2 - math.log(2 * math.pi * SD8**2)
    m = logn.max(1, keepdims=True)
    return (m + np.log(np.exp(logn - m).mean(1, keepdims=True)))[:, 0]


def checkerboard(n: int, rng: np.random.Generator) -> np.ndarray:
    x1 = rng.uniform(-2.0, 2.0, n)
    x2 = rng.uniform(0.0, 1.0, n) - 2.0 * rng.integers(0, 2, n) + np.floor(x1) % 2
    return 2.0 * np.stack([x1, x2], 1)


def checkerboard_log_density(x: np.ndarray) -> np.ndarray:
    """log p(x) for x (n, 2): -log 32 on the black squares inside [-4, 4)^2, -inf elsewhere."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    inside = np.all((x >= -4.0) & (x < 4.0), axis=1)
    black = (np.floor(x[:, 0] / 2) + np.floor(x[:, 1] / 2)) % 2 == 0
    return np.where(inside & black, CHECKER_LOG_DENSITY, -np.inf)


def swissroll(n: int, rng: np.random.Generator, noise: float = 1.0) -> np.ndarray:
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(0.0, 1.0, n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + noise * rng.standard_normal((n, 2))
    return x / 5.0


def pinwheel(n: int, rng: np.random.Generator) -> np.ndarray:
    radial_sd, tangential_sd, n_arms, rate = 0.3, 0.1, 5, 0.25
    arms = rng.integers(0, n_arms, n)
    f = rng.standard_normal((n, 2)) * np.array([radial_sd, tangential_sd])
    f[:, 0] += 1.0
    angle = arms * (2 * np.pi / n_arms) + rate * np.exp(f[:, 0])
    c, s = np.cos(angle), np.sin(angle)
    # rotate each feature vector by its angle: [x, y] @ [[c, -s], [s, c]]
    return 2.0 * np.stack([f[:, 0] * c + f[:, 1] * s, -f[:, 0] * s + f[:, 1] * c], 1)


def spirals(n: int, rng: np.random.Generator, noise: float = 0.1) -> np.ndarray:
    half = n // 2
    t = np.sqrt(rng.uniform(0.0, 1.0, n)) * 3 * np.pi  # 540 degrees
    arm = np.stack([-np.cos(t) * t, np.sin(t) * t], 1) + 0.5 * rng.uniform(0.0, 1.0, (n, 2))
    sign = np.where(np.arange(n) < half, 1.0, -1.0)[:, None]
    return sign * arm / 3.0 + noise * rng.standard_normal((n, 2))


def load_toy(spec: Any, options: dict[str, Any], test_fraction: Any, seed: Any) -> Any:
    """The registry's loader for a toy: draw n points from the data stream of `seed`, then split.
    `spec.params` names the generator (`fn`) and, where known, the exact density (`log_density`)."""
    where = f"dataset {spec.name!r}"
    if options["n"] < 2:
        raise DataError(f"{where}: option n must be at least 2, got {options['n']}")
    if options.get("noise", 0.0) < 0:
        raise DataError(f"{where}: option noise must be >= 0, got {options['noise']}")
    check_split_params(test_fraction, seed)  # before generating anything
    fn = globals()[spec.params["fn"]]
    log_density = globals()[spec.params["log_density"]] if "log_density" in spec.params else None
    x = fn(options["n"], rng_for(seed, DATA_STREAM), **{k: v for k, v in options.items() if k != "n"})
    return make_dataset(
        name=spec.name,
        kind="vector",
        x=x.astype(np.float32),
        where=where,
        source=spec.name,
        options=options,
        test_fraction=test_fraction,
        seed=seed,
        log_density=log_density,
        feature_names=["x1", "x2"],
    )
