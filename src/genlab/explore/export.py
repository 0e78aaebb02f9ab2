"""A model's decoder as an ONNX graph that the explorer page runs with ONNX Runtime Web.

`decode(z)` of each family is wrapped in a torch module that computes exactly what `model.decode`
computes (the VAE's sigmoid or clamp included), exported with torch's TorchScript-based ONNX exporter,
and checked before it is used: the graph is run by the `onnx` package's reference evaluator (numpy)
at a few latent points and must match `model.decode` within `CHECK_TOLERANCE`. A family whose decode
cannot be exported (a zuko spline flow: its inverse searches bins, which ONNX cannot express; a
diffusion model: decode is a 50-step sampler) raises `NotSupported` with the reason, and the page
falls back to pictures decoded in Python.

The graph has a fixed batch of one (`INPUT` of shape (1, latent_dim) -> `OUTPUT` (1, *shape)): the page
decodes one point per mouse move, and a fixed shape spares the tracer's batch-size pitfalls.
A conditional model (`decode(z, labels=...)`) gets a second input `LABELS` (int64, shape (1,)).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.errors import GenlabError, NotSupported

__all__ = [
    "ADAPTERS",
    "CHECK_TOLERANCE",
    "INPUT",
    "LABELS",
    "OPSET",
    "OUTPUT",
    "ExportedDecoder",
    "decoder_module",
    "export_decoder",
    "export_module",
    "is_conditional",
    "run_reference",
]

INPUT, LABELS, OUTPUT = "z", "labels", "x"
#: ONNX opset of the exported graphs (ONNX Runtime Web 1.30 runs up to opset 23)
OPSET = 17
#: largest |reference evaluator - model.decode| accepted, per value; both are float32, so a correct
#: export differs by rounding only (about 1e-7)
CHECK_TOLERANCE = 1e-5


@dataclass(frozen=True)
class ExportedDecoder:
    """An ONNX decoder: the graph's bytes, and how well it matched `model.decode` when checked."""

    onnx: bytes
    latent_dim: int
    shape: tuple[int, ...]
    conditional: bool
    ops: tuple[str, ...]
    max_error: float  # largest |ONNX - model.decode| over the check points


# ----------------------------------------------------------------------------- per-family decoders
class _VAEDecoder(nn.Module):
    """The VAE's decoder mean, as `VAE._decode_mean` computes it."""

    def __init__(self, decoder: nn.Module, post: str) -> None:
        super().__init__()
        self.decoder, self.post = decoder, post

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        loc = self.decoder(z, labels)[0]
        if self.post == "sigmoid":
            return torch.sigmoid(loc)
        return loc.clamp(0.0, 1.0) if self.post == "clamp" else loc


class _Call(nn.Module):
    """net.<method>(z), reshaped to (n, *shape)."""

    def __init__(self, net: nn.Module, method: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.method, self.shape = net, method, tuple(shape)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        fn = self.net if self.method == "forward" else getattr(self.net, self.method)
        out = fn(z) if labels is None else fn(z, labels)
        return out.reshape(z.shape[0], *self.shape)


def _vae(model: Any) -> nn.Module:
    post = "none"
    if model.kind_ == "image":
        post = "sigmoid" if model.lik_ == "bernoulli" else "clamp"
    return _VAEDecoder(model.decoder_, post)


def _gan(model: Any) -> nn.Module:
    return _Call(model.generator_, "forward", tuple(model.shape_))


@contextlib.contextmanager
def _gather_merge() -> Iterator[None]:
    """zuko's coupling layers merge their two halves by writing into an empty tensor by index, which
    the ONNX exporter turns into an invalid graph (an Add with a missing input); while this is active
    they gather from the concatenated halves instead: the same values, and a graph that runs."""
    from zuko.transforms import CouplingTransform

    def merge(self: Any, x_a: torch.Tensor, x_b: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        order = torch.argsort(torch.cat((self.idx_a, self.idx_b)))
        return torch.cat((x_a, x_b), dim=-1)[..., order].reshape(shape)

    original = CouplingTransform.merge
    CouplingTransform.merge = merge
    try:
        yield
    finally:
        CouplingTransform.merge = original


class _FlowDecoder(nn.Module):
    """The flow's exact inverse, data-shaped, with coupling merges the exporter can express."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.shape = net, tuple(shape)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        with _gather_merge():
            out = self.net.decode(z) if labels is None else self.net.decode(z, labels)
            return out.reshape(z.shape[0], *self.shape)


def _flow(model: Any) -> nn.Module:
    if getattr(model, "arch", None) == "nsf":  # fail fast: tracing it takes minutes and gives a broken graph
        raise NotSupported(
            "a neural spline flow's inverse looks up each value's spline bin and gathers its knots, which "
            "torch's ONNX exporter does not turn into a graph that runs (maf and realnvp flows export)"
        )
    return _FlowDecoder(model.net_, tuple(model.shape_))


def _diffusion(model: Any) -> nn.Module:
    raise NotSupported(
        f"decode is a {int(getattr(model, 'inversion_steps', 50))}-step DDIM run of the denoiser (a U-Net "
        "or MLP called once per step, with the scheduler's arithmetic around it): too costly to run at "
        "every mouse move, and the sampler is not a graph ONNX can hold"
    )


#: family name -> a torch module computing exactly `model.decode(z)` for one batch of latent points;
#: a family that adds a decoder adds its entry here (the check in `export_decoder` guards it)
ADAPTERS: dict[str, Callable[[Any], nn.Module]] = {
    "vae": _vae,
    "gan": _gan,
    "flow": _flow,
    "diffusion": _diffusion,
}


def is_conditional(model: Any) -> bool:
    """Whether the model decodes under class labels (fitted with `conditional`, `decode(z, labels=...)`)."""
    return getattr(model, "conditional_", False) == "labels"


def decoder_module(model: Any) -> nn.Module:
    """The torch module the explorer exports for `model` (NotSupported where there is none)."""
    if getattr(model, "latent_dim", None) is None:
        from genlab.models import models_with

        raise NotSupported(
            f"explore: {model.name} has no latent space to explore; families with a decoder: "
            f"{', '.join(models_with('latent'))}"
        )
    if getattr(model, "conditional_", False) == "factors":
        raise NotSupported(
            "explore: a factor-conditional model decodes under a factor vector, which the explorer's page "
            "cannot set yet"
        )
    adapter = ADAPTERS.get(model.name)
    if adapter is None:
        raise NotSupported(f"no ONNX export for the {model.name} family's decoder yet")
    return adapter(model)


# ----------------------------------------------------------------------------- export and check
def export_module(module: nn.Module, latent_dim: int, *, conditional: bool = False) -> bytes:
    """ONNX bytes of `module(z)` (or `module(z, labels)`), for one point: z (1, latent_dim) float32."""
    z = torch.zeros(1, int(latent_dim))
    args: tuple[torch.Tensor, ...] = (z, torch.zeros(1, dtype=torch.int64)) if conditional else (z,)
    names = [INPUT, LABELS] if conditional else [INPUT]
    modes = {m: m.training for m in module.modules()}
    module.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter warns that it is the legacy one; it needs no onnxscript
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, args, buf, dynamo=False, input_names=names, output_names=[OUTPUT], opset_version=OPSET
            )
    except Exception as e:  # the exporter raises many types; all mean "this graph cannot be exported"
        raise NotSupported(
            f"the decoder cannot be exported to ONNX ({type(e).__name__}: {_first_line(e)})"
        ) from e
    finally:
        for m, training in modes.items():
            m.train(training)
    return buf.getvalue()


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def run_reference(onnx_bytes: bytes, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Run an exported decoder with the `onnx` package's reference evaluator, one point at a time:
    z (n, latent_dim) -> (n, *shape) float32."""
    from onnx.reference import ReferenceEvaluator

    ev = ReferenceEvaluator(onnx_bytes)
    out = []
    for i, zi in enumerate(np.asarray(z, np.float32)):
        feeds: dict[str, np.ndarray] = {INPUT: zi[None]}
        if labels is not None:
            feeds[LABELS] = np.asarray(labels, np.int64)[i : i + 1]
        (x,) = ev.run(None, feeds)
        out.append(np.asarray(x, np.float32)[0])
    return np.stack(out)


def check_points(model: Any, latents: np.ndarray | None = None, *, seed: int = 0) -> np.ndarray:
    """Three latent points to check an export at: two given ones (e.g. encoded data) and a prior draw."""
    d = int(model.latent_dim)
    rng = np.random.default_rng(seed)
    prior = rng.standard_normal((3, d)).astype(np.float32)
    if latents is None or len(latents) == 0:
        return prior
    return np.concatenate([np.asarray(latents, np.float32)[:2], prior])[:3]


def export_decoder(model: Any, *, latents: np.ndarray | None = None, check: bool = True) -> ExportedDecoder:
    """Export `model`'s decode to ONNX and check it against `model.decode` (within CHECK_TOLERANCE).

    latents: a few typical latent points to check at (default: prior draws). NotSupported when the
    family has no decoder or it cannot be exported; GenlabError when the export runs but does not
    reproduce `model.decode` (the adapter in ADAPTERS no longer matches the family's code).
    """
    import onnx

    module = decoder_module(model)
    d, shape, cond = int(model.latent_dim), tuple(int(s) for s in model.shape_), is_conditional(model)
    data = export_module(module, d, conditional=cond)
    ops = tuple(sorted({n.op_type for n in onnx.load_from_string(data).graph.node}))
    err = float("nan")
    if check:
        z = check_points(model, latents)
        labels = np.zeros(len(z), np.int64) if cond else None
        try:
            got = run_reference(data, z, labels)
        except Exception as e:  # the graph was written but cannot run: treat as not exportable
            raise NotSupported(
                f"the exported decoder does not run ({type(e).__name__}: {_first_line(e)})"
            ) from e
        want = model.decode(z, labels=labels) if cond else model.decode(z)
        err = float(np.abs(got.reshape(len(z), -1) - want.reshape(len(z), -1)).max())
        if not err <= CHECK_TOLERANCE:  # NaN fails too
            raise GenlabError(
                f"explore: the exported {model.name} decoder differs from decode() by {err:.3g} "
                f"(tolerance {CHECK_TOLERANCE:g}); genlab.explore.export.ADAPTERS[{model.name!r}] is out of date"
            )
    return ExportedDecoder(data, d, shape, cond, ops, err)
