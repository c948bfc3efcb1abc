"""What the text-to-image panel's worker hands back: a rendered run, its previews, and a grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....core.diffusion.sampling import EpsModel
from ....core.diffusion.trajectory import Trajectory
from ....core.text2img.sampling import GuidedSettings


@dataclass(frozen=True)
class RenderPreview:
    """A step of a render in progress: its predicted x0, (H, W, 3) uint8."""

    index: int
    num_steps: int
    pred_x0: np.ndarray


@dataclass(frozen=True)
class RenderResult:
    """A finished guided run; `denoiser` is the model function that made it (the steps tab's Run
    and Branch reuse it, so they redraw the same guided run)."""

    trajectory: Trajectory
    denoiser: EpsModel
    settings: GuidedSettings
    model_name: str
    seconds: float = 0.0


@dataclass(frozen=True)
class GridResult:
    """Seeds (rows) by scales (columns) in one labelled picture; `final` once every step ran."""

    settings: GuidedSettings
    scales: tuple[float, ...]
    seeds: tuple[int, ...]
    axis: str             # "w" (classifier-free) or "s" (classifier scale, DDPM base)
    picture: np.ndarray   # (H, W, 3) uint8
    final: bool

    def layout(self) -> dict:
        """The recipe's "grid" entry: which scale runs across, and the scales and seeds."""
        return {"axis": self.axis, "scales": list(self.scales), "seeds": list(self.seeds)}
