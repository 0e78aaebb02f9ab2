"""The training engine: budgets, schedule, EMA, determinism, checkpoints, resume, NaN guard, logging."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from train_toy import Split, Toy, toy_data, weights

import genlab
from genlab.budget import parse_budget
from genlab.train.checkpoint import flatten_state, read_checkpoint, unflatten_state, write_checkpoint
from genlab.train.engine import EMA, lr_factor
from genlab.train.progress import read_log


def _finite_checkpoint(folder) -> bool:
    state = read_checkpoint(folder)
    tensors = [*state["modules"]["net_"].values(), *state["ema"]["net_"].values()]
    return all(torch.isfinite(t).all() for t in tensors)


# ---------------------------------------------------------------------- pieces
def test_lr_factor_warmup_then_cosine() -> None:
    assert lr_factor(0, 0.0, 10, "cosine") == pytest.approx(0.1)
    assert lr_factor(4, 0.0, 10, "constant") == pytest.approx(0.5)
    assert lr_factor(50, 0.5, 10, "cosine") == pytest.approx(0.5)
    assert lr_factor(50, 0.25, 10, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(99, 1.0, 10, "cosine") == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(99, 0.75, 0, "linear") == pytest.approx(0.25)


def test_ema_follows_formula() -> None:
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, decay=0.9)
    before = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(0)  # decay min(0.9, 1/10) = 0.1
    torch.testing.assert_close(ema.module.weight, before + 0.9)
    ema.update(1000)  # decay 0.9
    torch.testing.assert_close(ema.module.weight, before + 0.9 + 0.1 * 0.1)


def test_checkpoint_state_round_trip(tmp_path) -> None:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.1, betas=(0.5, 0.9))
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    state = {"opt": opt.state_dict(), "rng": torch.get_rng_state(), "n": 3, "x": None}
    arrays: dict = {}
    tree = flatten_state(state, "s", arrays)
    json.dumps(tree)  # the non-tensor part is plain JSON
    back = unflatten_state(tree, {k: v.numpy() for k, v in arrays.items()})
    assert set(back["opt"]["state"]) == {0, 1}  # integer keys survive
    torch.testing.assert_close(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(back["rng"], state["rng"]) and back["rng"].dtype == torch.uint8
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    opt2.load_state_dict(back["opt"])
    assert opt2.param_groups[0]["betas"][1] == 0.9

    # on disk, atomically replaced; a kill between the two renames leaves `.last.old`, which is used
    folder = tmp_path / "checkpoints" / "last"
    write_checkpoint(folder, state)
    write_checkpoint(folder, {**state, "n": 4})
    assert read_checkpoint(folder)["n"] == 4
    folder.rename(folder.with_name(".last.old"))
    assert read_checkpoint(folder)["n"] == 4
    assert not list(folder.parent.glob(".*tmp*"))
    with pytest.raises(genlab.DataError, match="no checkpoint"):
        read_checkpoint(tmp_path / "nothing")


def test_read_log_skips_torn_line(tmp_path) -> None:
    p = tmp_path / "log.jsonl"
    p.write_text('{"step": 1}\n{"step": 2}\n{"ste')
    assert [r["step"] for r in read_log(p)] == [1, 2]


# ---------------------------------------------------------------------- the loop
def test_budgets_in_steps_and_epochs() -> None:
    m = Toy().fit(toy_data(100), budget="10steps", seed=0, progress="off")
    assert m.train_result_.steps == 10 and m.train_result_.stopped_by == "steps"
    m = Toy().fit(toy_data(100), budget="2epochs", seed=0, progress="off")  # 100 // 32 = 3 batches an epoch
    assert m.train_result_.steps == 6 and m.train_result_.stopped_by == "epochs"
    m = Toy().fit(toy_data(100), budget="1h+4steps", seed=0, progress="off")  # whichever comes first
    assert m.train_result_.steps == 4
    m = Toy().fit(toy_data(100), seed=0, progress="off")  # no budget: the family's default_budget
    assert m.train_result_.steps == parse_budget(Toy.default_budget).steps
    m = Toy(batch_size=1000).fit(toy_data(50), budget="3steps", seed=0, progress="off")  # batch > data
    assert m.train_result_.steps == 3


def test_training_reduces_loss_and_keeps_ema_weights() -> None:
    m = Toy(ema_decay=0.9).fit(Split(), budget="150steps", seed=0, progress="off", log_every=10, val_every=50)
    hist = [r for r in m.train_result_.history if "losses" in r]
    assert hist[-1]["losses"]["loss"] < 0.5 * hist[0]["losses"]["loss"]
    vals = [r["val_loss"] for r in m.train_result_.history if r.get("val_loss") is not None]
    assert len(vals) >= 3 and vals[-1] < vals[0]
    assert all(not mod.training for mod in m.modules().values())  # eval mode on the CPU after fit
    assert {"step", "epoch", "time", "samples_per_s", "lr", "losses"} <= set(hist[0])


def test_same_seed_same_weights_different_seed_differs() -> None:
    data = genlab.load_dataset("8gaussians", n=400)
    kw = {"latent_dim": 2, "hidden": (16, 16), "batch_size": 32, "latent_sampler": "prior"}
    a = genlab.make_model("vae", **kw).fit(data, budget="20steps", seed=3, progress="off")
    b = genlab.make_model("vae", **kw).fit(data, budget="20steps", seed=3, progress="off")
    c = genlab.make_model("vae", **kw).fit(data, budget="20steps", seed=4, progress="off")
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not all(np.array_equal(wa[k], wc[k]) for k in wa)


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path) -> None:
    kw = {"budget": "40steps", "seed": 1, "progress": "off", "checkpoint_every": 10}
    full = Toy().fit(Split(), **kw)

    class Interrupted(Toy):
        def training_step(self, batch, ctx):
            if ctx.step == 27:
                raise KeyboardInterrupt
            return super().training_step(batch, ctx)

    with pytest.raises(KeyboardInterrupt):
        Interrupted().fit(Split(), run_dir=tmp_path, **kw)
    assert read_checkpoint(tmp_path / "checkpoints" / "last")["counters"]["step"] == 20
    resumed = Toy().fit(Split(), run_dir=tmp_path, resume=True, **kw)
    assert resumed.train_result_.steps == 40
    wf, wr = weights(full), weights(resumed)
    assert all(np.array_equal(wf[k], wr[k]) for k in wf)
    log = read_log(tmp_path / "log.jsonl")
    steps = [r["step"] for r in log if "losses" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 40  # lines the crash wrote after step 20 are gone
    assert any("resumed from step 20" in r.get("message", "") for r in log)
    assert (tmp_path / "checkpoints" / "best" / "state.safetensors").exists()


def test_resume_checks_what_it_resumes(tmp_path) -> None:
    with pytest.raises(genlab.DataError, match="no checkpoint"):
        Toy().fit(Split(), budget="5steps", seed=0, run_dir=tmp_path, resume=True, progress="off")
    Toy().fit(Split(), budget="5steps", seed=0, run_dir=tmp_path, progress="off")
    with pytest.raises(genlab.GenlabError, match="hidden"):
        Toy(hidden=8).fit(Split(), budget="9steps", seed=0, run_dir=tmp_path, resume=True, progress="off")
    with pytest.raises(genlab.GenlabError, match="resume=True needs the run_dir"):
        Toy().fit(Split(), budget="5steps", seed=0, resume=True)


def test_nan_loss_steps_are_skipped_then_recovered(tmp_path) -> None:
    bad = (12, 13, 14, 15, 16, 30)  # five in a row -> one recovery; then one lone bad step
    m = Toy(nan_steps=bad, warmup_steps=0, lr_schedule="constant").fit(
        Split(), budget="40steps", seed=0, run_dir=tmp_path, progress="off", checkpoint_every=5, log_every=1
    )
    r = m.train_result_
    assert r.steps == 40 and r.skipped_steps == len(bad) and r.recoveries == 1
    msgs = [x["message"] for x in r.history if x.get("event") == "message"]
    assert any("reloaded the last good state (step 10)" in s and "halved" in s for s in msgs)
    lrs = {x["step"]: x["lr"] for x in r.history if "lr" in x}
    assert lrs[10] == pytest.approx(1e-2) and lrs[20] == pytest.approx(5e-3)
    assert all(np.isfinite(v).all() for v in weights(m).values())
    assert _finite_checkpoint(tmp_path / "checkpoints" / "last")


def test_nan_weights_are_never_saved(tmp_path) -> None:
    m = Toy(poison_step=12).fit(
        Split(), budget="30steps", seed=0, run_dir=tmp_path, progress="off", checkpoint_every=5
    )
    assert m.train_result_.recoveries == 1 and m.train_result_.skipped_steps >= 5
    assert all(np.isfinite(v).all() for v in weights(m).values())
    assert _finite_checkpoint(tmp_path / "checkpoints" / "last")
    assert _finite_checkpoint(tmp_path / "checkpoints" / "best")


def test_persistent_nan_is_a_clear_error() -> None:
    with pytest.raises(genlab.GenlabError, match="diverged"):
        Toy(nan_steps=tuple(range(100))).fit(
            Split(), budget="100steps", seed=0, progress="off", max_recoveries=2
        )


def test_early_stopping_keeps_the_best_weights(tmp_path) -> None:
    m = Toy(drift=True, early_stopping=2, ema=False).fit(
        Split(), budget="200steps", seed=0, run_dir=tmp_path, progress="off", val_every=5
    )
    r = m.train_result_
    assert r.stopped_by == "early_stopping" and r.steps < 200
    w = float(m.w_.weight.detach()[0, 0])
    assert w**2 == pytest.approx(r.best_val_loss, rel=1e-6)  # the weights of the best validation
    assert read_checkpoint(tmp_path / "checkpoints" / "best")["counters"]["best_val"] == r.best_val_loss


def test_bad_calls_are_named() -> None:
    class WrongName(Toy):
        def training_step(self, batch, ctx):
            ctx.optimize("generator", ((self.net_(batch) - batch) ** 2).mean())

    with pytest.raises(genlab.GenlabError, match="no optimizer 'generator'.*main"):
        WrongName().fit(Split(), budget="2steps", seed=0, progress="off")
    with pytest.raises(genlab.GenlabError, match="accelerator"):
        Toy().fit(Split(), budget="2steps", seed=0, progress="off", accelerator="tpu-of-dreams")
    with pytest.raises(genlab.GenlabError, match="lr_schedule"):
        Toy(lr_schedule="zigzag").fit(Split(), budget="2steps", seed=0, progress="off")


def test_plain_progress_lines(capsys) -> None:
    Toy().fit(Split(), budget="12steps", seed=0, progress="plain")
    err = capsys.readouterr().err
    assert "toy (12steps): 100%" in err and "samples/s" in err and "step 12" in err


# ---------------------------------------------------------------------- the watch
class FailingFrom:
    """A stand-in Watch that fails every check from `bad` on and records each checked model's output."""

    action, patience, share = "stop", 2, 0.1

    def __init__(self, bad: int, min_steps: int = 20, action: str = "stop", every: int | None = None) -> None:
        self.bad, self.min_steps, self.action, self.every = bad, min_steps, action, every
        self.seen: dict[int, np.ndarray] = {}

    def check(self, model, step: int) -> dict:
        self.seen[step] = model.sample(8, seed=0)
        return {"fail": step >= self.bad, "reason": "stand-in"}


def test_watch_stops_after_two_failing_checks_and_keeps_the_last_passing_model(tmp_path) -> None:
    w = FailingFrom(bad=120)
    m = Toy(ema=False, lr_schedule="constant").fit(
        Split(), budget="400steps", seed=0, progress="off", run_dir=tmp_path, watch=w
    )
    r = m.train_result_
    assert r.stopped_by == "watch" and r.steps < 400
    checked = sorted(w.seen)
    assert checked[0] == 20 and all(b > a for a, b in zip(checked, checked[1:], strict=False))
    failing = [s for s in checked if s >= 120]
    assert len(failing) == 2 and r.steps == failing[-1]  # stopped at the second failing check in a row
    kept = max(s for s in checked if s < 120)
    assert r.watch["passed_step"] == kept and r.watch["stopped"]["kept_step"] == kept
    np.testing.assert_array_equal(m.sample(8, seed=0), w.seen[kept])  # the model of the last passing check
    assert (tmp_path / "checkpoints" / "watch").is_dir()  # the engine's own checkpoint, as it restored it
    events = [e for e in read_log(tmp_path / "log.jsonl") if e.get("event") == "watch"]
    assert [e["step"] for e in events] == checked
    assert any("kept the model of step" in str(e.get("message")) for e in read_log(tmp_path / "log.jsonl"))


def test_watch_every_fixes_the_schedule_in_steps() -> None:
    w = FailingFrom(bad=10**9, min_steps=30, every=25)
    Toy().fit(Split(), budget="130steps", seed=0, progress="off", watch=w)
    assert sorted(w.seen) == [30, 55, 80, 105, 130]  # whatever the checks cost on this machine


def test_watch_that_warns_does_not_change_training() -> None:
    w = FailingFrom(bad=0, action="warn")
    watched = Toy().fit(Split(), budget="150steps", seed=2, progress="off", watch=w)
    plain = Toy().fit(Split(), budget="150steps", seed=2, progress="off", watch="off")
    assert watched.train_result_.stopped_by == "steps" and len(w.seen) >= 3
    for k, v in weights(plain).items():
        np.testing.assert_array_equal(weights(watched)[k], v)  # checks draw from their own generator
