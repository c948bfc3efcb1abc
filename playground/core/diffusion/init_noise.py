"""A given initial noise x_T, for any diffusion family (ddpm, text2img, ldm, dit, sit).

`playground sample FAMILY --init-noise noise.npy` starts from x_T read from a file (e.g. what
`playground invert` wrote: float32 (1, C, H, W)) instead of the seeds' first draw; the recipe
names the file and its SHA-256 (`InitNoise.recipe`), and `playground reproduce` reads it back
(`recipe_init_noise`): that file must still be there, unchanged. The steps after x_T draw their
noise (DDPM's) from the seeds as a seeded run does (`sampling.sample_steps` with `x_t`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..provenance import RecipeError, RecipeFields, weights_sha256


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


def recipe_init_noise(fields: RecipeFields, shape: tuple[int, ...], n: int) -> torch.Tensor | None:
    """The x_T (n, *shape) the recipe's run started from (None: drawn from its seeds), checked to be the same file."""
    if not fields.has("init_noise"):
        return None
    path = Path(fields.text("init_noise"))
    if not path.is_file():
        raise RecipeError(f"its initial noise {path} is not there (the run started from that x_T)")
    expected = fields.text("init_noise_sha256", default=None)
    if expected is not None and expected != weights_sha256(path):
        raise RecipeError(f"its initial noise {path} is not the file the image was made from (SHA-256 "
                          f"{weights_sha256(path)[:12]}…, the recipe's {expected[:12]}…)")
    try:
        init = load_init_noise(path, tuple(shape))
    except ValueError as exc:
        raise RecipeError(str(exc)) from None
    if init.count != n:
        raise RecipeError(f"the recipe's 'n' {n} is not the {init.count} initial noise(s) of {path}")
    return init.latents
