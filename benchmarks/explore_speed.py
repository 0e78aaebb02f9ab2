"""The latent-space explorer (issue 19) on the demo's tins VAE, measured in headless Chromium.

Fits the demo's tins VAE (the settings of `genlab.demo.demo_jobs()`: 2-D latent, conv 8-16-32,
Bernoulli, beta 4, 1000 steps on 5000 tins of 32x32), or loads a fitted run with `--run RUN`, writes its
explorer page, opens it from file:// in headless Chromium (standard-library DevTools client,
`genlab.explore.chromium`) and measures:

- the page's size (target: under 15 MB) and how long it takes to be ready (decoder loaded);
- |page - model.decode| at three latent points (target: 1e-4 per pixel);
- the time of one decode in the page (ONNX Runtime Web, wasm, one thread), median over `--points`
  random points of the plane (target: under 30 ms); performance.now() is coarsened to 0.1 ms in a page
  that is not cross-origin isolated, so the mean over all points back to back is reported too;
- what moving along each axis of the plane does to the decoded tin: its height and width in pixels
  (pixels above 0.5) at five points along each axis through the centre, decoded by the page.

Writes benchmarks/results/explore_speed.json and .md. Prints, never asserts.

    python benchmarks/explore_speed.py                 # about 2 minutes on 2 cores (fitting is most of it)
    python benchmarks/explore_speed.py --run demo-out/tins-vae
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import genlab
from genlab.explore import write_explorer
from genlab.explore.chromium import Chromium, file_url, find_chromium

try:
    from _common import markdown_table, write_results
except ImportError:  # run from the repository root as a module
    from benchmarks._common import markdown_table, write_results

TARGET_MS = 30.0
TARGET_MB = 15.0
TOLERANCE = 1e-4


def demo_tins_vae(seed: int) -> tuple[object, object, str]:
    """The demo's tins VAE job, fitted here; returns (model, dataset, description)."""
    from genlab.demo import demo_jobs

    job = next(j for j in demo_jobs() if j.data == "tins" and j.model == "vae")
    data = genlab.load_dataset(job.data, **job.data_options)
    t = time.perf_counter()
    model = genlab.make_model(job.model, **job.hyper).fit(data, budget=job.budget, seed=seed)
    desc = f"demo tins VAE ({job.hyper}, {job.budget}, data {job.data_options}), fitted in {time.perf_counter() - t:.0f} s"
    return model, data, desc


def extent(img: np.ndarray) -> tuple[int, int]:
    """Height and width (pixels) of the bright region of a (H, W) picture: rows/columns with a pixel > 0.5."""
    on = img > 0.5
    return int(on.any(1).sum()), int(on.any(0).sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=Path, help="a fitted tins VAE run folder (default: fit the demo's settings)"
    )
    parser.add_argument("--points", type=int, default=50, help="decodes to time (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where to write the page (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_at_start = os.getloadavg()[0]  # other work on the machine slows fitting, and the page a little
    if find_chromium() is None:
        raise SystemExit("headless Chromium not found: apt-get install chromium (or set GENLAB_CHROMIUM)")

    if args.run:
        from genlab.runs import load_run_dataset, load_run_model

        model, data, desc = load_run_model(args.run), load_run_dataset(args.run), f"run {args.run}"
    else:
        model, data, desc = demo_tins_vae(args.seed)
    out = args.out or Path(tempfile.mkdtemp(prefix="genlab-explore-bench-"))
    t = time.perf_counter()
    path = write_explorer(model, data, out, force=True)
    write_s = time.perf_counter() - t
    summary = json.loads((out / "explore.json").read_text())
    size = path.stat().st_size

    rng = np.random.default_rng(args.seed)
    with Chromium(timeout=120) as browser:
        t = time.perf_counter()
        page = browser.open(file_url(path))
        page.evaluate("genlabExplorer.ready")
        ready_s = time.perf_counter() - t
        (x0, x1), (y0, y1) = page.evaluate("genlabExplorer.scene.views[0].ranges.slice(0, 2)")
        plane_name = page.evaluate("genlabExplorer.scene.views[0].name")
        axis_names = page.evaluate("genlabExplorer.scene.views[0].rows.slice(0, 2)")

        def latent(points: list[list[float]]) -> list[list[float]]:
            """The latent points the page decodes at these coordinates of its default plane."""
            return [page.evaluate(f"genlabExplorer.planeLatent({cx}, {cy})") for cx, cy in points]

        def decode(zs: list[list[float]]) -> np.ndarray:
            return np.array([g["x"] for g in page.evaluate(f"genlabExplorer.decode({json.dumps(zs)})")])

        at = lambda fx, fy: [x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)]  # noqa: E731
        given = latent([at(0.5, 0.5), at(0.25, 0.75), at(0.9, 0.0)])
        err = float(np.abs(decode(given) - model.decode(np.array(given, np.float32)).reshape(3, -1)).max())
        zs = latent([at(fx, fy) for fx, fy in rng.uniform(0, 1, (args.points, 2))])
        timing = page.evaluate(f"genlabExplorer.timeDecode({json.dumps(zs)})")
        # the tin along each axis of the default plane, through its centre
        fr = np.linspace(0.1, 0.9, 5)
        along = {"x": [at(f, 0.5) for f in fr], "y": [at(0.5, f) for f in fr]}
        shape = tuple(model.shape_)
        sizes = {a: [extent(x.reshape(shape)[0]) for x in decode(latent(pts))] for a, pts in along.items()}
        errors = page.console_errors()

    ms = timing["ms"]
    median, mean = statistics.median(ms), timing["total_ms"] / len(ms)
    result = {
        "model": desc,
        "page_bytes": size,
        "page_mb": size / 1e6,
        "decoder_bytes": summary["decoder_bytes"],
        "decoder_ops": summary["decoder_ops"],
        "python_check_max_error": summary["check_max_error"],
        "write_seconds": write_s,
        "ready_seconds": ready_s,
        "plane": plane_name,
        "plane_axes": axis_names,
        "given_points": given,
        "max_abs_error_page_vs_decode": err,
        "decode_ms_median": median,
        "decode_ms_mean": mean,
        "decode_ms_max": max(ms),
        "points_timed": len(ms),
        "tin_extent_along_axes": {k: [{"height": h, "width": w} for h, w in v] for k, v in sizes.items()},
        "page_errors": errors,
        "load_average_1min_at_start": load_at_start,
        "chromium": find_chromium(),
    }
    rows = [
        [
            "page size",
            f"{size / 1e6:.2f} MB",
            f"< {TARGET_MB:g} MB",
            "met" if size / 1e6 < TARGET_MB else "MISSED",
        ],
        [
            "max abs(page - decode), 3 points",
            f"{err:.2g}",
            f"<= {TOLERANCE:g}",
            "met" if err <= TOLERANCE else "MISSED",
        ],
        [
            f"decode one point, median of {len(ms)}",
            f"{median:.2f} ms",
            f"< {TARGET_MS:g} ms",
            "met" if median < TARGET_MS else "MISSED",
        ],
        [f"decode one point, mean of {len(ms)}", f"{mean:.2f} ms", "", ""],
        ["page ready (runtime + decoder loaded)", f"{ready_s:.2f} s", "", ""],
        ["page written by write_explorer", f"{write_s:.2f} s", "", ""],
    ]
    md = [
        f"Explorer page of the {desc}; decoder {summary['decoder_bytes']:,} B of ONNX ({', '.join(summary['decoder_ops'])}), run by {summary['runtime']} in headless Chromium from file://.",
        "",
    ]
    md.append(markdown_table(["measure", "value", "target", ""], rows))
    md += [
        "",
        f"Decoded tin (pixels above 0.5), by the page, at five points along each axis of its default plane "
        f"({plane_name}: x = {axis_names[0]}, y = {axis_names[1]}), through the plane's centre, from 10% to "
        "90% of each axis:",
        "",
    ]
    md.append(
        markdown_table(
            ["axis", *[f"{f:.0%}" for f in fr]],
            [[f"{a}: height x width", *[f"{h} x {w}" for h, w in v]] for a, v in sizes.items()],
        )
    )
    md += ["", f"Load average (1 min) on the machine when the benchmark started: {load_at_start:.1f}."]
    if errors:
        md += ["", f"Page errors: {errors}"]
    write_results("explore_speed", result, "\n".join(md))


if __name__ == "__main__":
    main()
