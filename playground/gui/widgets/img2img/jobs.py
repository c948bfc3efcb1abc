"""The image-to-image view's work, run in the panel's worker: each function returns a `work(ctx)` for
`Panel.submit`, which reports progress (with a preview) at every step and stops when cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ...worker import JobContext
from ....core.img2img.img2img import StartPoint, prepare, to_model_space
from ....core.img2img.inversion import Inversion, InversionStep, edit_steps, invert_image, noise_picture
from ....core.text2img.sampling import GuidedSettings, to_images

Work = Callable[[JobContext], object]


@dataclass(frozen=True)
class StartPicture:
    """x_t at the start point, as the image it is (a latent model's decoded)."""

    start: StartPoint
    noised: np.ndarray


@dataclass(frozen=True)
class Img2ImgDone:
    start: StartPoint
    noised: np.ndarray
    output: np.ndarray
    settings: GuidedSettings


@dataclass(frozen=True)
class InversionDone:
    inversion: Inversion
    noise_picture: np.ndarray
    settings: GuidedSettings


def start_job(model: nn.Module, image: np.ndarray, settings: GuidedSettings, strength: float) -> Work:
    """Only the noised start (one encode and decode for a latent model): cheap enough to follow the slider."""

    def work(ctx: JobContext) -> StartPicture:
        run = prepare(model, to_model_space(model, image[None]), settings, strength)
        return StartPicture(run.start, to_images(model, run.x_start)[0])

    return work


def img2img_job(model: nn.Module, image: np.ndarray, settings: GuidedSettings, strength: float) -> Work:
    """The whole run from the start point; each step's predicted x0 is the preview."""

    def work(ctx: JobContext) -> Img2ImgDone:
        run = prepare(model, to_model_space(model, image[None]), settings, strength)
        noised = to_images(model, run.x_start)[0]
        final = run.x_start
        for done, record in enumerate(run.steps(), 1):
            final = record.x_prev
            ctx.progress(done, run.start.steps_run, to_images(model, record.pred_x0)[0])
        return Img2ImgDone(run.start, noised, to_images(model, final)[0], settings)

    return work


def invert_job(model: nn.Module, image: np.ndarray, settings: GuidedSettings) -> Work:
    """DDIM inversion and the round trip (progress over both runs)."""

    def work(ctx: JobContext) -> InversionDone:
        result = None
        for result in invert_image(model, image, settings):
            if isinstance(result, InversionStep):
                ctx.progress(result.index + 1, result.num_steps, None)
        return InversionDone(result, noise_picture(result.noise), settings)

    return work


def edit_job(model: nn.Module, noise: torch.Tensor, settings: GuidedSettings) -> Work:
    """Sample from the inverted noise with new settings (another prompt or w)."""

    def work(ctx: JobContext) -> np.ndarray:
        final = noise
        for record in edit_steps(model, noise, settings):
            final = record.x_prev
            ctx.progress(record.index + 1, record.num_steps, to_images(model, record.pred_x0)[0])
        return to_images(model, final)[0]

    return work
