"""Runs `genlab` (the CLI's main) in a subprocess with hooks a test controls through the environment, so a
test can stop it at a chosen moment:

    GENLAB_TEST_STEP_SLEEP=0.05       every training step sleeps this long (time to send a signal)
    GENLAB_TEST_PAUSE=checkpoint      pause inside the named phase: "checkpoint" (between writing a
                                      checkpoint's files and swapping it in), "evaluate", "report"
    GENLAB_TEST_MARKER=/path          created when the pause begins (the test then sends its signal)
    GENLAB_TEST_PAUSE_AT=2            pause at the 2nd time the phase comes (default: the 1st)

Usage: python driver.py fit 8gaussians --model vae ...
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_SEEN: dict[str, int] = {}


def _pause(phase: str) -> None:
    _SEEN[phase] = _SEEN.get(phase, 0) + 1
    if os.environ.get("GENLAB_TEST_PAUSE") == phase and _SEEN[phase] == int(
        os.environ.get("GENLAB_TEST_PAUSE_AT", "1")
    ):
        Path(os.environ["GENLAB_TEST_MARKER"]).write_text(phase)
        time.sleep(600)


def install() -> None:
    import torch

    torch.set_num_threads(1)
    from genlab.models.neural import NeuralModel
    from genlab.train import checkpoint
    from genlab.train import engine as eng

    sleep = float(os.environ.get("GENLAB_TEST_STEP_SLEEP", "0"))
    if sleep:
        original_run = eng._Loop.optimize

        def slow(self, ctx, name, loss):  # noqa: ANN001, ANN202
            time.sleep(sleep)
            return original_run(self, ctx, name, loss)

        eng._Loop.optimize = slow

    original_save = checkpoint.save_arrays

    def save_then_pause(path, arrays, metadata=None):  # noqa: ANN001, ANN202
        original_save(path, arrays, metadata)
        if Path(path).parent.name.startswith(".last.tmp"):
            _pause("checkpoint")

    checkpoint.save_arrays = save_then_pause

    from genlab.judge import evaluation

    original_eval = evaluation.evaluate_features

    def eval_then_pause(*a, **k):  # noqa: ANN002, ANN003, ANN202
        _pause("evaluate")
        return original_eval(*a, **k)

    evaluation.evaluate_features = eval_then_pause

    from genlab.report import html

    original_render = html.render_report

    def render_then_pause(*a, **k):  # noqa: ANN002, ANN003, ANN202
        page = original_render(*a, **k)
        _pause("report")
        return page

    html.render_report = render_then_pause
    del NeuralModel


if __name__ == "__main__":
    install()
    from genlab.cli import main

    sys.argv = ["genlab", *sys.argv[1:]]
    main()
