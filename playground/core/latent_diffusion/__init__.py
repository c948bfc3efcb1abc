"""Latent diffusion (ldm), the diffusion transformer (dit) and its flow twin (sit): what they share.

The networks are in `core/models/` (ldm.py, dit.py, latent_denoiser.py); the first stage
is `core/models/autoencoder_kl.py`; the flow's schedule and solvers are
`core/diffusion/flow.py`. Sampling runs through the same samplers as the pixel models
(`diffusion/sampling.py`): x_t is the scaled latent, and `model.decode` paints it.
"""

from __future__ import annotations

from typing import Any

from torch import nn

LATENT_FAMILIES: tuple[str, ...] = ("ldm", "dit", "sit")

# (sampler, steps) a family samples with by default: DDIM-50 for the noise predictors, Heun-10 for the flow
DEFAULT_SAMPLERS: dict[str, tuple[str, int]] = {"ldm": ("ddim", 50), "dit": ("ddim", 50), "sit": ("heun", 10)}
FALLBACK_GUIDANCE = 3.0


def is_latent(model: nn.Module) -> bool:
    """Does this denoiser work in an autoencoder's latent space (so its x_t needs decoding to be seen)?"""
    return hasattr(model, "first_stage")


def is_flow(model: nn.Module) -> bool:
    return getattr(model.noise_schedule, "name", "") == "flow"


def default_sampler(family: str) -> tuple[str, int]:
    return DEFAULT_SAMPLERS.get(family, ("ddim", 50))


def default_guidance(extra: dict[str, Any] | None) -> float:
    """The guidance scale a checkpoint is best at (measured, in its JSON's extra.default_guidance)."""
    value = (extra or {}).get("default_guidance")
    return float(value) if isinstance(value, (int, float)) and value >= 0 else FALLBACK_GUIDANCE
