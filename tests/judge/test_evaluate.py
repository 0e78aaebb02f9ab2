"""`genlab.evaluate` end to end: the record's shape, verdicts on copies, fresh and bad samples,
model likelihoods, run folders and printing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

import genlab
from genlab.errors import DataError, GenlabError
from genlab.fileio import read_json, write_json
from genlab.judge import Evaluation, print_evaluation
from genlab.runs import evaluate_run

RULE1 = {"frechet_distance", "kid", "precision", "recall", "density", "coverage", "c2st_accuracy"}
RULE2 = {"copy_share", "near_copy_share", "ct", "memorization_rate", "authenticity", "closer_to_train_share"}


@pytest.fixture(scope="module")
def gauss8():
    return genlab.load_dataset("8gaussians", n=2000)


@pytest.fixture(scope="module")
def fresh(gauss8):
    return genlab.load_dataset("8gaussians", n=2000, seed=1).train  # new draws from the same distribution


def test_record_has_the_documented_shape(gauss8, fresh, tmp_path):
    ev = genlab.evaluate(fresh, gauss8)  # the package is callable: genlab.evaluate(...)
    d = ev.to_dict()
    assert set(d) == {"n", "seed", "features", "rule1", "rule2", "verdict"}  # the keys, plus the seed
    assert d["n"] == len(gauss8.test) == 400
    assert d["features"] == {"kind": "standardised", "dim": 2}
    assert set(d["rule1"]) == RULE1  # no nll_per_dim: an array of samples has no log_prob
    assert set(d["rule2"]) == RULE2 | {"copies"}
    for table in (d["rule1"], d["rule2"]):
        for key, entry in table.items():
            if key != "copies":
                assert isinstance(entry["value"], float) and isinstance(entry["reference"], float), key
    copies = d["rule2"]["copies"]
    assert len(copies) == 10 and [c["distance"] for c in copies] == sorted(c["distance"] for c in copies)
    assert set(copies[0]) == {"sample_index", "train_index", "distance", "ratio", "train_nn_distance"}
    c = copies[0]  # distances are in the feature space: here, standardised with training statistics
    std = gauss8.train.std(0)
    want = np.linalg.norm((fresh[c["sample_index"]] - gauss8.train[c["train_index"]]) / std)
    assert c["distance"] == pytest.approx(want, rel=1e-4)
    assert d["verdict"]["rule1"] in ("pass", "fail") and isinstance(d["verdict"]["reasons"], list)
    for rule in ("rule1", "rule2"):  # the graded answer beside the strict verdict
        g = d["verdict"]["graded"][rule]
        assert set(g) == {"answer", "score", "worst"} and g["answer"] in ("pass", "borderline", "fail")
        assert (g["answer"] == "pass") == (d["verdict"][rule] == "pass") and g["score"] >= 0
    assert 380 <= d["rule2"]["copy_share"]["n_eff"] <= 400  # fresh draws: (nearly) every sample distinct
    write_json(tmp_path / "e.json", d)
    assert Evaluation.from_dict(read_json(tmp_path / "e.json")).to_dict() == json.loads(json.dumps(d))


def test_fresh_samples_from_the_true_distribution_pass_both_rules(gauss8, fresh):
    ev = genlab.evaluate(fresh, gauss8, seed=3)
    assert ev.verdict["rule1"] == "pass" and ev.verdict["rule2"] == "pass", ev.verdict["reasons"]
    assert abs(ev.rule2["ct"]["value"]) < 3
    assert ev.rule2["closer_to_train_share"]["value"] == pytest.approx(0.5, abs=0.1)
    # the copy shares of fresh draws are near their quantiles, as the held-out reference rows' are
    assert ev.rule2["copy_share"]["value"] == pytest.approx(0.05, abs=0.04)
    assert ev.rule2["near_copy_share"]["value"] == pytest.approx(0.25, abs=0.08)
    assert ev.verdict["graded"]["rule2"]["score"] < 1


def test_exact_copies_pass_rule1_but_fail_rule2_with_reasons(gauss8):
    rng = np.random.default_rng(0)
    copies = gauss8.train[rng.choice(len(gauss8.train), 400, replace=False)]
    ev = genlab.evaluate(copies, gauss8)
    assert ev.verdict["rule1"] == "pass"  # copies look exactly like the data...
    assert ev.verdict["rule2"] == "fail"  # ...and are caught as copies
    assert ev.rule2["memorization_rate"]["value"] == 1.0 and ev.rule2["authenticity"]["value"] == 0.0
    assert ev.rule2["ct"]["value"] < -5  # C_T sees it too, as a diagnostic (a note, not a reason)
    assert ev.rule2["copy_share"]["value"] == 1.0 and ev.rule2["near_copy_share"]["value"] == 1.0
    reasons = " ".join(ev.verdict["reasons"])
    assert "rule2: copy_share" in reasons and "rule2: near_copy_share" in reasons
    assert "rule2: ct" not in reasons and "note: ct" in reasons
    assert ev.verdict["graded"]["rule2"]["answer"] == "fail" and ev.verdict["graded"]["rule2"]["score"] > 2
    assert ev.copies[0]["distance"] == 0.0
    i, j = ev.copies[0]["sample_index"], ev.copies[0]["train_index"]
    np.testing.assert_array_equal(copies[i], gauss8.train[j])


def test_half_copies_and_overdispersed_samples(gauss8, fresh):
    rng = np.random.default_rng(1)
    half = np.concatenate([gauss8.train[rng.choice(len(gauss8.train), 200, replace=False)], fresh[:200]])
    ev = genlab.evaluate(half, gauss8)
    assert ev.rule2["memorization_rate"]["value"] == pytest.approx(0.5, abs=0.07)
    assert ev.rule2["copy_share"]["value"] == pytest.approx(0.5 + 0.5 * 0.05, abs=0.07)
    assert ev.rule2["ct"]["value"] < -3 and ev.verdict["rule2"] == "fail"

    wide = fresh * 1.3  # every mode blown up: under-fitting
    ev = genlab.evaluate(wide, gauss8)
    assert ev.rule2["ct"]["value"] > 3 and ev.verdict["rule2"] == "pass"
    assert ev.verdict["rule1"] == "fail"
    assert any(r.startswith("note: ct") and "under-fitting" in r for r in ev.verdict["reasons"])
    assert any(r.startswith("rule1: precision") for r in ev.verdict["reasons"])


def test_identical_samples_count_once_and_rule2_is_not_judged(gauss8):
    """n copies of one training point are one sample: Rule 2 cannot tell copying from chance, so it passes
    with a note and its graded answer says "not judged"; Rule 1 fails (collapse)."""
    same = np.repeat(gauss8.train[:1], 400, axis=0)
    ev = genlab.evaluate(same, gauss8)
    assert ev.rule2["copy_share"]["n_eff"] == 1 and ev.rule2["copy_share"]["value"] == 1.0
    assert ev.verdict["rule2"] == "pass" and ev.verdict["graded"]["rule2"]["answer"] == "not judged"
    assert any("n_eff < 20" in r for r in ev.verdict["reasons"] if r.startswith("note:"))
    assert ev.verdict["rule1"] == "fail"
    # twenty distinct training points, each repeated, are judged again: twenty copies are copying
    twenty = np.repeat(gauss8.train[:20], 20, axis=0)
    ev = genlab.evaluate(twenty, gauss8)
    assert ev.rule2["copy_share"]["n_eff"] == 20 and ev.verdict["rule2"] == "fail"


def test_model_likelihood_is_judged_against_the_true_entropy(gauss8):
    good = genlab.make_model("gmm", n_components=8).fit(gauss8, seed=0)
    ev = genlab.evaluate(good, gauss8, n=300)
    nll = ev.rule1["nll_per_dim"]
    assert nll["kind"] == "exact" and nll["reference_kind"] == "true entropy"
    # the true entropy per dimension, here estimated on the whole test split
    want = -gauss8.log_density(gauss8.test).mean() / 2
    assert nll["reference"] == pytest.approx(want, abs=0.1)
    assert nll["value"] > nll["reference"] - 0.03  # cross-entropy >= entropy, up to sampling noise
    assert ev.verdict["checks"]["nll_per_dim"]["ok"] is True

    bad = genlab.make_model("gaussian").fit(gauss8)  # one Gaussian for eight modes
    ev = genlab.evaluate(bad, gauss8, n=300)
    assert ev.verdict["rule1"] == "fail"
    assert any(r.startswith("rule1: nll_per_dim") for r in ev.verdict["reasons"])


def test_evaluate_run_writes_evaluation_json_and_prints_tables(tmp_path):
    ds = genlab.load_dataset("digits")
    model = genlab.make_model("gaussian").fit(ds)
    run = tmp_path / "run"
    model.save(run)
    write_json(run / "data.json", ds.to_json())
    ev = evaluate_run(run, n=200, features="pixels", seed=1)
    saved = read_json(run / "evaluation.json")
    assert saved == json.loads(json.dumps(ev.to_dict()))
    assert saved["n"] == 200 and saved["features"]["kind"] == "pixels"
    nll = saved["rule1"]["nll_per_dim"]
    assert nll["reference_kind"] == "model on training data" and "bits_per_dim" in nll
    assert nll["bits_per_dim"] == pytest.approx(nll["value"] / np.log(2))
    assert saved["verdict"]["checks"]["nll_per_dim"]["ok"] is None  # shown, not judged

    console = Console(record=True, width=150)
    print_evaluation(ev, console)
    text = console.export_text()
    for word in (
        "Rule 1",
        "Rule 2",
        "frechet_distance",
        "copy_share",
        "memorization_rate",
        "what good looks like",
    ):
        assert word in text
    assert "graded: " in text and "diagnostic, not judged" in text
    v = ev.verdict
    assert f"Rule 1: {v['rule1'].upper()}" in text and f"Rule 2: {v['rule2'].upper()}" in text


def test_bad_inputs_get_clear_errors(gauss8, fresh):
    with pytest.raises(DataError, match="n=500 exceeds the 400 rows of the test split"):
        genlab.evaluate(fresh, gauss8, n=500)
    with pytest.raises(GenlabError, match="n must be an integer of at least 20"):
        genlab.evaluate(fresh, gauss8, n=5)
    with pytest.raises(DataError, match=r"generated samples: expected shape \(N, 2\)"):
        genlab.evaluate(np.zeros((400, 3)), gauss8)
    nan = fresh[:400].copy()
    nan[7, 1] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        genlab.evaluate(nan, gauss8)
    with pytest.raises(DataError, match="test split"):
        genlab.evaluate(fresh, genlab.load_dataset("8gaussians", n=200, test_fraction=0.0))
    with pytest.raises(GenlabError, match="features must be"):
        genlab.evaluate(fresh, gauss8, features=3)
    with pytest.raises(GenlabError, match="not fitted"):
        genlab.evaluate(genlab.make_model("gaussian"), gauss8)


def test_a_slow_sampler_is_judged_on_fewer_samples_and_says_so(gauss8, monkeypatch):
    from genlab.judge import evaluation as E
    from genlab.judge import measures

    class Slow:  # a fitted model whose sampler takes 1 ms a sample
        def __init__(self, model):
            self.model = model

        def __getattr__(self, name):
            return getattr(self.model, name)

        def sample(self, n, *, seed=None):
            import time

            time.sleep(n / 1000)
            return self.model.sample(n, seed=seed)

        sample_encoded = sample

    model = Slow(genlab.make_model("gmm", n_components=8).fit(gauss8, seed=0))
    monkeypatch.setattr(E, "SAMPLE_SECONDS", 0.25)  # at 1,000 samples/s: about 250 samples
    ev = genlab.evaluate(model, gauss8)
    c = ev.n_choice
    assert c["default"] == len(gauss8.test) == 400 and 200 <= ev.n == c["n"] <= 300 and ev.n % 100 == 0
    assert 300 < c["samples_per_s"] < 1000  # the pilot's measured rate (sleep plus the real sampler)
    assert ev.to_dict()["n_choice"] == c and Evaluation.from_dict(ev.to_dict()).n_choice == c
    out = Console(record=True, width=200)
    print_evaluation(ev, out)
    assert f"n cut from 400 to {ev.n}" in out.export_text()
    # n given: used as it is, whatever the sampler's speed; and the same samples as a plain draw
    fixed = genlab.evaluate(model, gauss8, n=400)
    assert fixed.n == 400 and fixed.n_choice is None
    np.testing.assert_array_equal(fixed.samples[:100], model.model.sample(400, seed=0)[:100])
    # a slow density: the held-out NLL stops doubling its points once the next doubling would be too slow
    monkeypatch.setattr(measures, "NLL_SECONDS", 0.0)
    monkeypatch.setattr(measures, "NLL_SE", 0.0)  # the error alone would ask for every point
    assert genlab.evaluate(model, gauss8, n=400).rule1["nll_per_dim"]["n"] == measures.NLL_START
    monkeypatch.setattr(measures, "NLL_SECONDS", 1e9)
    assert genlab.evaluate(model, gauss8, n=400).rule1["nll_per_dim"]["n"] == 400
