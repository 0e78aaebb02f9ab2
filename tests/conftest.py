"""Shared test set-up: one thread per worker (the suite runs under xdist on 2 cores), tiny data."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Feature-extractor caches go to a per-session temporary folder, never the user's ~/.cache.
if "GENLAB_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["GENLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="genlab-test-cache-")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def genlab_cli(capsys: pytest.CaptureFixture):
    """Run the CLI in-process: genlab_cli(["fit", ...]) -> (exit code, stdout, stderr)."""
    import sys

    from genlab import cli

    def run(args: list[str]) -> tuple[int, str, str]:
        argv = sys.argv
        sys.argv = ["genlab", *args]
        try:
            cli.main()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        finally:
            sys.argv = argv
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
