"""Decoders exported to ONNX reproduce `model.decode`; families without a usable export say why."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import genlab
from genlab.errors import GenlabError, NotSupported
from genlab.explore import export
from genlab.explore.export import CHECK_TOLERANCE, export_decoder, export_module, run_reference


def _points(d: int, n: int = 4, seed: int = 1) -> np.ndarray:
    return (2.0 * np.random.default_rng(seed).standard_normal((n, d))).astype(np.float32)


def test_vae_export_round_trip(tins_vae) -> None:
    exp = export_decoder(tins_vae)
    assert exp.latent_dim == 2 and exp.shape == (1, 16, 16) and not exp.conditional
    assert exp.max_error <= CHECK_TOLERANCE
    assert {"Gemm", "ConvTranspose", "Conv", "Clip"} <= set(exp.ops)  # the Gaussian decode clamps
    z = _points(2)
    np.testing.assert_allclose(run_reference(exp.onnx, z), tins_vae.decode(z), atol=1e-5, rtol=0)


def test_bernoulli_vae_exports_its_sigmoid(demo_like_vae) -> None:
    model, _ = demo_like_vae
    exp = export_decoder(model)
    assert "Sigmoid" in exp.ops and exp.shape == (1, 32, 32)
    z = _points(2, seed=2)
    np.testing.assert_allclose(run_reference(exp.onnx, z), model.decode(z), atol=1e-5, rtol=0)


def test_gan_generator_exports(tins_gan) -> None:
    exp = export_decoder(tins_gan)
    z = _points(3)
    np.testing.assert_allclose(run_reference(exp.onnx, z), tins_gan.decode(z), atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", ["vae", "gan"])
def test_vector_decoders_export(moons, family: str) -> None:
    model = genlab.make_model(family, latent_dim=2, hidden=(16, 16)).fit(moons, budget="5steps")
    exp = export_decoder(model)
    assert exp.shape == (2,)
    z = _points(2)
    np.testing.assert_allclose(run_reference(exp.onnx, z), model.decode(z), atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ["maf", "realnvp"])
def test_affine_flows_export(moons, arch: str) -> None:
    """RealNVP goes through the gather-merge rewrite of zuko's coupling layers; MAF exports as it is."""
    model = genlab.make_model("flow", arch=arch, transforms=2, hidden=(16, 16)).fit(moons, budget="5steps")
    exp = export_decoder(model)
    z = _points(2)
    np.testing.assert_allclose(run_reference(exp.onnx, z), model.decode(z), atol=1e-5, rtol=0)


def test_the_coupling_rewrite_is_undone(moons) -> None:
    from zuko.transforms import CouplingTransform

    before = CouplingTransform.merge
    model = genlab.make_model("flow", arch="realnvp", transforms=2, hidden=(8,)).fit(moons, budget="2steps")
    export_decoder(model)
    assert CouplingTransform.merge is before


def test_spline_flow_and_diffusion_are_not_exported(moons) -> None:
    nsf = genlab.make_model("flow", arch="nsf", transforms=1, hidden=(8,)).fit(moons, budget="2steps")
    with pytest.raises(NotSupported, match="spline"):
        export_decoder(nsf)
    fake = type("Fake", (), {"name": "diffusion", "latent_dim": 2, "inversion_steps": 50})()
    with pytest.raises(NotSupported, match="50-step DDIM"):
        export.decoder_module(fake)


def test_family_without_a_latent_space(moons) -> None:
    gmm = genlab.make_model("gmm", n_components=2).fit(moons)
    with pytest.raises(NotSupported, match="no latent space.*vae"):
        export_decoder(gmm)


def test_a_stale_adapter_is_caught(tins_vae, monkeypatch: pytest.MonkeyPatch) -> None:
    """If a family's decode changes and its adapter does not, the check refuses the export."""
    monkeypatch.setitem(export.ADAPTERS, "vae", lambda m: export._VAEDecoder(m.decoder_, "sigmoid"))
    with pytest.raises(GenlabError, match="out of date"):
        export_decoder(tins_vae)


class _Conditional(nn.Module):
    """A stand-in for a class-conditional decoder: decode(z, labels) = W z + E[labels]."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 6)
        self.emb = nn.Embedding(3, 6)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.lin(z) + self.emb(labels)).reshape(len(z), 1, 2, 3)


def test_conditional_decoders_get_a_labels_input() -> None:
    torch.manual_seed(0)
    module = _Conditional()
    data = export_module(module, 2, conditional=True)
    z, labels = _points(2, n=3), np.array([0, 2, 1])
    with torch.no_grad():
        want = module(torch.from_numpy(z), torch.from_numpy(labels)).numpy()
    np.testing.assert_allclose(run_reference(data, z, labels), want, atol=1e-6, rtol=0)


def test_is_conditional_reads_the_fitted_condition(tins_vae) -> None:
    """Every model's decode takes labels= now; what counts is whether it was fitted on labels."""
    assert not export.is_conditional(tins_vae)

    class Cond:
        conditional_ = "labels"

    class Factors:
        conditional_ = "factors"

    assert export.is_conditional(Cond()) and not export.is_conditional(Factors())
