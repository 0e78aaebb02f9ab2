"""`evaluate`: judge a model (or an array of samples) by Rule 1 (fidelity) and Rule 2 (novelty).

The sets compared (n generated samples; features throughout):

    T      n points of the test split: the held-out real reference sample.
    S      n points drawn from the training split: the real data Rule 1 compares with.
    train  the whole training split: what Rule 2 checks copying against.
    T_A/B  the two halves of T.

Rule 1 compares the generated samples G with S, and the reference is T against the same S: both
sides are n fresh-or-generated points against the same n real points, so a perfect sampler of
p_data scores like the reference up to sampling noise. (Comparing with training points is
deliberate: copies of them look perfect here, and Rule 2 is there to catch them.) The KID, FD,
precision/recall/density/coverage and the classifier test are all computed this way.
nll_per_dim is the model's mean negative log-likelihood per dimension on T (at most 2,000 points).
Its reference is the true entropy per dimension estimated on the same points, -mean log p_data(T) / D,
when the data set knows its true density (their difference is then KL(p_data || model) per
dimension); otherwise the model's own NLL on as many points of S, which shows the generalisation
gap and is not judged.

Rule 2 checks G against the whole training split. Its verdict rests on the copy shares: each
sample's distance to its nearest training point (mirror-aware for images), relative to that point's
own nearest-neighbour distance; the thresholds are quantiles of the same ratio over T_A, the
reference is the share of T_B, and the error uses the effective number of distinct samples (n
identical samples are one). Memorization rate and authenticity (with all of T), C_T and the
closer-to-train share (T_A as the held-out set, T_B as the reference sample) are diagnostics.

Which metrics are computed, and how each is judged, is the metric registry (`specs.py`); the
metrics themselves are functions of a shared context (`measures.py`); the thresholds are in
`verdict.py` and docs/metrics.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError
from genlab.judge.measures import EvalContext, Measure, Plan, make_plan
from genlab.judge.perclass import asked_labels, merge_verdict, per_class_section, sample_kwargs
from genlab.judge.specs import METRICS, MetricSpec
from genlab.judge.verdict import judge

__all__ = [
    "DEFAULT_N_CAP",
    "IMAGE_N_CAP",
    "MIN_N",
    "N_COPIES",
    "Evaluation",
    "default_n",
    "evaluate",
    "evaluate_features",
]

DEFAULT_N_CAP = 10_000
#: images: drawing the samples is the slow part of evaluating an image model (a diffusion or PixelCNN
#: sampler makes many network passes per image), and every sample also costs a nearest-neighbour search
#: of the whole training split. 2,000 keeps `genlab evaluate` on Fashion-MNIST within a minute for every
#: family on 2 CPU cores (benchmarks/eval_speed.py --only families); the tolerances come from the real
#: reference at the same n, so a smaller n widens them rather than biasing the verdict. `--n` overrides.
IMAGE_N_CAP = 2_000
#: with no n given, a model whose sampler is slow is judged on fewer samples: a pilot of PILOT_N samples
#: measures its rate, and n is cut (to a multiple of 100, at least MIN_AUTO_N) so that drawing takes about
#: SAMPLE_SECONDS (evaluation.json's "n_choice" says so; `n=` fixes n and makes the size machine-independent)
SAMPLE_SECONDS = 30.0
PILOT_N = 100
MIN_AUTO_N = 200
MIN_N = 20
N_COPIES = 10


@dataclass
class Evaluation:
    """The result of `evaluate`; `to_dict()` is what evaluation.json holds.

    `samples` are the generated observations that were judged (not part of the record): the report's
    pictures and the benchmarks reuse them instead of sampling again.
    """

    n: int
    features: dict[str, Any]
    rule1: dict[str, dict[str, Any]]
    rule2: dict[str, Any]
    verdict: dict[str, Any]
    seed: int = 0  # model.sample(n, seed=seed) reproduces the samples that copies' sample_index points into
    seconds: float = field(default=0.0, compare=False)
    samples: np.ndarray | None = field(default=None, compare=False, repr=False)
    frame: Any = field(default=None, compare=False, repr=False)  # tables: the judged samples as a DataFrame
    sample_seconds: float = field(default=0.0, compare=False)  # of `seconds`, spent drawing the samples
    # a label-conditional model (judge/perclass.py): evaluation.json's "per_class" and "guidance" sections;
    # the class asked for each sample, the context and the feature map (reused by the guidance sweep)
    per_class: dict[str, Any] | None = None
    guidance: dict[str, Any] | None = None
    labels: np.ndarray | None = field(default=None, compare=False, repr=False)
    context: Any = field(default=None, compare=False, repr=False)
    extractor: Any = field(default=None, compare=False, repr=False)
    # how n was chosen when it was cut for a slow sampler: default, n, samples_per_s, budget_s (else None)
    n_choice: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.verdict["rule1"] == "pass" and self.verdict["rule2"] == "pass"

    @property
    def copies(self) -> list[dict[str, Any]]:
        """The worst near-copies, nearest first: sample_index, train_index, distance, ratio, train_nn_distance."""
        return self.rule2.get("copies", [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "features": dict(self.features),
            "rule1": {k: dict(v) for k, v in self.rule1.items()},
            "rule2": {k: (list(v) if k == "copies" else dict(v)) for k, v in self.rule2.items()},
            "verdict": dict(self.verdict),
            **({"per_class": self.per_class} if self.per_class is not None else {}),
            **({"guidance": self.guidance} if self.guidance is not None else {}),
            **({"n_choice": self.n_choice} if self.n_choice is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        try:
            return cls(
                int(d["n"]),
                dict(d["features"]),
                dict(d["rule1"]),
                dict(d["rule2"]),
                dict(d["verdict"]),
                seed=int(d.get("seed", 0)),
                per_class=d.get("per_class"),
                guidance=d.get("guidance"),
                n_choice=d.get("n_choice"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"not an evaluation record ({type(e).__name__}: {e})") from None

    def __repr__(self) -> str:
        v = self.verdict
        return f"Evaluation(n={self.n}, rule1={v['rule1']!r}, rule2={v['rule2']!r}, features={self.features.get('kind')!r})"


# ============================================================================ on features
def _closest(ctx: EvalContext, k: int = N_COPIES) -> list[dict[str, Any]]:
    """The k samples nearest their nearest training point, nearest first (ties by the distance ratio)."""
    nb_g, _ = ctx.neighbours
    nn_g = ctx.gen_nn_distance
    order = np.lexsort((nb_g.ratio, nb_g.d1))[:k]
    return [
        {
            "sample_index": int(i),
            "train_index": int(nb_g.index[i]),
            "distance": float(nb_g.d1[i]),
            "ratio": float(nb_g.ratio[i]),
            "train_nn_distance": float(nn_g[i]),
        }
        for i in order
    ]


def evaluate_features(
    train: np.ndarray,
    test: np.ndarray,
    generated: np.ndarray,
    *,
    seed: int = 0,
    features: dict[str, Any] | None = None,
    plan: Plan | None = None,
    model: Any = None,
    dataset: Any = None,
    frames: Any = None,
    specs: list[MetricSpec] = METRICS,
    mirror: tuple[np.ndarray, np.ndarray] | None = None,
    labels: np.ndarray | None = None,
) -> Evaluation:
    """Both rules on feature arrays (N, D): n = len(generated) samples against a held-out sample of n test rows.

    `model` and `dataset` let metrics that need more than features (the held-out NLL) run; `frames`
    (a `genlab.judge.tables.TableFrames`) the table metrics. `mirror`: features of the mirrored samples
    and of the mirrored reference rows T (row for row), so that a mirrored copy counts as a copy.
    When `features` names blocks ({"blocks": {"embedding": k, ...}}), the copy shares use the first k
    columns only (what an image shows, not how sharp or noisy it is rendered).
    `labels`: the data-set label each sample
    was asked for (a conditional model): adds label accuracy and the per-class section (`perclass.py`).
    """
    from genlab.judge import metrics as M

    started = time.perf_counter()
    train = M.check_features(train, "training features")
    test = M.check_features(test, "test features")
    gen = M.check_features(generated, "generated features")
    M.check_same_dim(("train", train), ("test", test), ("generated", gen))
    n = len(gen)
    if n < MIN_N:
        raise DataError(f"evaluate: need at least {MIN_N} generated samples, got {n}")
    if len(test) < n:
        raise DataError(
            f"evaluate: n={n} generated samples but the test split has only {len(test)} rows; the reference "
            f"needs a held-out real sample of the same size, so use n <= {len(test)}"
        )
    plan = plan or make_plan(len(train), len(test), n, seed)
    blocks = (features or {}).get("blocks") or {}
    copy_dims = int(blocks["embedding"]) if "embedding" in blocks else None
    if mirror is not None:
        mirror = (
            M.check_features(mirror[0], "mirrored features"),
            M.check_features(mirror[1], "mirrored features"),
        )
    ctx = EvalContext(
        train, test, gen, plan, seed=seed, model=model, dataset=dataset, frames=frames, mirror=mirror,
        copy_dims=copy_dims,
    )  # fmt: skip
    ctx.asked_labels = labels  # read by perclass.py's measures; None: not asked for by class
    tables: dict[str, dict[str, Any]] = {"rule1": {}, "rule2": {}}
    sigmas: dict[str, float | None] = {}
    for s in specs:
        m: Measure | None = s.load()(ctx)
        if m is None:
            continue
        tables[s.rule][s.name] = {"value": m.value, "reference": m.reference, **m.extra}
        sigmas[s.name] = m.sigma
    tables["rule2"]["copies"] = _closest(ctx)
    verdict = judge(tables, sigmas, specs)
    per_class = per_class_section(ctx)  # None unless the samples were asked for by class
    merge_verdict(verdict, per_class)
    info = {"dim": int(train.shape[1]), **(features or {"kind": "given"})}
    return Evaluation(
        n,
        info,
        tables["rule1"],
        tables["rule2"],
        verdict,
        seed=int(seed),
        seconds=time.perf_counter() - started,
        per_class=per_class,
        context=ctx,
    )


# ============================================================================ on a model or samples
def _check_dataset(dataset: Any) -> Any:
    if not (hasattr(dataset, "train") and hasattr(dataset, "test")):
        raise DataError(
            f"evaluate: expected a Dataset (genlab.load_dataset(...)) with train and test splits, "
            f"got {type(dataset).__name__}"
        )
    test = getattr(dataset, "test", None)
    if test is None or len(test) < MIN_N:
        got = 0 if test is None else len(test)
        raise DataError(
            f"evaluate: dataset {getattr(dataset, 'name', '?')!r} has {got} test rows; Rule 2 and the references "
            f"need a held-out test split of at least {MIN_N} (load it with test_fraction > 0)"
        )
    return dataset


def _table_samples(
    source: Any, dataset: Any, n: int | None, seed: int
) -> tuple[np.ndarray, Any, Any, dict[str, Any] | None]:
    """A table's samples: drawn from a model or given as a DataFrame; (encoded rows, model, the frame)."""
    from genlab.data.table import is_frame

    codec = dataset.table.codec
    if is_frame(source):
        import pandas as pd

        frame = source if isinstance(source, pd.DataFrame) else pd.DataFrame(source)
        n = int(n if n is not None else min(len(frame), len(dataset.test), DEFAULT_N_CAP))
        if len(frame) < n:
            raise DataError(f"evaluate: n={n} but only {len(frame)} generated rows were given")
        frame, model, choice = frame.iloc[:n].reset_index(drop=True), None, None
    else:
        x, model, choice = _samples(source, dataset, n, seed)
        frame = codec.decode(x)  # judge the table the user gets: categories snapped, numbers rounded
    return codec.encode(frame, where="generated samples").astype(np.float32), model, frame, choice


def default_n(dataset: Any) -> int:
    """The evaluation's sample size when none is given: min(test rows, cap), the cap IMAGE_N_CAP for
    images and DEFAULT_N_CAP otherwise."""
    images = getattr(dataset, "kind", None) == "image" or len(np.shape(dataset.train)) == 4
    return int(min(len(dataset.test), IMAGE_N_CAP if images else DEFAULT_N_CAP))


def _samples(source: Any, dataset: Any, n: int | None, seed: int) -> tuple[np.ndarray, Any]:
    from genlab.checks import check_array

    shape = tuple(np.asarray(dataset.train).shape[1:])
    n_test = len(dataset.test)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < MIN_N):
        raise GenlabError(f"evaluate: n must be an integer of at least {MIN_N}, got {n!r}")
    if n is not None and n > n_test:
        raise DataError(
            f"evaluate: n={n} exceeds the {n_test} rows of the test split; the reference needs a held-out "
            f"real sample of the same size, so use n <= {n_test}"
        )
    if hasattr(source, "sample") and hasattr(source, "is_fitted"):
        if not source.is_fitted:
            raise GenlabError(
                f"evaluate: the {getattr(source, 'name', 'model')} model is not fitted; call fit first"
            )
        if tuple(source.shape_) != shape:
            raise DataError(
                f"evaluate: the model makes observations of shape {tuple(source.shape_)}, the data has {shape}"
            )
        choice = None
        if n is None:
            n, choice = _timed_n(source, dataset, seed)
        x = check_array(_draw(source, dataset, n, seed), what="generated samples", shape=shape)
        return x, source, choice
    x = check_array(source, what="generated samples", shape=shape)
    n = int(n if n is not None else min(len(x), default_n(dataset)))
    if len(x) < n:
        raise DataError(f"evaluate: n={n} but only {len(x)} generated samples were given")
    return x[:n], None, None


def _draw(model: Any, dataset: Any, n: int, seed: int) -> Any:
    """n samples of `model` as the evaluation judges them: a label-conditional model asked for classes at
    their training frequencies; a table model's encoded rows, not DataFrames."""
    kw = sample_kwargs(model, dataset, n, seed)
    draw = model.sample if kw else getattr(model, "sample_encoded", model.sample)
    return draw(n, seed=seed, **kw)


def _timed_n(model: Any, dataset: Any, seed: int) -> tuple[int, dict[str, Any] | None]:
    """The default n, cut for a slow sampler (a pilot of PILOT_N samples measures its rate) so that the
    samples take about SAMPLE_SECONDS to draw; (n, None) when the default fits."""
    full = default_n(dataset)
    pilot = min(PILOT_N, full)
    t = time.perf_counter()
    _draw(model, dataset, pilot, seed)
    rate = pilot / max(time.perf_counter() - t, 1e-9)  # samples per second
    if full <= rate * SAMPLE_SECONDS:
        return full, None
    n = max(MIN_AUTO_N, int(rate * SAMPLE_SECONDS) // 100 * 100)
    n = min(n, full)
    return n, {"default": full, "n": n, "samples_per_s": round(rate, 2), "budget_s": SAMPLE_SECONDS}


def evaluate(
    source: Any,
    dataset: Any,
    *,
    n: int | None = None,
    features: Any = "auto",
    seed: int = 0,
    labels: Any = None,
) -> Evaluation:
    """Judge a fitted model, or an array of samples (N, *shape), against `dataset` by Rule 1 and Rule 2.
    For a table, samples may also be a DataFrame of its columns, and the table metrics run too.

    n defaults to `default_n(dataset)`: min(test rows, 2,000) for images, min(test rows, 10,000) otherwise
    (for an array, also at most its length); for a model whose sampler would take more than SAMPLE_SECONDS
    to draw that many, fewer (at least MIN_AUTO_N), as a pilot draw measures (`Evaluation.n_choice`). `features`:
    "auto", "pixels", "random", a TorchScript path, an nn.Module, or a `FeatureExtractor`.
    The judged samples come back as `Evaluation.samples`.

    A label-conditional model (`model.conditional_ == "labels"`) is asked for classes at their training
    frequencies (`perclass.draw_labels`), and the evaluation adds label accuracy and a per-class section;
    for an array of samples, `labels` (the data-set label each sample was meant to be) does the same.
    """
    from genlab.judge.features import FeatureExtractor, make_extractor

    started = time.perf_counter()
    dataset = _check_dataset(dataset)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise GenlabError(f"evaluate: seed must be a non-negative integer, got {seed!r}")
    t_sample = time.perf_counter()
    frames = None
    if getattr(dataset, "table", None) is not None:
        from genlab.judge.tables import TableFrames

        x, model, frame, choice = _table_samples(source, dataset, n, int(seed))
        frames = TableFrames(dataset.table.codec, dataset.table.train, dataset.table.test, frame)
    else:
        x, model, choice = _samples(source, dataset, n, int(seed))
    t_sample = time.perf_counter() - t_sample
    train = np.asarray(dataset.train, np.float32)
    test = np.asarray(dataset.test, np.float32)
    plan = make_plan(len(train), len(test), len(x), int(seed))
    asked = asked_labels(model, dataset, len(x), int(seed), labels)
    ext = features if isinstance(features, FeatureExtractor) else make_extractor(features, dataset)
    mirror = None
    if getattr(dataset, "kind", None) == "image" or (frames is None and train.ndim == 4):
        # a mirrored copy of a training image is a copy (docs/metrics.md): Rule 2 also looks at the mirror images
        flip = lambda a: np.ascontiguousarray(a[..., ::-1])  # noqa: E731
        mirror = (ext(flip(x)), ext(flip(test[plan.test_idx])))
    ev = evaluate_features(
        ext.train_features(dataset), ext(test), ext(x), seed=int(seed), features=dict(ext.info), plan=plan,
        model=model, dataset=dataset, frames=frames, mirror=mirror, labels=asked,
    )  # fmt: skip
    ev.seconds = time.perf_counter() - started
    ev.samples, ev.sample_seconds = x, t_sample
    ev.labels, ev.extractor = asked, ext
    ev.n_choice = choice
    ev.frame = None if frames is None else frames.gen
    return ev
