"""Sizing: image networks chosen from shape, budget and device; explicit values win; the choice is saved."""

from __future__ import annotations

import numpy as np
import pytest

import genlab
from genlab.budget import parse_budget
from genlab.models.sizing import SIZING, choose, describe


def _images(n: int = 48, side: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.integers(0, 17, size=(n, 1, side, side)) / 16.0).astype(np.float32)


@pytest.mark.parametrize("family", list(SIZING))
def test_rule_is_monotone_in_budget_and_device(family: str) -> None:
    """More seconds never give a smaller network; a tiny budget gets the smallest rung, a GPU the largest;
    larger images cost more, so a fixed budget never gets a larger network for them."""
    rungs = [r.params for r in SIZING[family].rungs]
    shape = (1, 28, 28)
    picks = [rungs.index({k: v for k, v in choose(family, shape, parse_budget(b)).items() if k in rungs[0]})
             for b in ("1s", "60s", "10m", "1h", "100h")]  # fmt: skip
    assert picks == sorted(picks) and picks[0] == 0 and picks[-1] == len(rungs) - 1
    gpu = choose(family, shape, parse_budget("1s"), device="gpu")
    assert {k: gpu[k] for k in rungs[0]} == rungs[-1] and gpu["batch_size"] == SIZING[family].batch_gpu
    for b in ("60s", "10m", "1h"):
        small = choose(family, (1, 8, 8), parse_budget(b))
        big = choose(family, (3, 64, 64), parse_budget(b))
        assert rungs.index({k: big[k] for k in rungs[0]}) <= rungs.index({k: small[k] for k in rungs[0]})
    assert "images:" in describe(family)


def test_explicit_hyperparameter_wins_and_sizes_are_saved(tmp_path) -> None:
    x = _images()
    auto = genlab.make_model("gan", latent_dim=4).fit(x, budget="3steps", seed=0)
    sized = auto.data_meta_["sized"]
    assert sized["channels"] == list(choose("gan", (1, 8, 8), parse_budget("3steps"))["channels"])
    assert sized["lr"] == 2e-4 and sized["betas"] == [0.5, 0.999] and auto.get_params()["channels"] is None
    auto.save(tmp_path / "a")
    back = genlab.load(tmp_path / "a")
    np.testing.assert_array_equal(back.sample(5, seed=1), auto.sample(5, seed=1))

    mine = genlab.make_model("gan", latent_dim=4, channels=(8, 8), lr=1e-3).fit(x, budget="3steps", seed=0)
    assert "channels" not in mine.data_meta_["sized"] and "lr" not in mine.data_meta_["sized"]
    assert mine.generator_.head.out_features == 8 * 4 * 4  # one level on 8x8: (8, 4, 4) start map
    assert mine.train_config().lr == 1e-3


def test_vectors_keep_their_defaults() -> None:
    v = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    gan = genlab.make_model("gan", latent_dim=2, hidden=(16,)).fit(v, budget="2steps", seed=0)
    assert gan.train_config().lr == 1e-3 and gan.hp("betas") == [0.5, 0.9]
    ebm = genlab.make_model("ebm", hidden=16, depth=1).fit(v, budget="2steps", seed=0)
    assert ebm.hp("alpha") == 1.0 and ebm.hp("langevin_steps") == 20 and ebm.hp("grad_clamp") is None
    flow = genlab.make_model("flow", transforms=1).fit(v, budget="2steps", seed=0)
    assert flow.hp("bins") == 24 and flow.hp("hidden") == [128, 128] and flow.train_config().batch_size == 256
    assert flow.hp("transforms") == 1 and "transforms" not in flow.data_meta_["sized"]


def test_flow_images_get_a_sized_coupling_network() -> None:
    """On images the flow's MLPs and bins come from the sizing table (its output layer is D x (3 bins - 1)
    wide), and a model built from them has exactly that many layers."""
    m = genlab.make_model("flow").fit(_images(), budget="2steps", seed=0)
    want = choose("flow", (1, 8, 8), parse_budget("2steps"))
    assert m.hp("bins") == want["bins"] and m.hp("hidden") == list(want["hidden"])
    assert m.train_config().batch_size == SIZING["flow"].batch_cpu
    assert len(m.net_.flow.transform.transforms) == want["transforms"]


def test_ebm_image_recipe_and_gradient_clamp() -> None:
    """Images get the UvA recipe; with the clamp a Langevin step moves no pixel by more than
    step_size * grad_clamp + a few noise sd."""
    import torch

    m = genlab.make_model("ebm", channels=8).fit(_images(), budget="2steps", seed=0)
    assert m.hp("langevin_steps") == 60 and m.hp("step_size") == 10.0 and m.hp("alpha") == 0.1
    z = m._uniform(16, torch.Generator().manual_seed(0)) * 0.5
    z1 = m._langevin(z, 1, torch.Generator().manual_seed(1))
    assert float((z1 - z).abs().max()) <= 10.0 * 0.03 + 6 * 0.005 + 1e-6
