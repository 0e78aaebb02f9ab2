"""Bad input, as a demanding user would give it: every row is (what is wrong, the command, the words the
one-line message must contain). Each must exit 2 with that message, print no traceback, and leave every
file in its folder exactly as it was (nothing written, nothing deleted, no partial run, no lock).

Rows use placeholders: {t} the row's own folder, {run} a fitted gmm run on iris (a fresh copy per row),
{vae} a fitted 2-D VAE run on 8gaussians (likewise).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


# ---------------------------------------------------------------------------------------------- inputs
def _csv(text: str) -> Callable[[Path], None]:
    return lambda t: (t / "d.csv").write_text(text)


def _npy(a: np.ndarray, allow_pickle: bool = False) -> Callable[[Path], None]:
    return lambda t: np.save(t / "d.npy", a, allow_pickle=allow_pickle)


def _npz(**arrays: np.ndarray) -> Callable[[Path], None]:
    return lambda t: np.savez(t / "d.npz", **arrays)


def _huge_npy(t: Path) -> None:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    (t / "d.npy").write_bytes(buf.getvalue() + b"\0" * 64)


def _images(sizes: list[tuple[int, int]], sub: str = "") -> Callable[[Path], None]:
    def make(t: Path) -> None:
        from PIL import Image

        d = t / "imgs" / sub
        d.mkdir(parents=True, exist_ok=True)
        for k, (w, h) in enumerate(sizes):
            Image.fromarray(np.full((h, w), 40 * k % 255, np.uint8)).save(d / f"{k}.png")

    return make


def _garbage_png(t: Path) -> None:
    _images([(8, 8), (8, 8)])(t)
    (t / "imgs" / "2.png").write_bytes(b"not a png at all")


def _mixed_folder(t: Path) -> None:
    _images([(8, 8), (8, 8)])(t)
    _images([(8, 8), (8, 8)], "cats")(t)


def _idx(magic: bytes, dims: tuple[int, ...], payload: bytes) -> Callable[[Path], None]:
    return lambda t: (t / "d-idx3-ubyte").write_bytes(magic + struct.pack(f">{len(dims)}I", *dims) + payload)


def _zip_garbage(t: Path) -> None:
    (t / "d.npz").write_bytes(b"PK\x03\x04 this is no zip archive")


def _file_named(name: str, content: bytes = b"x") -> Callable[[Path], None]:
    return lambda t: (t / name).write_bytes(content)


def _foreign_folder(t: Path) -> None:
    (t / "mine").mkdir()
    (t / "mine" / "notes.txt").write_text("my thesis")


def _symlink_run(t: Path) -> None:
    (t / "link").symlink_to(t / "run", target_is_directory=True)


def _tamper(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda t: (t / "run" / name).write_bytes(content)


def _unknown_model_config(t: Path) -> None:
    cfg = json.loads((t / "run" / "config.json").read_text())
    cfg["model"] = "no-such-family"
    (t / "run" / "config.json").write_text(json.dumps(cfg))


def _changed_data(t: Path) -> None:
    d = json.loads((t / "run" / "data.json").read_text())
    d["fingerprint"] = "0" * 16
    (t / "run" / "data.json").write_text(json.dumps(d))


def _existing(name: str) -> Callable[[Path], None]:
    return lambda t: (t / name).write_text("already here")


def _latent_files(t: Path) -> None:
    (t / "lat").mkdir()
    (t / "lat" / "latent_map.png").write_bytes(b"mine")


def _unfinished_gmm(t: Path) -> None:
    info = json.loads((t / "run" / "run.json").read_text())
    info["status"] = "running"
    (t / "run" / "run.json").write_text(json.dumps(info))


GZ_IDX = _idx(b"\0\0\x08\x01", (3,), b"\1\2\3")


@dataclass
class Case:
    id: str
    argv: list[str]
    words: list[str]
    setup: Callable[[Path], None] | None = None


FIT = ["fit"]
R = ["--out", "{t}/out", "--no-evaluate"]
CASES: list[Case] = [
    # ------------------------------------------------------------------ data files and built-in sets
    Case("missing file", [*FIT, "{t}/nope.csv", "-m", "gaussian", *R], ["nope.csv", "no such file"]),
    Case("typo of a built-in", [*FIT, "moosn", "-m", "gaussian", *R], ["did you mean 'moons'"]),
    Case("empty csv", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["d.csv", "empty"], _csv("")),
    Case("csv header only", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["d.csv"], _csv("a,b\n")),
    Case("csv without header", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["header"], _csv("1,2\n3,4\n5,6\n")),
    Case("csv repeated header", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["d.csv", "a"], _csv("a,a\n1,2\n3,4\n")),
    Case("csv ragged row", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["row 2", "fields"], _csv("a,b\n1,2\n3\n4,5\n")),
    Case("csv infinite cell", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["row 2", "'b'"], _csv("a,b\n1,2\n3,inf\n4,5\n")),
    Case("csv not UTF-8", [*FIT, "{t}/d.csv", "-m", "gaussian", *R], ["d.csv", "encoding"],
         _file_named("d.csv", "a,b\n1,caf\xe9\n2,x\n3,y\n".encode("latin-1"))),
    Case("csv label column missing", [*FIT, "{t}/d.csv", "-m", "gaussian", "--set", "label=kind", *R],
         ["no column 'kind'"], _csv("a,b\n1,2\n3,4\n5,6\n")),
    Case("npy that is text", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["d.npy", "looks like text"],
         _file_named("d.npy", b"1,2,3\n4,5,6\n")),
    Case("npy of pickled objects", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["pickle"],
         _npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)),
    Case("npy declaring 10^12 values", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["(1000000, 1000000)", "TB"], _huge_npy),
    Case("npy of one number", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["single number"], _npy(np.array(3.0))),
    Case("npy of 5 dimensions", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["1 to 4 dimensions"], _npy(np.zeros((4, 2, 2, 2, 2)))),
    Case("npy of strings", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["not numeric"], _npy(np.array(["a", "b"]))),
    Case("npy with NaN", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["non-finite", "observation 2"],
         _npy(np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 0.0]]))),
    Case("npy of one row", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["only 1 observation"], _npy(np.zeros((1, 3)))),
    Case("npz holding no arrays", [*FIT, "{t}/d.npz", "-m", "gaussian", *R], ["holds no arrays"], _npz()),
    Case("npz with several arrays", [*FIT, "{t}/d.npz", "-m", "gaussian", *R], ["several arrays", "key=NAME"],
         _npz(a=np.zeros((4, 2)), b=np.zeros((4, 2)))),
    Case("npz key not there", [*FIT, "{t}/d.npz", "-m", "gaussian", "--set", "key=q", *R], ["no array 'q'"],
         _npz(a=np.zeros((4, 2)))),
    Case("npz x_train without x_test", [*FIT, "{t}/d.npz", "-m", "gaussian", *R], ["x_test"],
         _npz(x_train=np.zeros((4, 2)), y=np.zeros(4))),
    Case("npz labels of another length", [*FIT, "{t}/d.npz", "-m", "gaussian", "--set", "labels=y", *R],
         ["3 labels for 4 observations"], _npz(x=np.zeros((4, 2)), y=np.zeros(3))),
    Case("npz that is no zip", [*FIT, "{t}/d.npz", "-m", "gaussian", *R], ["not a readable .npz"], _zip_garbage),
    Case("float images outside [0, 1]", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["[0, 1]"], _npy(np.full((4, 5, 5), 3.0))),
    Case("signed integer images", [*FIT, "{t}/d.npy", "-m", "gaussian", *R], ["uint8"],
         _npy(np.full((4, 5, 5), -3, dtype=np.int16))),
    Case("empty image folder", [*FIT, "{t}/imgs", "-m", "gaussian", *R], ["imgs", "empty"], lambda t: (t / "imgs").mkdir()),
    Case("unreadable image", [*FIT, "{t}/imgs", "-m", "gaussian", *R], ["2.png", "unreadable image"], _garbage_png),
    Case("images of two sizes", [*FIT, "{t}/imgs", "-m", "gaussian", *R], ["size=N"], _images([(8, 8), (9, 8), (8, 8)])),
    Case("images beside class folders", [*FIT, "{t}/imgs", "-m", "gaussian", *R], ["both images and class subfolders"],
         _mixed_folder),
    Case("IDX with a bad magic number", [*FIT, "{t}/d-idx3-ubyte", "-m", "gaussian", *R], ["bad magic number"],
         _idx(b"\0\0\x42\x01", (3,), b"\1\2\3")),
    Case("IDX shorter than its header says", [*FIT, "{t}/d-idx3-ubyte", "-m", "gaussian", *R], ["promises shape (30,)"],
         _idx(b"\0\0\x08\x01", (30,), b"\1\2\3")),
    Case("unknown file type", [*FIT, "{t}/d.txt", "-m", "gaussian", *R], ["unknown data format '.txt'"], _file_named("d.txt")),
    Case("unknown --set key", [*FIT, "moons", "-m", "gaussian", "--set", "foo=1", *R],
         ["--set foo", "hyperparameter of gaussian", "option of the data", "noise"]),
    Case("loader option of the wrong type", [*FIT, "moons", "-m", "gaussian", "--set", "n=abc", *R], ["n='abc' must be int"]),
    Case("a data set of one point", [*FIT, "moons", "-m", "gaussian", "--set", "n=1", *R], ["n must be at least 2"]),
    Case("tins too small", [*FIT, "tins", "-m", "gaussian", "--set", "size=4", *R], ["size must be at least 8"]),
    # ------------------------------------------------------------------ options
    Case("no model", [*FIT, "moons", *R], ["--model"]),
    Case("unknown model", [*FIT, "moons", "-m", "vea", *R], ["unknown model 'vea'", "vae"]),
    Case("unparseable budget", [*FIT, "moons", "-m", "vae", "--budget", "5 parsecs", *R], ["bad budget '5 parsecs'"]),
    Case("budget of zero seconds", [*FIT, "moons", "-m", "vae", "--budget", "0s", *R], ["time must be positive"]),
    Case("--set without =", [*FIT, "moons", "-m", "gmm", "--set", "n_components", *R], ["key=value"]),
    Case("hyperparameter not a number", [*FIT, "moons", "-m", "gmm", "--set", "n_components=abc", *R],
         ["n_components must be an integer", "'abc'"]),
    Case("hyperparameter zero", [*FIT, "moons", "-m", "gmm", "--set", "n_components=0", *R], ["n_components must be an integer >= 1"]),
    Case("negative learning rate", [*FIT, "moons", "-m", "vae", "--set", "lr=-1", *R], ["lr must be > 0"]),
    Case("batch size zero", [*FIT, "moons", "-m", "vae", "--set", "batch_size=0", *R], ["batch_size must be an integer >= 1"]),
    Case("unknown LR schedule", [*FIT, "moons", "-m", "vae", "--set", "lr_schedule=wiggly", *R], ["lr_schedule must be one of"]),
    Case("zero devices", [*FIT, "moons", "-m", "vae", "--devices", "0", *R], ["devices must be an integer >= 1"]),
    Case("unknown precision", [*FIT, "moons", "-m", "vae", "--precision", "17", *R], ["precision must be one of"]),
    Case("unknown accelerator", [*FIT, "moons", "-m", "vae", "--accelerator", "tpu2", *R], ["accelerator must be one of"]),
    Case("spawned DDP", [*FIT, "moons", "-m", "vae", "--strategy", "ddp_spawn", *R], ["not supported", "strategy='ddp'"]),
    Case("devices for a closed form", [*FIT, "moons", "-m", "gaussian", "--devices", "2", *R], ["closed form", "--devices"]),
    Case("test fraction above 1", [*FIT, "moons", "-m", "gaussian", "--test-fraction", "1.5", *R], ["test_fraction must lie in [0, 1)"]),
    Case("negative test fraction", [*FIT, "moons", "-m", "gaussian", "--test-fraction", "-0.1", *R], ["test_fraction"]),
    Case("negative split seed", [*FIT, "moons", "-m", "gaussian", "--split-seed", "-1", *R], ["seed must be a non-negative integer"]),
    Case("negative seed", [*FIT, "moons", "-m", "gaussian", "--seed", "-1", *R], ["seed must be a non-negative integer"]),
    Case("Bernoulli likelihood on vectors", [*FIT, "moons", "-m", "vae", "--set", "likelihood=bernoulli", *R],
         ["bernoulli", "images"]),
    Case("more components than points", [*FIT, "moons", "-m", "gmm", "--set", "n=30", "--set", "n_components=50", *R],
         ["n_components=50 exceeds"]),
    Case("PCA wider than the data", [*FIT, "iris", "-m", "kde", "--set", "pca=9", *R], ["pca must be an integer", "<= 3"]),
    Case("evaluation without test rows", [*FIT, "moons", "-m", "gaussian", "--set", "n=40", "--out", "{t}/out"],
         ["at least 20 held-out rows", "--no-evaluate"]),
    # ------------------------------------------------------------------ run folders
    Case("--force onto a folder genlab did not write", [*FIT, "moons", "-m", "gaussian", "--out", "{t}/mine",
         "--force", "--no-evaluate"], ["not a genlab run folder", "refusing"], _foreign_folder),
    Case("an existing run without --force", [*FIT, "iris", "-m", "gaussian", "--out", "{run}", "--no-evaluate"],
         ["already exists", "--force"]),
    Case("--out is a file", [*FIT, "iris", "-m", "gaussian", "--out", "{t}/f", "--no-evaluate"], ["not a folder"],
         _file_named("f")),
    Case("--out is a symbolic link", [*FIT, "iris", "-m", "gaussian", "--out", "{t}/link", "--force", "--no-evaluate"],
         ["symbolic link"], _symlink_run),
    Case("sample a run that is not there", ["sample", "{t}/none", "--out", "{t}/s.npy"], ["no such"]),
    Case("sample a folder that is no run", ["sample", "{t}/mine", "--out", "{t}/s.npy"], ["config.json"], _foreign_folder),
    Case("sample zero", ["sample", "{run}", "-n", "0", "--out", "{t}/s.npy"], ["n must be a positive integer"]),
    Case("sample far too many", ["sample", "{run}", "-n", "99999999999", "--out", "{t}/s.npy"], ["of memory", "available"]),
    Case("sample over a file", ["sample", "{run}", "--out", "{t}/s.npy"], ["already exists", "--force"], _existing("s.npy")),
    Case("sample to an unknown type", ["sample", "{run}", "--out", "{t}/s.txt"], ["unsupported output type .txt"]),
    Case("sample into a folder", ["sample", "{run}", "--out", "{t}/dir.npy", "--force"], ["is a folder"],
         lambda t: (t / "dir.npy").mkdir()),
    Case("sample with an unknown setting", ["sample", "{run}", "--set", "warp=9", "--out", "{t}/s.npy"],
         ["unknown hyperparameter 'warp'"]),
    Case("evaluate --json over a file", ["evaluate", "{run}", "--json", "{t}/e.json", "--features", "pixels"],
         ["already exists"], _existing("e.json")),
    Case("evaluate --json into the run", ["evaluate", "{run}", "--json", "{run}/config.json", "--force"],
         ["inside the run folder"]),
    Case("evaluate with too few samples", ["evaluate", "{run}", "--n", "5"], ["at least 20"]),
    Case("evaluate with a missing feature file", ["evaluate", "{run}", "--features", "{t}/net.pt"], ["no such file"]),
    Case("info of nothing", ["info", "{t}/none"], ["no such run folder"]),
    Case("latent of a family without one", ["latent", "{run}", "--out", "{t}/lat"], ["no latent space"]),
    Case("latent over figures", ["latent", "{vae}", "--out", "{t}/lat"], ["already holds latent_map.png", "--force"], _latent_files),
    Case("report over a file", ["report", "{run}", "--out", "{t}/r.html"], ["already exists"], _existing("r.html")),
    Case("report to an unknown type", ["report", "{run}", "--out", "{t}/r.txt"], ["unsupported output type"]),
    Case("compare a folder that is no run", ["compare", "{t}/mine"], ["not a genlab run folder"], _foreign_folder),
    Case("config.json that is not JSON", ["sample", "{run}", "--out", "{t}/s.npy"], ["config.json", "not valid JSON"],
         _tamper("config.json", b"{ not json")),
    Case("config.json of an unknown family", ["sample", "{run}", "--out", "{t}/s.npy"], ["unknown model 'no-such-family'"],
         _unknown_model_config),
    Case("weights replaced by a pickle", ["sample", "{run}", "--out", "{t}/s.npy"], ["never loads pickles"],
         _tamper("model.safetensors", b"\x80\x04\x95" + b"\0" * 64)),
    Case("data changed since the fit", ["evaluate", "{run}"], ["no longer matches its fingerprint"], _changed_data),
    Case("resume a finished run", [*FIT, "--resume", "{run}"], ["already finished"]),
    Case("resume a closed form", [*FIT, "--resume", "{run}"], ["closed form", "fit again"], _unfinished_gmm),
    Case("resume with new arguments", [*FIT, "--resume", "{run}", "-m", "vae"], ["drop DATA, --model and --set"]),
]  # fmt: skip


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from genlab.runs import fit_run

    root = tmp_path_factory.mktemp("base")
    gmm = fit_run("iris", "gmm", hyper={"n_components": 2}, out=root / "run", evaluate=False).run_dir
    vae = fit_run("8gaussians", "vae", hyper={"latent_dim": 2, "hidden": (8, 8), "latent_sampler": "prior"},
                  data_options={"n": 300}, budget="5steps", out=root / "vae", evaluate=False, progress="off").run_dir  # fmt: skip
    return {"run": gmm, "vae": vae}


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, base_runs: dict[str, Path], genlab_cli) -> None:
    for name, src in base_runs.items():
        shutil.copytree(src, tmp_path / name)
    if case.setup is not None:
        case.setup(tmp_path)
    argv = [a.format(t=tmp_path, run=tmp_path / "run", vae=tmp_path / "vae") for a in case.argv]
    before = snapshot(tmp_path)
    code, out, err = genlab_cli(argv)
    text = (out + err).replace("\n", " ")
    text = " ".join(text.split())  # rich folds long lines
    assert code == 2, f"exit {code}: {out}{err}"
    assert "Traceback" not in text and "internal error" not in text, text
    for w in case.words:
        assert " ".join(w.split()) in text, f"{w!r} not in: {text}"
    assert snapshot(tmp_path) == before, "a file changed"


def test_a_write_that_exceeds_the_file_size_limit_names_the_file(tmp_path: Path) -> None:
    """EFBIG (a file-size limit; a full disk looks the same): one line naming the file, exit 2, and no
    half-written file left where the output should be."""
    import subprocess
    import sys

    out = tmp_path / "s.npy"
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        f"sys.argv=['genlab','fit','moons','--model','kde','--set','n=2000','--out',{str(tmp_path / 'run')!r},"
        "'--no-evaluate']\n"
        "from genlab.cli import main\nmain()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "cannot write" in res.stderr and "model.safetensors" in res.stderr, res.stderr
    assert not (tmp_path / "run").exists() and not out.exists()


def test_gzip_idx_round_trip_still_loads(tmp_path: Path) -> None:
    """The IDX checks refuse bad files only: a good gzip IDX file loads."""
    import genlab

    GZ_IDX(tmp_path)
    raw = (tmp_path / "d-idx3-ubyte").read_bytes()
    (tmp_path / "d.gz").write_bytes(gzip.compress(raw))
    ds = genlab.load_dataset(tmp_path / "d.gz", test_fraction=0.0)
    assert ds.train.shape == (3, 1)
