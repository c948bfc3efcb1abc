"""Frames of the samplers' walks from one x_T (`comparison.SamplerPath`) for video export: at frame k each
sampler's x_t after k steps, decoded by its model's autoencoder, side by side under the samplers' names
(`images.labelled_grid`), with the step, the noise levels and w in a lower corner (the names are on top).
DDPM and DDIM stay noisy longer than the flows at the same step: "straighter paths need fewer steps"."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data import to_uint8
from ..device import model_device
from ..images import labelled_grid
from .comparison import SamplerPath

FRAME_SCALE = 4


@torch.inference_mode()
def decoded_path(model: nn.Module, path: SamplerPath, batch: int = 32) -> np.ndarray:
    """(K+1, H, W, 3) uint8: every point of the path (x_T .. x_0) decoded by the model's autoencoder."""
    images = []
    for start in range(0, len(path.latents), batch):
        latents = torch.from_numpy(path.latents[start:start + batch]).to(model_device(model))
        images.append(to_uint8(model.decode(latents)))
    return np.concatenate(images)


def path_frames(paths: Sequence[SamplerPath], models: dict[str, nn.Module], guidance_scale: float | None = None,
                scale: int = FRAME_SCALE) -> tuple[list[np.ndarray], list[list[str]]]:
    """One frame per point of the walks (they share a step count): the samplers' decoded x_t side by side.

    `models`: family ("dit", "sit") -> the model that ran the paths of that family."""
    if not paths:
        raise ValueError("no sampler paths to animate")
    counts = {len(p.latents) for p in paths}
    if len(counts) != 1:
        raise ValueError(f"the paths have different step counts: {sorted(c - 1 for c in counts)}")
    decoded = np.stack([decoded_path(models[p.family], p) for p in paths], axis=1)  # (K+1, S, H, W, 3)
    names = [p.name for p in paths]
    steps = len(decoded) - 1
    frames = [labelled_grid(decoded[k][None], names, [""], scale=scale) for k in range(len(decoded))]
    w = [f"w {guidance_scale:g}"] if guidance_scale is not None else []
    captions = [[f"step {k} / {steps}" if k else "x_T", "noise level " + " / ".join(f"{p.levels[k]:.2f}" for p in paths)]
                + w for k in range(len(decoded))]
    return frames, captions
