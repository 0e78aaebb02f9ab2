"""`genlab sample` and `genlab evaluate` with --devices/--num-nodes: the draws are shared over two CPU
processes (gloo) and the files written are those of one process; only rank 0 writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

GENLAB = Path(sys.executable).with_name("genlab")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Closed-form runs (seconds to fit): a label-conditional gaussian on digits, and a gaussian on
    8gaussians whose test split (1500 rows) makes the evaluation draw two chunks."""
    from genlab import runs as r

    root = tmp_path_factory.mktemp("sharded-cli")
    out = {"digits": root / "digits", "toy": root / "toy"}
    r.fit_run("digits", "gaussian", out=out["digits"], hyper={"conditional": True}, evaluate=False)
    r.fit_run("8gaussians", "gaussian", out=out["toy"], data_options={"n": 3000}, test_fraction=0.5,
              evaluate=False)  # fmt: skip
    return out


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def test_sample_on_two_devices_writes_the_file_of_one(
    runs: dict[str, Path], tmp_path: Path, genlab_cli
) -> None:
    """`genlab sample RUN --per-class 250 --devices 2 --accelerator cpu`: Fabric starts the second process
    (it runs the command line again); the 2500 draws (labels given, three chunks) are the same bytes as one
    process's, and nothing else is written."""
    args = ["sample", str(runs["digits"]), "--per-class", "250", "--seed", "3"]
    code, _, err = genlab_cli([*args, "-o", str(tmp_path / "one.npz")])
    assert code == 0, err
    cmd = [str(GENLAB), *args, "-o", "two.npz", "--devices", "2", "--accelerator", "cpu"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    assert "(drawn by 2 processes) -> two.npz" in proc.stderr
    assert (tmp_path / "two.npz").read_bytes() == (tmp_path / "one.npz").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npz", "two.npz"]  # rank 1 wrote nothing
    with np.load(tmp_path / "two.npz") as f:
        assert f["samples"].shape == (2500, 1, 8, 8)
        np.testing.assert_array_equal(f["labels"], np.repeat(np.arange(10), 250))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_evaluate_on_two_machines_gives_the_record_of_one(
    runs: dict[str, Path], tmp_path: Path, genlab_cli
) -> None:
    """Two "machines" of one process each (MASTER_ADDR/PORT, NODE_RANK; the guide's by-hand form) run
    `genlab evaluate RUN --num-nodes 2`: both draw the 1500 samples, rank 0 judges them, and the record is
    the one-process record."""
    run = runs["toy"]
    code, _, err = genlab_cli(["evaluate", str(run), "--json", str(tmp_path / "one.json")])
    assert code == 0, err
    cmd = [
        str(GENLAB),
        "evaluate",
        str(run),
        "--json",
        "two.json",
        "--num-nodes",
        "2",
        "--accelerator",
        "cpu",
    ]
    port = _free_port()
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK=str(node), LOCAL_RANK="0"))
        for node in (0, 1)
    ]  # fmt: skip
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, e) in zip(procs, outs, strict=True):
        assert p.returncode == 0, e[-3000:]
    assert "(drawn by 2 processes)" in outs[0][1]  # rank 0 says so; rank 1 printed no result
    assert "evaluated" not in outs[1][1] and "Rule 1" not in outs[1][0]
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert one["n"] == 1500
    assert two == one  # the record holds no timings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "two.json"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--devices", "0"], "devices must be an integer >= 1"),
        (["--num-nodes", "0"], "num_nodes must be an integer >= 1"),
        (["--strategy", "fsdp"], "strategy 'fsdp'"),
        (["--accelerator", "tpu"], "accelerator must be one of"),
    ],
    ids=["devices", "num-nodes", "strategy", "accelerator"],
)
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_bad_device_options_are_one_line_errors(
    runs: dict[str, Path], tmp_path: Path, genlab_cli, command: str, extra: list[str], message: str
) -> None:
    out = ["-o", str(tmp_path / "x.npz")] if command == "sample" else []
    code, _, err = genlab_cli([command, str(runs["toy"]), *out, *extra])
    assert code == 2 and message in err and err.count("\n") <= 2, err
    assert not list(tmp_path.iterdir())
