"""Text-to-image sampling as the command line, the evaluation and the GUI all do it.

`GuidedSettings` is everything that decides an image besides the weights (prompt,
negative prompt, guidance scale and range, classifier guidance, sampler, steps, seed),
and it is also the recipe written into every exported PNG: `to_recipe` and
`from_recipe` round-trip it, so loading a PNG restores the run that made it.

Two denoisers can be guided: the text-to-image model (classifier-free guidance, plus
classifier guidance on top if asked), or, with `base="ddpm"`, an unconditional DDPM that
only the noisy classifier steers (Dhariwal & Nichol 2021).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Sequence

import numpy as np
import torch
from torch import nn

from ..data import to_uint8
from ..data.shapes import parse_prompt
from ..diffusion.guidance import ClassifierFreeGuidance, ClassifierGuidance, GuidanceSchedule
from ..diffusion.trajectory import SamplerSettings, image_to_uint8
from ..diffusion.sampling import EpsModel, StepRecord, sample_steps
from ..diffusion.schedulers import Scheduler, SchedulerKind

RECIPE_KIND = "text2img"
GuidedBase = Literal["text2img", "ddpm"]


@dataclass(frozen=True)
class GuidedSettings:
    """One text-guided run. `guidance_start`/`guidance_stop` bound where guidance is on
    (fractions of the way from noise to image, see `GuidanceSchedule`); `classifier_scale`
    adds classifier guidance toward the prompt's attributes on top (0: off)."""

    prompt: str = ""
    negative_prompt: str = ""
    guidance_scale: float = 3.0
    guidance_start: float = 0.0
    guidance_stop: float = 1.0
    classifier_scale: float = 0.0
    sampler: SchedulerKind = "ddim"
    steps: int = 50
    eta: float = 0.0
    clip: bool = True  # clip the predicted x0 to [-1, 1] and step with the eps it implies (large w overshoots)
    seed: int = 0
    base: GuidedBase = "text2img"  # "ddpm": an unconditional DDPM steered by the classifier alone

    def validate(self) -> "GuidedSettings":
        """Raise PromptError / ValueError for bad input, before any model call."""
        parse_prompt(self.prompt)
        parse_prompt(self.negative_prompt)
        self.schedule
        if self.sampler not in ("ddpm", "ddim"):
            raise ValueError(f"unknown sampler {self.sampler!r}; known: ddpm, ddim")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, not {self.steps}")
        if self.classifier_scale < 0:
            raise ValueError(f"the classifier guidance scale must be >= 0, not {self.classifier_scale}")
        if self.base not in ("text2img", "ddpm"):
            raise ValueError(f"the guided base model is 'text2img' or 'ddpm', not {self.base!r}")
        return self

    @property
    def schedule(self) -> GuidanceSchedule:
        return GuidanceSchedule(self.guidance_start, self.guidance_stop)

    def sampler_settings(self) -> SamplerSettings:
        """The sampler of this run; a clipped x0 also sets the eps DDIM steps with (guidance overshoots)."""
        eta = self.eta if self.sampler == "ddim" else 0.0
        return SamplerSettings(self.sampler, self.steps, eta, clip_x0=self.clip, use_clipped_model_output=self.clip)

    def make_scheduler(self, model: nn.Module) -> Scheduler:
        return self.sampler_settings().make(model.noise_schedule)

    def replace(self, **changes: Any) -> "GuidedSettings":
        return dataclasses.replace(self, **changes)

    def to_recipe(self, model_name: str | None = None) -> dict[str, Any]:
        """The JSON recipe for a PNG's metadata (prompt text as typed, canonical spelling beside it)."""
        recipe: dict[str, Any] = {"kind": RECIPE_KIND, "model": model_name, "family": "text2img"}
        recipe |= dataclasses.asdict(self)
        recipe["prompt_canonical"] = parse_prompt(self.prompt).text()
        return recipe

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any]) -> "GuidedSettings":
        """Settings back from a recipe; fields it lacks keep their defaults, unknown keys are ignored."""
        if recipe.get("kind") not in (None, RECIPE_KIND):
            raise ValueError(f"this recipe is for {recipe.get('kind')!r}, not a text-to-image run")
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name in types:
            if name in recipe and recipe[name] is not None:
                value = recipe[name]
                default = getattr(cls(), name)
                values[name] = type(default)(value) if not isinstance(default, str) else str(value)
        return cls(**values).validate()


def make_denoiser(model: nn.Module, settings: GuidedSettings, classifier: nn.Module | None = None,
                  per_image_scales: Sequence[float] | None = None) -> EpsModel:
    """The model function a sampler runs: classifier-free guidance, plus classifier guidance if asked.

    With `settings.base == "ddpm"`, `model` is the unconditional DDPM and only the classifier guides it.
    `per_image_scales` gives each image of the batch its own scale (w, or s for the "ddpm" base): a grid.
    """
    schedule = settings.schedule
    w: float | Sequence[float] = settings.guidance_scale
    s: float | Sequence[float] = settings.classifier_scale
    if per_image_scales is not None:
        w, s = (w, list(per_image_scales)) if settings.base == "ddpm" else (list(per_image_scales), s)
    if settings.base == "ddpm":
        denoiser: EpsModel = model
    else:
        denoiser = ClassifierFreeGuidance.for_prompt(
            model, settings.prompt, w, negative_prompt=settings.negative_prompt, schedule=schedule)
    if settings.classifier_scale > 0 or (settings.base == "ddpm" and per_image_scales is not None):
        if classifier is None:
            raise ValueError("classifier guidance needs a noisy classifier (--classifier)")
        check_classifier_matches(classifier, model)
        denoiser = ClassifierGuidance(denoiser, classifier, settings.prompt, s, model.noise_schedule.alphas_cumprod,
                                      schedule)
    return denoiser


def check_classifier_matches(classifier: nn.Module, model: nn.Module) -> None:
    """A noisy classifier knows only the noise levels of the schedule it was trained on."""
    ours, theirs = classifier.noise_schedule, model.noise_schedule
    if (ours.name, ours.num_train_timesteps) != (theirs.name, theirs.num_train_timesteps):
        raise ValueError(f"the classifier was trained on the {ours.name} schedule with T = {ours.num_train_timesteps}, "
                         f"the diffusion model uses {theirs.name} with T = {theirs.num_train_timesteps}")


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def image_shape(model: nn.Module) -> tuple[int, int, int]:
    config = model.config
    return (config.in_channels, config.image_size, config.image_size)


def guided_steps(model: nn.Module, settings: GuidedSettings, n: int = 1, classifier: nn.Module | None = None,
                 **kwargs: Any) -> Iterator[StepRecord]:
    """`sample_steps` for a guided run: image i is seeded settings.seed + i."""
    settings.validate()
    return sample_steps(make_denoiser(model, settings, classifier), settings.make_scheduler(model), n=n,
                        seed=settings.seed, shape=image_shape(model), device=model_device(model), **kwargs)


def grid_steps(model: nn.Module, settings: GuidedSettings, scales: Sequence[float], seeds: Sequence[int],
               classifier: nn.Module | None = None) -> Iterator[StepRecord]:
    """A seeds x scales grid in one batch: image r * len(scales) + c is seed seeds[r] at scale scales[c]
    (w, or the classifier scale s for the "ddpm" base), the same image a single run of that seed and scale gives."""
    settings.validate()
    per_image_scales = [float(w) for _ in seeds for w in scales]
    per_image_seeds = [int(seed) for seed in seeds for _ in scales]
    return sample_steps(make_denoiser(model, settings, classifier, per_image_scales), settings.make_scheduler(model),
                        n=len(per_image_seeds), seed=per_image_seeds, shape=image_shape(model), device=model_device(model))


def generate(model: nn.Module, settings: GuidedSettings, n: int = 1, classifier: nn.Module | None = None) -> np.ndarray:
    """n images (N, H, W, 3) uint8 for the settings; the same settings give the same images."""
    last = None
    for last in guided_steps(model, settings, n, classifier):
        pass
    return to_uint8(last.x_prev)


@dataclass(frozen=True)
class Decomposition:
    """What guidance did at one step, as predicted-x0 images (H, W, 3) uint8.

    x0 is linear in eps (DDPM eq. 15), so the guided x0 is x0(u) + w (x0(c) - x0(u)): the
    difference image is the direction guidance pushes, drawn around grey and amplified
    by `difference_gain` so a small push is visible. With the "ddpm" base there is no
    conditional branch (`cond` is None) and the difference is the classifier's push.
    """

    index: int
    t: int
    uncond: np.ndarray
    cond: np.ndarray | None
    difference: np.ndarray
    guided: np.ndarray
    difference_gain: float
    guidance_scale: float  # w at this step (1 where the schedule has guidance off)


@torch.inference_mode()
def decompose(model: nn.Module, settings: GuidedSettings, x_t: torch.Tensor, t: int, index: int = 0,
              classifier: nn.Module | None = None) -> Decomposition:
    """The unconditional and conditional predictions at (x_t, t), their difference and the guided one."""
    device = model_device(model)
    x = x_t.reshape(1, *x_t.shape[-3:]).to(device, torch.float32)
    t_batch = torch.full((1,), int(t), dtype=torch.int64, device=device)
    scheduler = settings.make_scheduler(model)
    guided_eps = make_denoiser(model, settings, classifier)(x, t_batch)
    if settings.base == "ddpm":
        uncond_eps, cond_eps, w = model(x, t_batch), None, 1.0
    else:
        parts = ClassifierFreeGuidance.for_prompt(
            model, settings.prompt, settings.guidance_scale, negative_prompt=settings.negative_prompt,
            schedule=settings.schedule).parts(x, t_batch)
        uncond_eps, cond_eps, w = parts.uncond, parts.cond, float(parts.scale[0])

    def x0(eps: torch.Tensor) -> torch.Tensor:
        return scheduler.predict_x0(x, eps.float(), int(t))[0].cpu()

    uncond_x0, guided_x0 = x0(uncond_eps), x0(guided_eps)
    towards = x0(cond_eps) if cond_eps is not None else guided_x0
    difference = towards - uncond_x0
    gain = float(min(max(0.5 / max(difference.abs().max().item(), 1e-6), 1.0), 50.0))  # largest push to +-0.5
    return Decomposition(
        index=index, t=int(t), uncond=image_to_uint8(uncond_x0),
        cond=image_to_uint8(towards) if cond_eps is not None else None,
        difference=image_to_uint8(difference * gain), guided=image_to_uint8(guided_x0),
        difference_gain=gain, guidance_scale=w,
    )
