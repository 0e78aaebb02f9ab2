"""The HTML report: sections, self-containment, the closest-sample pairs, and a headless-Chromium screenshot."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import genlab
import genlab.models.loading
from genlab import runs
from genlab.report.html import render_report, write_report

PNG = b"\x89PNG\r\n\x1a\n"
SECTIONS = ("overview", "training", "samples", "rule1", "rule2", "closest")


def check_self_contained(page: str) -> list[bytes]:
    """No network reference anywhere in src/href, no script; every image an inline PNG. Returns the PNGs."""
    assert "<script" not in page.lower()
    links = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert not [u for u in links if re.match(r"\s*(https?:)?//", u)], "external URL in src/href"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page), "external URL in CSS"
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert srcs, "no images"
    pngs = []
    for s in srcs:
        assert s.startswith("data:image/png;base64,"), s[:40]
        data = base64.b64decode(s.split(",", 1)[1], validate=True)
        assert data[:8] == PNG
        pngs.append(data)
    return pngs


def section_ids(page: str) -> list[str]:
    return re.findall(r'<h2 id="([^"]+)"', page)


def test_vector_report(vector_run: Path) -> None:
    path = write_report(vector_run)
    assert path == vector_run / "report.html"
    page = path.read_text()
    assert section_ids(page) == list(SECTIONS)  # no latent section: gmm has none
    check_self_contained(page)
    ev = json.loads((vector_run / "evaluation.json").read_text())
    for rule in ("rule1", "rule2"):  # the verdict in words, as a badge
        assert f">{ev['verdict'][rule].upper()}</span>" in page
    for metric in ("Fr\u00e9chet distance", "precision", "memorisation rate", "data-copying C_T"):
        assert metric in page
    # each value of the tables appears with its reference
    fd = ev["rule1"]["frechet_distance"]
    assert f"<td>{float(fd['value']):.4g}</td><td>{float(fd['reference']):.4g}</td>" in page
    assert "gmm on moons" in page and "reference (held-out real)" in page


def test_closest_pairs_are_the_recorded_neighbours(vector_run: Path) -> None:
    """Drawn again with the evaluation's seed, the samples sit at the recorded distances from their
    recorded training neighbours (in the evaluation's standardised feature space)."""
    model, ds = genlab.load(vector_run), runs.load_run_dataset(vector_run)
    ev = json.loads((vector_run / "evaluation.json").read_text())
    copies = ev["rule2"]["copies"][:8]
    samples = model.sample(ev["n"], seed=ev["seed"])
    gen = np.stack([samples[c["sample_index"]] for c in copies])
    train = np.stack([ds.train[c["train_index"]] for c in copies])
    assert len(copies) == 8 and gen.shape == train.shape == (8, 2)
    mu, sd = ds.train.mean(0), ds.train.std(0)
    d = np.linalg.norm((gen - mu) / sd - (train - mu) / sd, axis=1)
    np.testing.assert_allclose(d, [c["distance"] for c in copies], rtol=1e-3)
    assert np.all(np.diff(d) >= -1e-6)  # nearest first


def test_image_report_with_latent_space(image_run: Path) -> None:
    page = render_report(image_run)
    assert section_ids(page) == [*SECTIONS, "latent"]
    pngs = check_self_contained(page)
    # 2 sample grids + 8 closest pairs + curves + latent map, scatter and interpolations
    assert len(pngs) >= 2 + 8 + 1 + 3
    assert page.count('<div class="pair">') == 8
    assert "linear R\u00b2" in page and "<td>height</td>" in page and "<td>width</td>" in page
    assert "training curves" in page


def test_report_is_a_view(image_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report never samples, encodes, decodes or trains: with all of those broken it still renders,
    from the run folder alone, in well under 3 s."""
    import time

    from genlab.models.base import GenerativeModel

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report called the model")

    for method in ("fit", "sample", "encode", "decode", "log_prob"):
        monkeypatch.setattr(GenerativeModel, method, broken)
    monkeypatch.setattr(genlab.models.loading, "load_model", broken)
    t0 = time.perf_counter()
    page = render_report(image_run)
    assert time.perf_counter() - t0 < 3.0
    assert section_ids(page) == [*SECTIONS, "latent"]


def test_report_without_evaluation(tmp_path: Path, vector_run: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(vector_run, run)
    (run / "evaluation.json").unlink()
    page = render_report(run)
    assert "Not evaluated yet" in page and f"genlab evaluate {run}" in page
    check_self_contained(page)


def test_report_of_a_folder_that_is_no_run(tmp_path: Path) -> None:
    with pytest.raises(genlab.GenlabError, match="not a genlab run folder"):
        render_report(tmp_path)


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed")
def test_report_screenshot(tmp_path: Path, image_run: Path) -> None:
    """The page renders: Chromium writes a screenshot that is not blank (no network: flags off)."""
    from PIL import Image

    page = write_report(image_run, tmp_path / "r.html")
    shot = tmp_path / "shot.png"
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,3000",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "Chromium wrote no screenshot"
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert img.shape == (3000, 1200)
    assert img.std() > 20  # text, tables and figures, not a blank page
    dark_rows = (img < 128).any(axis=1)
    assert dark_rows[:200].any() and dark_rows[1500:].any()  # content from the title down the page
