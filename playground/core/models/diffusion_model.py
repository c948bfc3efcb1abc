"""A denoiser together with the noise schedule it was trained on.

The schedule is part of the model: sampling with another schedule than the training one
gives garbage, so the config carries it and the GUI shows it rather than offering to swap it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diffusion.schedules import NoiseSchedule
from .unet import UNet, UNetConfig


@dataclass(frozen=True)
class DDPMConfig(UNetConfig):
    schedule: str = "cosine"
    num_train_timesteps: int = 1000
    prediction: str = "epsilon"


class DiffusionModel(UNet):
    """eps_theta(x_t, t) plus the schedule it was trained with."""

    def __init__(self, config: DDPMConfig):
        super().__init__(config)
        self.noise_schedule = NoiseSchedule.from_name(config.schedule, config.num_train_timesteps)
