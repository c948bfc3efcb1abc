"""The forward process on one data image, and what the denoiser makes of it.

`noised_image` draws x_t ~ q(x_t | x_0) (DDPM eq. 4) without the network, cheap enough to
follow a slider; `forward_view` adds the network's one-shot guess of the noise and of x_0
from that x_t (DDPM eq. 15), the question the model was trained to answer at every t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import to_tensor
from ..device import model_device, seeded_normal
from .sampling import EpsModel
from .schedulers import DDIMScheduler
from .schedules import NoiseSchedule
from .trajectory import image_to_uint8, noise_to_uint8


@dataclass(frozen=True)
class ForwardView:
    """x_0, the noise, x_t and the denoiser's predictions at one t, as (H, W, 3) uint8."""

    t: int
    x0: np.ndarray
    noise: np.ndarray
    x_t: np.ndarray
    pred_noise: np.ndarray
    pred_x0: np.ndarray
    sqrt_alpha_bar: float            # weight of x_0 in x_t
    sqrt_one_minus_alpha_bar: float  # weight of the noise in x_t
    log_snr: float
    noise_mse: float                 # mean squared error of the predicted noise against the true noise
    x0_mse: float                    # ... of the predicted x_0 (clipped, as shown) against x_0, in [-1, 1] units


def _noised(schedule: NoiseSchedule, image: np.ndarray, t: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not 0 <= t < schedule.num_train_timesteps:
        raise ValueError(f"t must be between 0 and {schedule.num_train_timesteps - 1}, not {t}")
    x0 = to_tensor(np.asarray(image)[None])
    noise = seeded_normal(tuple(x0.shape), seed)
    x_t = schedule.add_noise(x0, noise, torch.tensor([int(t)]))
    return x0, noise, x_t


def noised_image(schedule: NoiseSchedule, image: np.ndarray, t: int, seed: int = 0) -> np.ndarray:
    """x_t ~ q(x_t | x_0) for one uint8 image (H, W, 3), as uint8; the noise is fixed by `seed`."""
    return image_to_uint8(_noised(schedule, image, t, seed)[2][0])


@torch.inference_mode()
def forward_view(model: EpsModel, schedule: NoiseSchedule, image: np.ndarray, t: int, seed: int = 0) -> ForwardView:
    """Noise `image` to step t and ask the model for the noise and the clean image in one shot."""
    x0, noise, x_t = _noised(schedule, image, t, seed)
    device = model_device(model)
    eps = model(x_t.to(device), torch.tensor([int(t)], device=device)).float().cpu()
    # clipped to the data range as the samplers do (clip_x0): at t near T the raw one-shot
    # guess divides by sqrt(alpha-bar) ~ 0.006 and lies far outside [-1, 1]
    pred_x0 = DDIMScheduler(schedule).predict_x0(x_t, eps, int(t)).clamp(-1, 1)
    alpha_bar = float(schedule.alphas_cumprod[int(t)])
    return ForwardView(
        t=int(t), x0=image_to_uint8(x0[0]), noise=noise_to_uint8(noise[0]), x_t=image_to_uint8(x_t[0]),
        pred_noise=noise_to_uint8(eps[0]), pred_x0=image_to_uint8(pred_x0[0]),
        sqrt_alpha_bar=alpha_bar ** 0.5, sqrt_one_minus_alpha_bar=(1 - alpha_bar) ** 0.5,
        log_snr=float(schedule.log_snr()[int(t)]),
        noise_mse=float(((eps - noise) ** 2).mean()), x0_mse=float(((pred_x0 - x0) ** 2).mean()),
    )
