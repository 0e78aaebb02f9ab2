"""The model registry: one line per family. Importing this module imports no family (and no torch).

A new family is one file in this folder plus one `ModelSpec` line below. The contract test checks
that each line agrees with its class.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from genlab.errors import GenlabError

__all__ = ["ModelSpec", "REGISTRY", "get_model_class", "list_models", "make_model", "models_with"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    target: str  # "module:Class"
    family: str
    likelihood: str  # "exact", "lower_bound" or "none"
    latent: bool
    summary: str
    #: what `conditional=true` conditions on: () (not conditional), ("labels",) or ("labels", "factors")
    conditions: tuple[str, ...] = ()


REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "gaussian",
            "genlab.models.gaussian:Gaussian",
            "baseline",
            "exact",
            False,
            "one multivariate Gaussian, full covariance",
            conditions=("labels",),
        ),
        ModelSpec(
            "gmm",
            "genlab.models.gmm:GMM",
            "baseline",
            "exact",
            False,
            "Gaussian mixture (scikit-learn GaussianMixture)",
            conditions=("labels",),
        ),
        ModelSpec(
            "kde",
            "genlab.models.kde:KDE",
            "baseline",
            "exact",
            False,
            "Gaussian kernel density, bandwidth by cross-validation, optional PCA",
            conditions=("labels",),
        ),
        ModelSpec(
            "vae",
            "genlab.models.vae:VAE",
            "vae",
            "lower_bound",
            True,
            "variational autoencoder (MLP or conv), IWAE log_prob bound",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "gan",
            "genlab.models.gan:GAN",
            "gan",
            "none",
            True,
            "GAN (DCGAN or MLP), nonsaturating/hinge/WGAN-GP losses",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "flow",
            "genlab.models.flow:Flow",
            "flow",
            "exact",
            True,
            "normalizing flow (zuko NSF/MAF/RealNVP)",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "autoregressive",
            "genlab.models.autoregressive:Autoregressive",
            "autoregressive",
            "exact",
            False,
            "PixelCNN for images, MADE mixture-of-Gaussians for vectors",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "diffusion",
            "genlab.models.diffusion:Diffusion",
            "diffusion",
            "lower_bound",
            True,
            "denoising diffusion (U-Net or MLP) with DDPM/DDIM/DPM-Solver samplers",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "ebm",
            "genlab.models.ebm:EBM",
            "energy-based",
            "none",
            False,
            "energy-based model, contrastive divergence with short-run Langevin",
            conditions=("labels", "factors"),
        ),
        ModelSpec(
            "copula",
            "genlab.models.copula:GaussianCopula",
            "baseline",
            "none",
            False,
            "Gaussian copula: empirical marginals, category intervals, one correlation matrix (tables)",
            conditions=("labels",),
        ),
        ModelSpec(
            "tabddpm",
            "genlab.models.tabddpm:TabDDPM",
            "diffusion",
            "none",
            False,
            "tabular diffusion: Gaussian on numeric columns, multinomial on categories (TabDDPM)",
            conditions=(),
        ),
    ]
}


def list_models() -> list[str]:
    """Names of every registered model family."""
    return list(REGISTRY)


def models_with(capability: str) -> list[str]:
    """Registered names with a capability: "log_prob", "latent", "conditional" (on labels) or "factors"."""
    if capability == "conditional":
        return [s.name for s in REGISTRY.values() if "labels" in s.conditions]
    if capability == "factors":
        return [s.name for s in REGISTRY.values() if "factors" in s.conditions]
    if capability == "log_prob":
        return [s.name for s in REGISTRY.values() if s.likelihood != "none"]
    if capability == "latent":
        return [s.name for s in REGISTRY.values() if s.latent]
    raise ValueError(capability)


def _unknown(name: str) -> GenlabError:
    return GenlabError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}")


def get_model_class(name: str) -> type:
    if name not in REGISTRY:
        raise _unknown(name)
    module, cls = REGISTRY[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def make_model(name: str, **hyperparameters: Any) -> Any:
    """Build an unfitted model: `make_model("gmm", n_components=8)`."""
    cls = get_model_class(name)
    valid = cls._param_names()
    unknown = [k for k in hyperparameters if k not in valid]
    if unknown:
        raise GenlabError(
            f"{name}: unknown hyperparameter(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}"
        )
    return cls(**hyperparameters)
