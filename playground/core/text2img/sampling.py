"""Text-to-image sampling as the command line, the evaluation and the GUI all do it.

`GuidedSettings` is everything that decides an image besides the weights (prompt,
negative prompt, guidance scale and range, classifier guidance, sampler, steps, seed),
and it is also the recipe written into every exported PNG: `to_recipe` and
`from_recipe` round-trip it, so loading a PNG restores the run that made it. Every
number is checked against its range before any model call (`validate`). The guided
denoiser itself is built in `denoiser.py`.

The same functions sample the latent denoisers (ldm, dit, sit; `core/latent_diffusion`):
there x_t is the autoencoder's latent, a flow model (sit) samples with euler, heun or sde
instead of ddpm or ddim, x0 is never clipped (a latent has no [-1, 1] range), classifier
guidance is refused (the noisy classifier reads pixels), and `generate` decodes the final
latent to pixels (`to_images`). `GuidedSettings.for_model` applies these rules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Sequence

import numpy as np
import torch
from torch import nn

from .. import checks
from ..checks import SEED_MAX, check_number
from ..data import to_uint8
from ..data.shapes import PromptError, parse_prompt
from ..device import model_device
from ..diffusion.guidance import ClassifierFreeGuidance, GuidanceSchedule, reads_free_text
from ..diffusion.trajectory import SamplerSettings, image_to_uint8
from ..diffusion.sampling import StepRecord, sample_steps
from ..diffusion.schedulers import FLOW_KINDS, SCHEDULER_KINDS, Scheduler, SchedulerKind
from ..latent_diffusion import is_flow, is_latent
from .clip_guidance import clip_scale
from .denoiser import check_guidance_fits, guided_sampler, make_denoiser

RECIPE_KIND = "text2img"
GuidedBase = Literal["text2img", "ddpm"]
GRID_MAX_SCALES = 10
# The allowed range of each number, and the name a message gives it.
RANGES: dict[str, tuple[str, float, float]] = {
    name: (label, rule.low, rule.high) for name, (label, rule) in {
        "guidance_scale": ("guidance scale w", checks.guidance_scale),
        "guidance_start": ("guidance start", checks.fraction),
        "guidance_stop": ("guidance stop", checks.fraction),
        "classifier_scale": ("classifier guidance scale s", checks.classifier_scale),
        "clip_scale": ("CLIP guidance scale", clip_scale),
        "eta": ("eta", checks.eta),
    }.items()
}


@dataclass(frozen=True)
class GuidedSettings:
    """One text-guided run. `guidance_start`/`guidance_stop` bound where guidance is on
    (fractions of the way from noise to image, see `GuidanceSchedule`); `classifier_scale`
    adds classifier guidance toward the prompt's attributes on top (0: off), `clip_scale` CLIP
    guidance toward the prompt (0: off)."""

    prompt: str = ""
    negative_prompt: str = ""
    guidance_scale: float = 3.0
    guidance_start: float = 0.0
    guidance_stop: float = 1.0
    classifier_scale: float = 0.0
    sampler: SchedulerKind = "ddim"
    steps: int = 50
    eta: float = 0.0
    clip_x0: bool = True  # clip the predicted x0 to [-1, 1] and step with the eps it implies (large w overshoots)
    seed: int = 0
    base: GuidedBase = "text2img"  # "ddpm": an unconditional DDPM steered by the classifier alone
    clip_scale: float = 0.0  # CLIP guidance toward the prompt on top (0: off; `clip_guidance.py`)

    def validate(self, num_train_timesteps: int | None = None, model: nn.Module | None = None) -> "GuidedSettings":
        """Raise PromptError / ValueError (naming the setting and its range) for bad input, before
        any model call; with `num_train_timesteps`, steps must also fit the model's schedule.
        With `model`, the sampler must fit it (ddpm/ddim for a noise predictor, euler/heun/sde for
        a flow), steps its schedule, and a latent model refuses classifier guidance."""
        if model is not None:
            num_train_timesteps = step_limit(model)
        if not reads_free_text(model):  # the shapes grammar; a diffusers model's own tokenizer reads any text
            parse_prompt(self.prompt)
            parse_prompt(self.negative_prompt)
        for name, (label, low, high) in RANGES.items():
            check_number(label, getattr(self, name), low, high)
        if self.guidance_start > self.guidance_stop:
            raise ValueError(f"the guidance range must start before it stops, not {self.guidance_start:g} "
                             f"to {self.guidance_stop:g}")
        check_number("steps", self.steps, 1, num_train_timesteps or 100_000, integer=True)
        check_number("seed", self.seed, 0, SEED_MAX, integer=True)
        check_sampler_fits(self.sampler, model)
        if self.base not in ("text2img", "ddpm"):
            raise ValueError(f"the guided base model is 'text2img' or 'ddpm', not {self.base!r}")
        if not isinstance(self.clip_x0, bool):
            raise ValueError(f"clip_x0 is true or false, not {self.clip_x0!r}")
        if model is not None:
            check_guidance_fits(model, self)
        return self

    def for_model(self, model: nn.Module) -> "GuidedSettings":
        """These settings as `model` runs them, validated against it: a latent model never clips x0."""
        settings = self.replace(clip_x0=False) if is_latent(model) and self.clip_x0 else self
        return settings.validate(model=model)

    @property
    def schedule(self) -> GuidanceSchedule:
        return GuidanceSchedule(self.guidance_start, self.guidance_stop)

    def sampler_settings(self) -> SamplerSettings:
        """The sampler of this run, stepped as every guided run is (`guided_sampler`)."""
        eta = self.eta if self.sampler == "ddim" else 0.0
        return guided_sampler(SamplerSettings(self.sampler, self.steps, eta, clip_x0=self.clip_x0))

    def make_scheduler(self, model: nn.Module) -> Scheduler:
        settings = self.replace(clip_x0=False) if is_latent(model) else self  # a latent is never clipped
        return settings.sampler_settings().make(model.noise_schedule)

    def replace(self, **changes: Any) -> "GuidedSettings":
        return dataclasses.replace(self, **changes)

    def to_recipe(self, model_name: str | None = None, family: str = "text2img") -> dict[str, Any]:
        """The JSON recipe for a PNG's metadata (prompt text as typed, canonical spelling beside it);
        `family` is the guided model's (a latent denoiser's: ldm, dit, sit)."""
        recipe: dict[str, Any] = {"kind": RECIPE_KIND, "model": model_name, "family": family}
        recipe |= dataclasses.asdict(self)
        try:
            recipe["prompt_canonical"] = parse_prompt(self.prompt).text()
        except PromptError:  # a free-text prompt (a diffusers model's): as typed
            recipe["prompt_canonical"] = self.prompt
        return recipe

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any], num_train_timesteps: int | None = None,
                    model: nn.Module | None = None) -> "GuidedSettings":
        """Settings back from a recipe; fields it lacks keep their defaults, unknown keys are ignored.
        A hand-edited value of the wrong type or out of range is refused (ValueError naming it);
        with `model`, also a sampler or guidance that does not fit it (`validate`)."""
        if recipe.get("kind") not in (None, RECIPE_KIND):
            raise ValueError(f"this recipe is for {recipe.get('kind')!r}, not a text-to-image run")
        if "clip_x0" not in recipe and "clip" in recipe:  # PNGs made before the flag had one name everywhere
            recipe = {**recipe, "clip_x0": recipe["clip"]}
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = recipe.get(field.name)
            if value is None:
                continue
            default = getattr(cls(), field.name)
            if isinstance(default, str) and not isinstance(value, str):
                raise ValueError(f"the recipe's {field.name} must be text, not {value!r}")
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                try:
                    value = float(value)
                except OverflowError:  # an integer beyond any float: out of every range
                    value = float("inf")
            elif type(default) is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            values[field.name] = value
        return cls(**values).validate(num_train_timesteps, model)


def step_limit(model: nn.Module) -> int:
    """The most inference steps the model's schedule allows: T, or a flow's K intervals."""
    schedule = model.noise_schedule
    return int(getattr(schedule, "intervals", schedule.num_train_timesteps))


def check_sampler_fits(kind: str, model: nn.Module | None = None) -> None:
    """ddpm/ddim for a noise predictor, euler/heun/sde for a flow model (ValueError, one line, otherwise).
    Without a model, the pixel models' ddpm/ddim."""
    fits = FLOW_KINDS if model is not None and is_flow(model) else SCHEDULER_KINDS
    if kind in fits:
        return
    if model is None or kind not in SCHEDULER_KINDS + FLOW_KINDS:
        raise ValueError(f"unknown sampler {kind!r}; known: {', '.join(fits)}")
    what = "a flow-matching model" if is_flow(model) else "a model trained on a DDPM noise schedule"
    raise ValueError(f"the {kind} sampler does not fit {what} ({_family(model)}); use {', '.join(fits)}")


def _family(model: nn.Module) -> str:
    return str(getattr(model.config, "family", type(model).__name__))


def pixels(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Samples x (N, C, H, W) as images in [-1, 1] on the CPU: x itself, or a latent model's latents decoded."""
    if not is_latent(model):
        return x
    with torch.inference_mode():
        return model.decode(x.to(model_device(model), torch.float32)).cpu()


def to_images(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Samples x (N, C, H, W) as (N, H, W, 3) uint8 (a latent model's decoded)."""
    return to_uint8(pixels(model, x))


def image_shape(model: nn.Module) -> tuple[int, int, int]:
    """The shape of x_t: the image's, or a latent denoiser's latent."""
    config = model.config
    if hasattr(config, "latent_shape"):
        return tuple(config.latent_shape)
    return (config.in_channels, config.image_size, config.image_size)


def check_grid_scales(settings: GuidedSettings, scales: Sequence[Any]) -> list[float]:
    """A grid's scales (w, or s for the "ddpm" base), each checked against that scale's range."""
    if not 1 <= len(scales) <= GRID_MAX_SCALES:
        raise ValueError(f"a grid takes 1 to {GRID_MAX_SCALES} scales, not {len(scales)}")
    label, low, high = RANGES["classifier_scale" if settings.base == "ddpm" else "guidance_scale"]
    return [check_number(f"each {label} of the grid", w, low, high) for w in scales]


def guided_steps(model: nn.Module, settings: GuidedSettings, n: int = 1, classifier: nn.Module | None = None,
                 clip: nn.Module | None = None, **kwargs: Any) -> Iterator[StepRecord]:
    """`sample_steps` for a guided run: image i is seeded settings.seed + i. `kwargs` go to `sample_steps`
    (e.g. `x_t`, a given x_T). For a latent model the records hold latents (`to_images` paints them).
    `clip` is the CLIP of CLIP guidance (needed for a CLIP scale)."""
    settings = settings.for_model(model)
    return sample_steps(make_denoiser(model, settings, classifier, clip=clip), settings.make_scheduler(model), n=n,
                        seed=settings.seed, shape=image_shape(model), device=model_device(model), **kwargs)


def grid_steps(model: nn.Module, settings: GuidedSettings, scales: Sequence[float], seeds: Sequence[int],
               classifier: nn.Module | None = None, clip: nn.Module | None = None) -> Iterator[StepRecord]:
    """A seeds x scales grid in one batch: image r * len(scales) + c is seed seeds[r] at scale scales[c]
    (w, or the classifier scale s for the "ddpm" base), the same image a single run of that seed and scale gives."""
    settings = settings.for_model(model)
    scales = check_grid_scales(settings, scales)
    for seed in seeds:
        check_number("seed", seed, 0, SEED_MAX, integer=True)
    per_image_scales = [float(w) for _ in seeds for w in scales]
    per_image_seeds = [int(seed) for seed in seeds for _ in scales]
    return sample_steps(make_denoiser(model, settings, classifier, per_image_scales, clip), settings.make_scheduler(model),
                        n=len(per_image_seeds), seed=per_image_seeds, shape=image_shape(model), device=model_device(model))


def generate(model: nn.Module, settings: GuidedSettings, n: int = 1, classifier: nn.Module | None = None,
             x_T: torch.Tensor | None = None, clip: nn.Module | None = None) -> np.ndarray:
    """n images (N, H, W, 3) uint8 for the settings (a latent model's decoded); the same settings give
    the same images. `x_T` (n, C, H, W), when given, is the start instead of the seeds' first draw."""
    last = None
    for last in guided_steps(model, settings, n, classifier, clip, **({} if x_T is None else {"x_t": x_T})):
        pass
    return to_images(model, last.x_prev)


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
              classifier: nn.Module | None = None, clip: nn.Module | None = None) -> Decomposition:
    """The unconditional and conditional predictions at (x_t, t), their difference and the guided one
    (a latent model's predicted latents decoded: the difference is the one in pixels)."""
    settings = settings.for_model(model)
    device = model_device(model)
    x = x_t.reshape(1, *x_t.shape[-3:]).to(device, torch.float32)
    t_batch = torch.full((1,), int(t), dtype=torch.int64, device=device)
    scheduler = settings.make_scheduler(model)
    guided_eps = make_denoiser(model, settings, classifier, clip=clip)(x, t_batch)
    if settings.base == "ddpm":
        uncond_eps, cond_eps, w = model(x, t_batch), None, 1.0
    else:
        parts = ClassifierFreeGuidance.for_prompt(
            model, settings.prompt, settings.guidance_scale, negative_prompt=settings.negative_prompt,
            schedule=settings.schedule).parts(x, t_batch)
        uncond_eps, cond_eps, w = parts.uncond, parts.cond, float(parts.scale[0])

    def x0(eps: torch.Tensor) -> torch.Tensor:  # a flow's "eps" is its velocity: its scheduler's predict_x0 reads it so
        predicted = scheduler.predict_x0(x, eps.float(), int(t))
        return (model.decode(predicted) if is_latent(model) else predicted)[0].cpu()

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
