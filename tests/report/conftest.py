"""Small run folders, built once per session: a vector run (gmm on moons) and an image run with a latent
space (a tiny VAE on tins), both evaluated (standardised / pixel features: no feature network to train)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genlab.demo import DemoJob
from genlab.runs import fit_run


def _run(root: Path, job: DemoJob, features: str, evaluate: bool = True) -> Path:
    run_dir = root / job.folder
    fit_run(
        job.data, job.model, out=run_dir, hyper=job.hyper, data_options=job.data_options, budget=job.budget,
        evaluate=evaluate, features=features, progress="off",
    )  # fmt: skip
    return run_dir


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def vector_run(runs_root: Path) -> Path:
    return _run(runs_root, DemoJob("moons", "gmm", {"n_components": 6}, None, {"n": 600}), "auto")


@pytest.fixture(scope="session")
def vector_run_kde(runs_root: Path) -> Path:
    return _run(runs_root, DemoJob("moons", "kde", {"bandwidth": 0.3}, None, {"n": 600}), "auto")


@pytest.fixture(scope="session")
def image_run(runs_root: Path) -> Path:
    job = DemoJob(
        "tins",
        "vae",
        {"latent_dim": 2, "channels": (8, 16), "batch_size": 32, "iwae_k": 4},
        "30steps",
        {"n": 240, "size": 16},
    )
    return _run(runs_root, job, "pixels")
