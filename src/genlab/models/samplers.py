"""Samplers for diffusion models, kept apart from the networks (as diffusers does).

A sampler is a diffusers scheduler built from one training schedule config (`schedule_config`), so
any trained denoiser can be sampled with DDPM, DDIM or DPM-Solver++ and any number of steps without
retraining. The loops here only call `denoise(x_t, t) -> model output` (eps or v, as trained).

diffusers is imported lazily: it pulls in torch._dynamo (seconds), which nothing outside sampling needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from genlab.errors import GenlabError

__all__ = ["SAMPLERS", "Denoise", "ddim_invert", "make_scheduler", "run_sampler", "schedule_config"]

SAMPLERS = ("ddpm", "ddim", "dpmsolver")

#: denoise(x_t (B, ...), t (B,) long) -> model output (B, ...) in the trained parameterisation.
Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def schedule_config(timesteps: int, schedule: str, prediction: str, *, clip: float) -> dict[str, Any]:
    """The training noise schedule, as the keyword arguments every diffusers scheduler shares.

    `schedule` "linear" is DDPM's 1e-4..0.02 (rescaled when `timesteps` != 1000 so the chain still ends
    near pure noise); "cosine" is Nichol & Dhariwal's (diffusers' "squaredcos_cap_v2"). Samplers clip
    predicted x0 to [-clip, clip]: 1 for images scaled to [-1, 1], a generous bound for standardised
    vectors. Without it, eps-prediction at the last cosine timesteps (alpha_bar ~ 1e-8) divides network
    error by ~1e-4 and sampling explodes.
    """
    if schedule not in ("linear", "cosine"):
        raise GenlabError(f"diffusion: schedule must be 'linear' or 'cosine', got {schedule!r}")
    if prediction not in ("eps", "v"):
        raise GenlabError(f"diffusion: prediction must be 'eps' or 'v', got {prediction!r}")
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 2:
        raise GenlabError(f"diffusion: timesteps must be an integer >= 2, got {timesteps!r}")
    ratio = 1000 / timesteps
    return {
        "num_train_timesteps": timesteps,
        "beta_schedule": "linear" if schedule == "linear" else "squaredcos_cap_v2",
        "beta_start": 1e-4 * ratio,
        "beta_end": min(0.02 * ratio, 0.999),
        "prediction_type": "epsilon" if prediction == "eps" else "v_prediction",
        "clip": float(clip),
    }


def make_scheduler(name: str, config: dict[str, Any], *, clip: bool = True) -> Any:
    """A fresh diffusers scheduler ("ddpm", "ddim", "dpmsolver", or "ddim_inverse") for `config`.

    `clip=False` turns clipping of predicted x0 off: inversion needs steps that can be undone exactly
    (clipping the wild x0 estimates of the noisiest steps breaks DDIM's invertibility).
    """
    common = {k: v for k, v in config.items() if k != "clip"}
    clip_kw = {"clip_sample": clip, "clip_sample_range": float(config["clip"])}
    if name == "ddpm":
        from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

        return DDPMScheduler(**common, **clip_kw, variance_type="fixed_small", timestep_spacing="trailing")
    if name in ("ddim", "ddim_inverse"):
        # "trailing" spacing starts sampling at t = T-1 and makes forward and inverse use the same grid
        if name == "ddim":
            from diffusers.schedulers.scheduling_ddim import DDIMScheduler as cls
        else:
            from diffusers.schedulers.scheduling_ddim_inverse import DDIMInverseScheduler as cls
        return cls(**common, **clip_kw, set_alpha_to_one=True, timestep_spacing="trailing")
    if name == "dpmsolver":
        from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

        # thresholding with sample_max_value=1 is plain clipping of predicted x0 to [-1, 1] (images); it has
        # no plain clipping to a wider range, so for vectors `run_sampler` clips x0 in the model output
        # (`clip_x0`). lambda_min_clipped skips the last few cosine timesteps (diffusers' advice).
        return DPMSolverMultistepScheduler(
            **common,
            algorithm_type="dpmsolver++",
            solver_order=2,
            thresholding=clip and config["clip"] == 1.0,
            sample_max_value=1.0,
            lambda_min_clipped=-5.1,
        )
    raise GenlabError(f"diffusion: unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


def _check_steps(steps: Any, config: dict[str, Any]) -> int:
    T = config["num_train_timesteps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= T:
        raise GenlabError(
            f"diffusion: steps must be an integer in [1, {T}] (the training timesteps), got {steps!r}"
        )
    return steps


def clip_x0(denoise: Denoise, alphas_cumprod: torch.Tensor, config: dict[str, Any]) -> Denoise:
    """`denoise` whose output implies a predicted x0 clipped to [-clip, clip], as DDPM and DDIM clip it.

    x_t = a x0 + s eps with a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t); v = a eps - s x0. Without it,
    DPM-Solver on vectors sends about 1% of samples of a briefly trained model hundreds of sd away.
    """
    c, eps_pred = config["clip"], config["prediction_type"] == "epsilon"

    def clipped(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = denoise(x, t)
        ab = alphas_cumprod.to(x)[t].view(-1, *[1] * (x.dim() - 1))
        a, s = ab.sqrt(), (1 - ab).sqrt()
        x0 = (x - s * out) / a if eps_pred else a * x - s * out
        x0 = x0.clamp(-c, c)
        eps = (x - a * x0) / s
        return eps if eps_pred else a * eps - s * x0

    return clipped


@torch.no_grad()
def run_sampler(
    denoise: Denoise,
    name: str,
    config: dict[str, Any],
    steps: int,
    x_T: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    clip: bool = True,
) -> torch.Tensor:
    """Run the reverse chain from `x_T` with `steps` network calls; noise (DDPM) comes from `generator`."""
    steps = _check_steps(steps, config)
    scheduler = make_scheduler(name, config, clip=clip)
    if clip and name == "dpmsolver" and config["clip"] != 1.0:
        denoise = clip_x0(denoise, scheduler.alphas_cumprod, config)
    with warnings.catch_warnings():  # diffusers' own numpy-2 DeprecationWarning (np.array of a tensor)
        warnings.simplefilter("ignore", DeprecationWarning)
        scheduler.set_timesteps(steps)
    x = x_T * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        out = denoise(x, t.long().expand(len(x)))
        x = scheduler.step(out, t, x, generator=generator).prev_sample  # DDIM: eta=0, deterministic
    return x


@torch.no_grad()
def ddim_invert(
    denoise: Denoise, config: dict[str, Any], steps: int, x_0: torch.Tensor, refine: int = 0
) -> torch.Tensor:
    """Deterministic DDIM inversion x_0 -> x_T on the same time grid that `run_sampler("ddim")` walks back.

    Plain inversion evaluates the network at the start of each step, where the DDIM step it undoes
    evaluated it at the end. `refine` fixed-point iterations re-evaluate it at the current estimate of
    the end point, so that a DDIM step from the result lands back on the input (exact inversion when
    they converge).
    """
    steps = _check_steps(steps, config)
    scheduler = make_scheduler("ddim_inverse", config, clip=False)
    scheduler.set_timesteps(steps)
    x = x_0
    for t in scheduler.timesteps:
        t_b = t.long().expand(len(x))
        x_next = scheduler.step(denoise(x, t_b), int(t), x).prev_sample
        for _ in range(refine):
            x_next = scheduler.step(denoise(x_next, t_b), int(t), x).prev_sample
        x = x_next
    return x
