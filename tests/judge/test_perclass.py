"""Judging a label-conditional model (genlab.judge.perclass): the classes the evaluation asks for, label
accuracy beside its held-out reference, Rule 1 and Rule 2 per class with the worst class named, and the
guidance sweep. Stand-in models (tests/cond_standins.py) draw held-out digits of the asked class, broken
in known ways; pixel features keep it fast."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

import genlab
from cond_standins import GuidedConditional, ResampleConditional
from genlab.errors import DataError, GenlabError
from genlab.judge import Evaluation, print_evaluation
from genlab.judge.perclass import class_map, draw_labels, guidance_sweep

N = 200


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


def _evaluate(model, data, seed=0):
    return genlab.evaluate(model, data, n=N, features="pixels", seed=seed)


@pytest.fixture(scope="module")
def perfect(digits):
    model = ResampleConditional(digits)
    return model, _evaluate(model, digits)


def _failing(ev):
    return [r["name"] for r in ev.per_class["classes"] if r["failed"]]


def test_labels_are_asked_at_training_frequencies(digits):
    model = ResampleConditional(digits)
    y = draw_labels(model, digits, 1000, seed=3)
    share = np.bincount(digits.train_labels, minlength=10) / len(digits.train_labels)
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1000 and np.all(
        np.abs(counts - 1000 * share) < 1
    )  # largest remainder: exact shares
    assert np.array_equal(y, draw_labels(model, digits, 1000, seed=3))
    assert not np.array_equal(y, draw_labels(model, digits, 1000, seed=4))  # the order follows the seed
    assert np.array_equal(class_map(model, digits), np.arange(10))
    model.class_names_ = model.class_names_[::-1]  # matched by name, not by position
    assert np.array_equal(class_map(model, digits), np.arange(10)[::-1])


def test_a_perfect_conditional_sampler_passes(digits, perfect):
    model, ev = perfect
    asked = model.calls[-1]["labels"]  # the evaluation passed explicit labels, drawn from the training shares
    assert asked is not None and np.array_equal(asked, draw_labels(model, digits, N, seed=0))
    la = ev.rule1["label_accuracy"]
    assert la["reference"] > 0.9  # logistic regression on digit pixels
    assert abs(la["value"] - la["reference"]) < 0.05
    assert ev.verdict["checks"]["label_accuracy"]["ok"] is True
    assert ev.passed, ev.verdict["reasons"]
    pc = ev.per_class
    assert [r["name"] for r in pc["classes"]] == digits.class_names
    assert sum(r["n"] for r in pc["classes"]) == N
    assert pc["verdict"] == {"rule1": "pass", "rule2": "pass"} and _failing(ev) == []
    for r in pc["classes"]:
        assert set(r["checks"]) == {"frechet_distance", "precision", "recall", "copy_share"}
        # held-out images are no copies: about 5% fall below the copy threshold by its definition
        assert r["copies"] <= max(3, 0.25 * r["n"]) and r["copy_share"]["value"] <= 0.25
    assert pc["worst"]["name"] in digits.class_names and pc["worst"]["failed"] == []


def test_a_sampler_that_ignores_labels_fails_label_accuracy(digits):
    ev = _evaluate(ResampleConditional(digits, ignore_labels=True), digits)
    la = ev.rule1["label_accuracy"]
    assert la["value"] < 0.25 and la["reference"] > 0.9
    assert ev.verdict["checks"]["label_accuracy"]["ok"] is False and ev.verdict["rule1"] == "fail"
    assert any(r.startswith("rule1: label_accuracy") for r in ev.verdict["reasons"])
    # each class's samples are a mixture of all digits: most classes fail on their own
    assert len(_failing(ev)) >= 5


def test_one_broken_class_is_named_worst_and_fails_rule1(digits):
    ev = _evaluate(ResampleConditional(digits, black_class=3), digits)
    pc = ev.per_class
    assert pc["worst"]["name"] == "3"
    assert _failing(ev) == ["3"]
    row = next(r for r in pc["classes"] if r["name"] == "3")
    assert {"frechet_distance", "precision"} <= set(row["failed"])
    assert row["precision"]["value"] == 0.0 and row["label_accuracy"]["value"] < 0.2
    assert pc["verdict"]["rule1"] == "fail" and ev.verdict["rule1"] == "fail"
    assert any(r.startswith("rule1: class '3': frechet_distance") for r in ev.verdict["reasons"])


def test_copies_of_one_class_fail_rule2_for_that_class(digits):
    ev = _evaluate(ResampleConditional(digits, copy_class=5), digits)
    rows = {r["name"]: r for r in ev.per_class["classes"]}
    assert rows["5"]["copies"] == rows["5"]["n"] > 0  # every sample of class 5 is a training image
    assert rows["5"]["failed"] == ["copy_share"]
    assert all("copy_share" not in r["failed"] for name, r in rows.items() if name != "5")
    assert all(r["copies"] < rows["5"]["copies"] for name, r in rows.items() if name != "5")
    assert _failing(ev) == ["5"] and ev.per_class["worst"]["name"] == "5"
    assert ev.per_class["verdict"]["rule2"] == "fail" and ev.verdict["rule2"] == "fail"
    assert ev.verdict["checks"]["label_accuracy"]["ok"] is True  # copies are the right class


def test_unconditional_samples_get_no_per_class_section_unless_labels_are_given(digits, perfect):
    model, _ = perfect
    x = model.sample(N, seed=1, labels=draw_labels(model, digits, N, seed=1))
    plain = genlab.evaluate(x, digits, features="pixels", n=N)
    assert plain.per_class is None and "label_accuracy" not in plain.rule1
    assert "per_class" not in plain.to_dict()
    given = genlab.evaluate(x, digits, features="pixels", n=N, labels=draw_labels(model, digits, N, seed=1))
    assert given.per_class is not None and given.rule1["label_accuracy"]["value"] > 0.9
    with pytest.raises(DataError, match="labels"):
        genlab.evaluate(x, digits, features="pixels", n=N, labels=np.zeros(N - 5, np.int64))


def test_the_record_round_trips_and_prints(perfect):
    _, ev = perfect
    d = ev.to_dict()
    assert {"per_class", "rule1"} <= set(d) and "guidance" not in d
    assert Evaluation.from_dict(d).to_dict() == d
    console = Console(record=True, width=160)
    print_evaluation(d, console)
    text = console.export_text()
    assert "label accuracy" in text and "worst class:" in text and "label_accuracy" in text


def test_guidance_sweep_shows_label_fidelity_against_diversity(digits):
    model = GuidedConditional(digits)
    ev = _evaluate(model, digits)
    sweep = guidance_sweep(model, digits, ev, scales=(0, 1, 4), n=150, seed=0)
    assert sweep["scales"] == [0.0, 1.0, 4.0] and sweep["n"] == 150
    acc, rec = sweep["label_accuracy"], sweep["recall"]
    assert acc[0] < acc[1] < acc[2] and acc[0] < 0.5 and acc[2] > 0.75  # the stand-in: noise 0.8 / (1 + g)
    assert rec[0] > rec[1] > rec[2]  # ... and each class narrowed to 1 / (1 + g) of its images
    assert 0.9 < sweep["reference"]["label_accuracy"] <= 1 and 0 < sweep["reference"]["recall"] <= 1
    with pytest.raises(GenlabError, match="guidance"):
        guidance_sweep(ResampleConditional(digits), digits, ev)
