"""Network size from the data, the budget and the device: a short CPU budget gets a network that can
take thousands of steps, a GPU gets a larger one, and any hyperparameter given explicitly wins.

Each image family has a ladder of sizes ("rungs", smallest first). Each rung carries its measured cost:
milliseconds per training step on 28x28x1 images at the CPU batch size, on 2 CPU cores
(`benchmarks/sizing_rates.py` measures them; `benchmarks/results/sizing_rates.md` has the run). For
other images the cost is scaled by the number of values per image (C*H*W / 784), which is how the
convolutions' work grows. The rule:

- a time budget of S seconds: the largest rung that still takes at least `min_steps` steps in S
  seconds (the smallest rung if none does);
- a step budget of N steps: the largest rung whose N steps take at most `STEP_BUDGET_S` seconds;
- no time or step limit: the family's middle rung;
- on a GPU (CUDA, where the fit runs there): the largest rung and the GPU batch size, since a GPU runs
  every rung here far faster than it is fed (no new flag: the same command gets more from a GPU).

Vectors keep the family's own (toy-tuned) defaults: sizing touches only images. The sizes chosen are
recorded in the model's saved build state (`data_meta_["sized"]`), so a saved model reloads with the
same networks whatever the budget or the machine that loads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genlab.budget import Budget

__all__ = ["FamilySizing", "Rung", "SIZING", "STEP_BUDGET_S", "choose", "describe", "device_kind"]

#: a step budget may take this long on the device (seconds) when the network is chosen for it
STEP_BUDGET_S = 600.0
REFERENCE_VALUES = 28 * 28  # the rungs' costs are measured on 28x28x1 images


@dataclass(frozen=True)
class Rung:
    params: dict[str, Any]
    ms_per_step: float  # measured: 28x28x1, CPU batch size, 2 cores


@dataclass(frozen=True)
class FamilySizing:
    rungs: tuple[Rung, ...]
    min_steps: int  # a time budget must allow at least this many steps
    batch_cpu: int
    batch_gpu: int
    note: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)  # image settings that do not depend on size


# The costs below come from benchmarks/sizing_rates.py (see its results file for the run and load): the
# steady rate on an idle machine, 2026-12-02 (the first run's figures were 3-11x higher: loaded machine, set-up).
SIZING: dict[str, FamilySizing] = {
    "gan": FamilySizing(
        rungs=(
            Rung({"channels": (16, 32, 64)}, 95.0),
            Rung({"channels": (32, 64, 128)}, 250.0),
            Rung({"channels": (64, 128, 256)}, 810.0),
        ),
        min_steps=2000,
        batch_cpu=64,
        batch_gpu=256,
        note="DCGAN widths (w, 2w, 4w) per resolution level",
    ),
    "vae": FamilySizing(
        rungs=(
            Rung({"channels": (16, 32, 64)}, 95.0),
            Rung({"channels": (32, 64, 128)}, 260.0),
            Rung({"channels": (64, 128, 256)}, 670.0),
        ),
        min_steps=3000,
        batch_cpu=128,
        batch_gpu=256,
        note="conv widths (w, 2w, 4w) per resolution level",
    ),
    "diffusion": FamilySizing(
        rungs=(
            Rung({"channels": 16, "channel_mult": (1, 2, 2)}, 180.0),
            Rung({"channels": 32, "channel_mult": (1, 2, 2)}, 570.0),
            Rung({"channels": 64, "channel_mult": (1, 2, 2)}, 1300.0),
        ),
        min_steps=2000,
        batch_cpu=64,
        batch_gpu=256,
        note="U-Net base width",
    ),
    "ebm": FamilySizing(
        rungs=(
            Rung({"channels": 16}, 220.0),
            Rung({"channels": 32}, 330.0),
            Rung({"channels": 64}, 700.0),
        ),
        min_steps=400,
        batch_cpu=64,
        batch_gpu=128,
        note="Swish CNN width; each step runs 60 Langevin steps",
    ),
    "autoregressive": FamilySizing(
        rungs=(
            Rung({"hidden": 16, "layers": 5}, 280.0),
            Rung({"hidden": 32, "layers": 5}, 680.0),
            Rung({"hidden": 64, "layers": 7}, 2500.0),
        ),
        min_steps=2000,
        batch_cpu=64,
        batch_gpu=256,
        note="gated PixelCNN channels and layers",
    ),
    "flow": FamilySizing(
        rungs=(
            Rung({"transforms": 3, "hidden": (64, 64), "bins": 8}, 220.0),
            Rung({"transforms": 4, "hidden": (128, 128), "bins": 8}, 350.0),
            Rung({"transforms": 5, "hidden": (256, 256), "bins": 8}, 600.0),
        ),
        min_steps=2000,
        batch_cpu=64,
        batch_gpu=256,
        note="coupling NSF: layers, MLP widths, spline bins",  # costs: results/sizing_rates_flow.md
    ),
}


def device_kind(options: dict[str, Any]) -> str:
    """ "gpu" when the fit will run on a CUDA device (accelerator auto/cuda/gpu and one is present)."""
    accelerator = str(options.get("accelerator", "auto"))
    if accelerator == "cpu":
        return "cpu"
    try:
        import torch

        return "gpu" if accelerator in ("auto", "cuda", "gpu") and torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - torch is a dependency; be safe anyway
        return "cpu"


def choose(family: str, shape: tuple[int, ...], budget: Budget, device: str = "cpu") -> dict[str, Any]:
    """The sized hyperparameters (and `batch_size`) for images of `shape` under `budget` on `device`."""
    spec = SIZING[family]
    values = 1
    for s in shape:
        values *= int(s)
    factor = max(values / REFERENCE_VALUES, 1e-3)
    rungs = spec.rungs
    if device == "gpu":
        rung, batch = rungs[-1], spec.batch_gpu
    else:
        batch = spec.batch_cpu
        cost_s = [r.ms_per_step * factor / 1000.0 for r in rungs]  # seconds per step
        rung = rungs[len(rungs) // 2]
        if budget.seconds is not None:
            ok = [r for r, c in zip(rungs, cost_s, strict=True) if budget.seconds / c >= spec.min_steps]
            rung = ok[-1] if ok else rungs[0]
        elif budget.steps is not None:
            ok = [r for r, c in zip(rungs, cost_s, strict=True) if budget.steps * c <= STEP_BUDGET_S]
            rung = ok[-1] if ok else rungs[0]
    return {**spec.recipe, **rung.params, "batch_size": batch}


def describe(family: str) -> str:
    """One line: how the family's image network is sized (for `genlab models` and the docs)."""
    spec = SIZING.get(family)
    if spec is None:
        return "fixed defaults (no sizing)"
    sizes = " < ".join(
        ", ".join(f"{k}={_fmt(v)}" for k, v in r.params.items()) + f" ({r.ms_per_step:g} ms/step)"
        for r in spec.rungs
    )
    return (
        f"images: {spec.note}: {sizes}; largest taking >= {spec.min_steps} steps in the time budget "
        f"(CPU, batch {spec.batch_cpu}); GPU: largest, batch {spec.batch_gpu}"
    )


def _fmt(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple | list) else str(v)
