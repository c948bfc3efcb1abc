"""Sampling a latent denoiser (ldm, dit, sit): its default settings and a given initial noise.

The sampling itself is text-to-image's (`text2img/sampling.py`: `guided_steps`,
`generate`, `grid_steps`, `decompose` take a latent model as they take the pixel one).
What is the latent families' own:

- the settings a checkpoint samples with when nobody says otherwise (`default_settings`):
  its family's sampler (DDIM-50 for ldm/dit, Heun-10 for sit: `DEFAULT_SAMPLERS`) and the
  guidance scale measured best for it (its JSON's `default_guidance`);
- an initial noise x_T read from a file (`load_init_noise`, e.g. what DDIM inversion
  wrote), and the recipe keys that let `playground reproduce` find and check it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checkpoints import LoadedModel
from ..provenance import weights_sha256
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


@dataclass(frozen=True)
class InitNoise:
    """x_T from a file: (N, C, H, W) float32 on the CPU, the file and its SHA-256 (for the recipe)."""

    latents: torch.Tensor
    path: Path
    sha256: str

    @property
    def count(self) -> int:
        return int(self.latents.shape[0])

    def recipe(self) -> dict[str, Any]:
        return {"init_noise": str(self.path), "init_noise_sha256": self.sha256}


def load_init_noise(path: str | Path, shape: tuple[int, ...]) -> InitNoise:
    """An .npy of N initial noises (N, *shape), or one (*shape); ValueError (one line, naming the file) when
    it cannot be read, is not a float array of that shape, or holds a value that is not finite."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (the initial noise is an .npy array of shape (N, "
                         f"{', '.join(map(str, shape))}))")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a NumPy .npy array ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise ValueError(f"{path}: the initial noise must be an array of floats, not {getattr(array, 'dtype', type(array))}")
    if array.shape == tuple(shape):
        array = array[None]
    if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != tuple(shape) or array.shape[0] < 1:
        raise ValueError(f"{path}: the initial noise must have shape (N, {', '.join(map(str, shape))}) or "
                         f"({', '.join(map(str, shape))}), not {tuple(array.shape)}")
    latents = torch.from_numpy(np.ascontiguousarray(array, np.float32))
    if not bool(torch.isfinite(latents).all()):
        raise ValueError(f"{path}: the initial noise holds values that are not finite (NaN or infinity)")
    resolved = path.resolve()
    return InitNoise(latents, resolved, weights_sha256(resolved))


def sample_count(init: InitNoise | None, n: int | None, default: int = 16) -> int:
    """How many images a run makes: `n`, or the file's count of initial noises (which `n` must match)."""
    if init is None:
        return default if n is None else int(n)
    if n is not None and int(n) != init.count:
        raise ValueError(f"{n} images asked for, but {init.path.name} holds {init.count} initial noise(s): "
                         f"one image per noise (leave the number of images out)")
    return init.count
