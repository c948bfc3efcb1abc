"""Sampling a latent denoiser (ldm, dit, sit): its default settings and a given initial noise.

The sampling itself is text-to-image's (`text2img/sampling.py`: `guided_steps`,
`generate`, `grid_steps`, `decompose` take a latent model as they take the pixel one).
What is the latent families' own:

- the settings a checkpoint samples with when nobody says otherwise (`default_settings`):
  its family's sampler (DDIM-50 for ldm/dit, Heun-10 for sit: `DEFAULT_SAMPLERS`) and the
  guidance scale measured best for it (its JSON's `default_guidance`);
- (an initial noise x_T read from a file, `load_init_noise`, is every family's now:
  `diffusion/init_noise.py`; it is still importable from here).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..checkpoints import LoadedModel
from ..text2img.sampling import GuidedSettings, step_limit
from . import default_guidance, default_sampler

# steps a sampler runs when it is chosen without --steps (None: every step of the schedule, as DDPM's default)
DEFAULT_STEPS: dict[str, int | None] = {"ddpm": None, "ddim": 50, "euler": 50, "heun": 10, "sde": 50}


def default_steps(kind: str, model: nn.Module) -> int:
    """The steps `kind` runs by default on this model (never more than its schedule allows)."""
    steps = DEFAULT_STEPS.get(kind)
    return step_limit(model) if steps is None else min(steps, step_limit(model))


def default_settings(loaded: LoadedModel, **changes: Any) -> GuidedSettings:
    """The settings a latent checkpoint samples with by default (its family's sampler and steps, its
    measured guidance scale, x0 unclipped), with `changes` on top, checked against the model."""
    kind, steps = default_sampler(loaded.family)
    defaults = GuidedSettings(sampler=kind, steps=min(steps, step_limit(loaded.model)),
                              guidance_scale=default_guidance(loaded.meta.extra), clip_x0=False)
    return defaults.replace(**changes).for_model(loaded.model)
