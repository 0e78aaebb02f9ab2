"""The Rule 2 watch: a cheap copying check the training engine runs now and then on the current (EMA) model.

Each check draws m samples (the same seed every time, so checks differ only by the model), embeds them
in the evaluation's feature space, and computes, beside the same figures for held-out rows:

- the data-copying statistic C_T against the training set (held-out rows T_A as the comparison set, the
  other half T_B as the reference sample, as `evaluate` does);
- the memorisation rate (nearest / second-nearest training distance below 1/3);
- a fidelity number on the same samples: the Frechet distance to a training subset.

- the copy shares the evaluation's Rule 2 verdict rests on (mirror-aware for images, in the content
  columns of the features, with the effective number of distinct samples).

A check fails ("copying") when the copy share or the near-copy share exceeds its held-out reference by
more than the evaluation's tolerance (max(margin, 4 sigma)); C_T and the memorisation rate are recorded
beside them as diagnostics, as in the evaluation.
The engine stops after `patience` failing checks in a row (2: one noisy check does not end a run) and
keeps the state of the last check that passed. Everything a check needs of the data (features, k-means
cells, the references) is computed once, at the first check, and the check's cost is what the engine
schedules by: no more than `share` (10%) of the training time goes to watching (docs/metrics.md).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from genlab.errors import GenlabError
from genlab.judge import metrics as M
from genlab.judge.measures import Q_COPY, Q_NEAR, CopyReference, share_sigma

__all__ = ["DEFAULT_SAMPLES", "SMALL_TRAIN", "Rule2Watch", "watch_for"]

#: samples per check (capped by the held-out rows): enough for C_T's cells, cheap to draw
DEFAULT_SAMPLES = 512
#: "small enough for copying to matter": the watch is on by default up to this many training rows
SMALL_TRAIN = 20_000
CT_LIMIT = -3.0
MEM_MARGIN = 0.01
COPY_MARGIN = 0.01  # the evaluation's margins (specs.py: copy_share, near_copy_share)
NEAR_MARGIN = 0.02
Z = 4.0


def _flip(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x)[..., ::-1])


class Rule2Watch:
    """A `genlab.train.engine.Watch` for Rule 2. `dataset`: train and test arrays (a Dataset or FitData's).

    samples: m per check (default min(512, test rows)). features: the evaluation's feature space
    ("auto" as in `genlab.evaluate`). action: "stop" or "warn". min_steps: no check before this step.
    every: check every this many steps after min_steps (the same checks on any machine); None (default):
    as often as keeps the checks within `share` of the training time.
    """

    def __init__(
        self,
        dataset: Any,
        *,
        samples: int | None = None,
        features: Any = "auto",
        action: str = "stop",
        patience: int = 2,
        share: float = 0.1,
        min_steps: int = 200,
        every: int | None = None,
        seed: int = 0,
    ) -> None:
        self.dataset, self.features, self.action = dataset, features, action
        self.patience, self.share, self.min_steps, self.seed = (
            int(patience),
            float(share),
            int(min_steps),
            int(seed),
        )
        if every is not None and int(every) < 1:
            raise GenlabError(f"every must be a positive number of steps, got {every!r}")
        self.every = None if every is None else int(every)
        n_test = len(dataset.test)
        self.m = int(min(samples or DEFAULT_SAMPLES, n_test))
        self._ready = False

    def _setup(self) -> None:
        from genlab.judge.features import make_extractor

        t0 = time.perf_counter()
        ds = self.dataset
        self.ext = make_extractor(self.features, ds)
        self.train_f = self.ext.train_features(ds)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 11]))
        rows = np.asarray(ds.test, np.float32)[rng.permutation(len(ds.test))[: self.m]]
        test = self.ext(rows)
        half = len(test) // 2
        self.t_a, self.t_b = test[:half], test[half:]
        blocks = (self.ext.info or {}).get("blocks") or {}
        self.copy_dims = blocks.get("embedding")
        self.mirror = np.asarray(ds.train).ndim == 4  # images: a mirrored copy is a copy
        tm = self._cut(self.ext(_flip(rows))) if self.mirror else None
        self.copy_ref = CopyReference(
            self._cut(self.train_f), self._cut(test), tm, np.arange(half), np.arange(half, len(test))
        )
        self.s = self.train_f[rng.permutation(len(self.train_f))[: self.m]]
        self.cells = M.fit_cells(self.train_f, M.default_cells(len(self.t_a)), seed=self.seed)
        self.ct_ref, _ = M.ct_from_partition(self.train_f, self.t_a, self.t_b, self.cells)
        nb = M.train_neighbours(self.train_f, test)
        self.mem_ref = float((nb.ratio < M.MEMORIZATION_RATIO).mean())
        self.n_ref = len(test)
        self.mu_s, self.cov_s = M.moments(self.s)
        self.fd_ref = M.frechet_distance_from_moments(self.mu_s, self.cov_s, *M.moments(test))
        self.setup_seconds = time.perf_counter() - t0
        self._ready = True

    def _cut(self, f: np.ndarray) -> np.ndarray:
        return f if self.copy_dims is None else np.ascontiguousarray(f[:, : self.copy_dims])

    def _draw(self, model: Any) -> np.ndarray:
        """m samples as the evaluation judges them: float32 rows; a table's encoded rows, decoded and encoded
        again so that the rows are those a user gets (categories snapped, numbers rounded)."""
        x = np.asarray(model.sample_encoded(self.m, seed=self.seed), np.float32)
        table = getattr(self.dataset, "table", None)  # a Dataset's table info, or a FitData's codec
        codec = getattr(table, "codec", table)
        if codec is not None:
            x = codec.encode(codec.decode(x), where="samples of the Rule 2 watch").astype(np.float32)
        return x

    def check(self, model: Any, step: int) -> dict[str, Any]:
        """One check of `model` (a copy the engine made); the record that goes to log.jsonl."""
        if not self._ready:
            self._setup()
        x = self._draw(model)
        f = self.ext(x)
        ct, _ = M.ct_from_partition(self.train_f, self.t_a, f, self.cells)
        nb = M.train_neighbours(self.train_f, f)
        mem = float((nb.ratio < M.MEMORIZATION_RATIO).mean())
        mem_limit = self.mem_ref + max(MEM_MARGIN, Z * share_sigma(mem, len(f), self.mem_ref, self.n_ref))
        fd = M.frechet_distance_from_moments(self.mu_s, self.cov_s, *M.moments(f))
        of = self.copy_ref.of(self._cut(f), self._cut(self.ext(_flip(x))) if self.mirror else None)
        reasons, shares = [], {}
        for key, q, margin in (("copy_share", Q_COPY, COPY_MARGIN), ("near_copy_share", Q_NEAR, NEAR_MARGIN)):
            v, r, sigma = self.copy_ref.share(of, q)
            limit = r + max(margin, Z * sigma) if sigma is not None else float("nan")
            shares |= {key: v, f"{key}_reference": r, f"{key}_limit": limit}
            if sigma is not None and v > limit:
                reasons.append(f"{key.replace('_', ' ')} {v:.3f} > {limit:.3f}")
        return {
            "fail": bool(reasons),
            "reason": "; ".join(reasons) or "no copying",
            "ct": ct,
            "ct_reference": self.ct_ref,
            "memorization_rate": mem,
            "memorization_reference": self.mem_ref,
            "memorization_limit": mem_limit,
            "frechet_distance": fd,
            "frechet_reference": self.fd_ref,
            "samples": self.m,
            "n_eff": int(of["n_eff"]),
            **shares,
        }


def watch_for(data: Any, watch: Any, *, action: str = "stop", seed: int = 0) -> Any:
    """The watch a fit gets: `watch` is "rule2" (on), "off" or None (off), "auto" (on for training sets of
    up to SMALL_TRAIN rows with at least 40 held-out rows, where copying can happen within a budget), or a
    ready `Watch` object. `data`: the fit's data (train and test arrays)."""
    if watch is None or watch == "off":
        return None
    if not isinstance(watch, str):
        return watch
    if watch not in ("rule2", "auto"):
        raise GenlabError(f"watch must be 'rule2', 'auto' or 'off', got {watch!r}")
    if action not in ("stop", "warn"):
        raise GenlabError(f"watch_action must be 'stop' or 'warn', got {action!r}")
    test = getattr(data, "test", None)
    n_test = 0 if test is None else len(test)
    if n_test < 40:
        if watch == "rule2":
            raise GenlabError(
                f"watch='rule2' needs at least 40 held-out rows to compare with; the data has {n_test}"
            )
        return None
    if watch == "auto" and len(data.train) > SMALL_TRAIN:
        return None
    return Rule2Watch(data, action=action, seed=seed)
