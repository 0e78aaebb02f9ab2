"""Draws in chunks, shared over processes (genlab.models.sharding): chunk i of `sample(n, seed=s)` comes
from its own seed, so the rows are the same whether one process draws them or two CPU processes (gloo)
share them, bit for bit; conditions (labels drawn or given, factor rows) follow the chunks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.models import make_model
from genlab.models.base import GenerativeModel
from genlab.models.sharding import SAMPLE_CHUNK, chunk_bounds, chunk_seed

DRIVER = Path(__file__).with_name("shard_driver.py")
N = 2 * SAMPLE_CHUNK + 300  # three chunks, the last one short
SEED = 7


def _data(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(n, 3)) @ np.array([[1.0, 0.4, 0.0], [0.0, 0.6, 0.2], [0.0, 0.0, 0.3]])).astype(
        np.float32
    )
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)


# ---------------------------------------------------------------------------------------------- one process
def test_chunk_seeds_are_fixed_distinct_and_chunk_zero_is_the_seed() -> None:
    assert chunk_seed(5, 0) == 5
    seeds = [chunk_seed(5, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds == [chunk_seed(5, i) for i in range(50)]
    assert chunk_seed(6, 1) != chunk_seed(5, 1)
    assert chunk_bounds(N) == [(0, SAMPLE_CHUNK), (SAMPLE_CHUNK, 2 * SAMPLE_CHUNK), (2 * SAMPLE_CHUNK, N)]
    assert chunk_bounds(SAMPLE_CHUNK) == [(0, SAMPLE_CHUNK)]


def test_a_draw_is_its_chunks_each_from_its_own_seed() -> None:
    x, _ = _data()
    m = make_model("gaussian").fit(x)
    a = m.sample(N, seed=SEED)
    np.testing.assert_array_equal(a, m.sample(N, seed=SEED))  # the same seed reproduces
    # up to one chunk: the family's own draw from the seed, as before chunking
    np.testing.assert_array_equal(
        m.sample(SAMPLE_CHUNK, seed=SEED), m._sample(SAMPLE_CHUNK, SEED).astype(np.float32)
    )
    for i, (lo, hi) in enumerate(chunk_bounds(N)):  # chunk i is the plain draw from chunk_seed(seed, i)
        np.testing.assert_array_equal(a[lo:hi], m._sample(hi - lo, chunk_seed(SEED, i)).astype(np.float32))
    assert not np.array_equal(a[:300], a[SAMPLE_CHUNK : SAMPLE_CHUNK + 300])  # chunks differ
    assert not np.array_equal(a, m.sample(N, seed=SEED + 1))
    np.testing.assert_array_equal(m.sample(10, seed=SEED), a[:10])  # a shorter draw is a prefix of chunk 0


def test_conditions_are_drawn_for_all_rows_then_split_with_the_chunks() -> None:
    x, y = _data()
    m = make_model("kde", conditional=True, bandwidth=0.3).fit(x, labels=y)  # one model per class
    a, labels = m.sample(N, seed=SEED, return_labels=True)
    np.testing.assert_array_equal(labels, m.sample_labels(N, seed=SEED))  # the labels of one stream of n
    for i, (lo, hi) in enumerate(chunk_bounds(N)):
        np.testing.assert_array_equal(
            a[lo:hi], m.sample(hi - lo, seed=chunk_seed(SEED, i), labels=labels[lo:hi])
        )
    given = np.arange(N) % 3  # labels given: split the same way
    b = m.sample(N, seed=SEED, labels=given)
    for i, (lo, hi) in enumerate(chunk_bounds(N)):
        np.testing.assert_array_equal(
            b[lo:hi], m.sample(hi - lo, seed=chunk_seed(SEED, i), labels=given[lo:hi])
        )


# ---------------------------------------------------------------------------------------------- two processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_machines(args: list[str], cwd: Path, timeout: float = 120) -> list[subprocess.CompletedProcess]:
    """Run `args` as two "machines" of one process each, started together the way a launcher starts
    them (MASTER_ADDR/PORT, NODE_RANK, LOCAL_RANK; the guide's multi-machine form)."""
    port, procs = _free_port(), []
    for node in (0, 1):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "NODE_RANK": str(node), "LOCAL_RANK": "0"}  # fmt: skip
        procs.append(subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))  # fmt: skip
    out = []
    try:
        for p in procs:
            o, e = p.communicate(timeout=timeout)
            out.append(subprocess.CompletedProcess(args, p.returncode, o, e))
    finally:
        for p in procs:
            p.kill()
    return out


class _Factors:
    """A data set with two continuous generating factors per row (as tins has)."""

    kind, name, test = "vector", "factors", None
    factor_names = ["a", "b"]

    def __init__(self, x: np.ndarray) -> None:
        self.train = x
        self.train_factors = np.stack([x[:, 0], x[:, 1] ** 2], 1).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A baseline, a per-class baseline, a label-conditional VAE and a factor-conditional VAE, saved."""
    root = tmp_path_factory.mktemp("shard")
    x, y = _data()
    tiny = {"hidden": (16, 16), "latent_dim": 2, "batch_size": 64}
    fit = {"budget": "15steps", "progress": "off", "watch": "off"}
    paths = {k: root / k for k in ("gaussian", "kde", "vae", "vae_factors")}
    make_model("gaussian").fit(x).save(paths["gaussian"])
    make_model("kde", conditional=True, bandwidth=0.3).fit(x, labels=y).save(paths["kde"])
    make_model("vae", conditional=True, **tiny).fit(x, labels=y, **fit).save(paths["vae"])
    make_model("vae", conditional="factors", **tiny).fit(_Factors(x), **fit).save(paths["vae_factors"])
    return paths


def test_two_processes_draw_exactly_what_one_draws(saved: dict[str, Path], tmp_path: Path) -> None:
    """Rank r draws chunks r, r + 2, ...; both processes get all N rows, the rows of one process, bit for
    bit (CPU, one thread each), for a baseline, a per-class baseline, a VAE conditioned on labels (drawn
    from the seed, and given) and a VAE conditioned on factors."""
    import torch

    names = list(saved)
    cmd = [sys.executable, str(DRIVER), str(tmp_path), str(N), str(SEED), "2", "1", *map(str, saved.values())]
    for r in _two_machines(cmd, tmp_path):
        assert r.returncode == 0, r.stderr[-3000:]
    got = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    assert [int(g["world"]) for g in got] == [2, 2]
    torch.set_num_threads(1)
    for i, name in enumerate(names):
        m = genlab.load(saved[name])
        if m.conditional_mode:
            x, c = m.sample(N, seed=SEED, return_labels=True)
            for g in got:
                np.testing.assert_array_equal(g[f"m{i}"], x, err_msg=name)
                np.testing.assert_array_equal(g[f"m{i}_labels"], c, err_msg=name)
            if m.conditional_mode == "labels":
                given = m.sample(N, seed=SEED, labels=np.arange(N) % m.n_classes_)
                for g in got:
                    np.testing.assert_array_equal(g[f"m{i}_given"], given, err_msg=name)
        else:
            x = m.sample(N, seed=SEED)
            for g in got:
                np.testing.assert_array_equal(g[f"m{i}"], x, err_msg=name)


# ---------------------------------------------------------------------------------------------- the protocol
class _Hub:
    """Two threads standing in for two processes: what `Shard.broadcast`/`all_gather` do, in memory."""

    def __init__(self) -> None:
        import threading

        self.barrier = threading.Barrier(2, timeout=30)
        self.slots: list = [None, None]


class _ThreadShard:
    world = 2

    def __init__(self, rank: int, hub: _Hub) -> None:
        self.rank, self.hub = rank, hub

    def _exchange(self, t):  # noqa: ANN001, ANN202
        self.hub.slots[self.rank] = t.clone()
        self.hub.barrier.wait()
        out = [s.clone() for s in self.hub.slots]
        self.hub.barrier.wait()
        return out

    def broadcast(self, t):  # noqa: ANN001, ANN202
        return self._exchange(t)[0]

    def all_gather(self, t):  # noqa: ANN001, ANN202
        return self._exchange(t)


def _pair(lead_fn, serve_model):  # noqa: ANN001, ANN202
    """Run `lead_fn(shard0)` as rank 0 and `serve(shard1, serve_model)` as rank 1; (rank 0's result or
    error, the number of draws rank 1 served)."""
    import threading

    from genlab.models.sharding import serve

    hub = _Hub()
    served: list = []
    worker = threading.Thread(target=lambda: served.append(serve(_ThreadShard(1, hub), serve_model)))
    worker.start()
    try:
        result = lead_fn(_ThreadShard(0, hub))
    except Exception as e:  # noqa: BLE001 - handed to the test
        result = e
    worker.join(30)
    assert not worker.is_alive()
    return result, served[0]


class Scaled(GenerativeModel):
    """A stand-in family whose draws depend on a hyperparameter that may change after fitting (as a
    diffusion model's `sampler` and `steps` do), and that may be conditioned on labels."""

    name = "scaled"
    conditions = ("labels",)

    def __init__(self, scale: float = 1.0, conditional: bool | str = False) -> None:
        self.scale, self.conditional = scale, conditional

    def _fit(self, data, *, budget, seed, **options):  # noqa: ANN001, ANN003, ANN202, ARG002
        pass

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        z = self.scale * np.random.default_rng(seed).standard_normal((n, 3))
        return z if cond is None else z + 10 * cond[:, None]


def test_rank_zero_leads_and_the_other_rank_serves_with_rank_zeros_settings() -> None:
    """What `genlab sample`/`evaluate` do: rank 0 alone calls sample; its hyperparameters (here one set
    after fitting, as `--set sampler=ddim` is) and the conditions travel with each draw."""
    from genlab.models.sharding import lead

    x, y = _data()
    mine = Scaled(conditional=True).fit(x, labels=y).set_params(scale=3.0)
    other = Scaled(conditional=True).fit(x, labels=y)  # what rank 1 loaded: scale 1

    def draw(shard):  # noqa: ANN001, ANN202
        with lead(shard) as sharing:
            a = mine.sample(N, seed=SEED, return_labels=True)
            b = mine.sample(N, seed=SEED, labels=np.arange(N) % 3)
        assert sharing.draws == 2
        return a, b

    (got, given), served = _pair(draw, other)
    assert served == 2
    alone = Scaled(scale=3.0, conditional=True).fit(x, labels=y)
    np.testing.assert_array_equal(got[0], alone.sample(N, seed=SEED))
    np.testing.assert_array_equal(got[1], alone.sample_labels(N, seed=SEED))
    np.testing.assert_array_equal(given, alone.sample(N, seed=SEED, labels=np.arange(N) % 3))
    assert not np.array_equal(given, other.sample(N, seed=SEED, labels=np.arange(N) % 3))


class Broken(Scaled):
    """The same family, but every draw fails (a process whose part of a draw breaks)."""

    def _sample(self, n: int, seed: int, cond: np.ndarray | None = None) -> np.ndarray:
        raise ValueError("broken sampler")


def test_a_draw_that_fails_on_one_rank_fails_on_every_rank_and_the_server_goes_on() -> None:
    from genlab.models.sharding import lead

    x, _ = _data()
    good, bad = Scaled().fit(x), Broken().fit(x)

    def draw(shard):  # noqa: ANN001, ANN202
        with lead(shard):
            with pytest.raises(
                genlab.GenlabError, match="sampling on process 1 of 2 failed: ValueError: broken"
            ):
                good.sample(N, seed=SEED)
            return good.sample(10, seed=SEED)  # one chunk: rank 1 has nothing to draw, so nothing fails

    got, served = _pair(draw, bad)
    np.testing.assert_array_equal(got, good.sample(10, seed=SEED))
    assert served == 2
