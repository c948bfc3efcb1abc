"""The guided denoiser: the one place that turns `GuidedSettings` into the model function a sampler runs.

Two networks can be guided: the text-to-image model (classifier-free guidance, plus
classifier guidance on top if asked), or, with `base="ddpm"`, an unconditional DDPM that
only the noisy classifier steers (Dhariwal & Nichol 2021). The command line, the
evaluation and the GUI all build it here (`make_denoiser`), and all step it with the same
rule (`guided_sampler`). `GuidanceModels` fetches the extra networks a setting asks for.

A latent denoiser (ldm, dit, sit) is guided the same way by classifier-free guidance (its
condition is one tensor, as the pixel model's pooled embedding is); classifier guidance is
refused for it (`check_guidance_fits`): the noisy classifier reads pixels, not latents.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import torch
from torch import nn

from ..assets import default_checkpoint
from ..checkpoints import LoadedModel, load_checkpoint
from ..diffusion.guidance import ClassifierFreeGuidance, ClassifierGuidance
from .clip_guidance import clip_guided
from ..diffusion.sampling import EpsModel
from ..diffusion.trajectory import SamplerSettings
from ..latent_diffusion import is_latent

if TYPE_CHECKING:
    from .sampling import GuidedSettings


def steps_with_clipped_eps(clip_x0: bool, guided: bool = True) -> bool:
    """Whether DDIM steps with the eps the clipped x0 implies: yes for a guided run whose x0 is clipped.
    Guidance (w > 1, or a classifier's push) overshoots [-1, 1]; clipping x0 and then stepping with
    the unclipped eps would undo the clip in the DDIM update (see `DDIMScheduler`, diffusers'
    `use_clipped_model_output`). The plain model keeps diffusers' default (off)."""
    return guided and clip_x0


def guided_sampler(settings: SamplerSettings) -> SamplerSettings:
    """`settings` as a guided run steps with them (`steps_with_clipped_eps`)."""
    return dataclasses.replace(settings, use_clipped_model_output=steps_with_clipped_eps(settings.clip_x0))


def make_denoiser(model: nn.Module, settings: GuidedSettings, classifier: nn.Module | None = None,
                  per_image_scales: Sequence[float] | None = None, clip: nn.Module | None = None) -> EpsModel:
    """The model function a sampler runs: classifier-free guidance, plus classifier guidance and CLIP
    guidance (`clip`, for a CLIP scale) if asked.

    With `settings.base == "ddpm"`, `model` is the unconditional DDPM and only the classifier guides it
    (with a classifier scale of 0 it is the DDPM itself). `per_image_scales` gives each image of the
    batch its own scale (w, or s for the "ddpm" base): a grid.
    """
    check_guidance_fits(model, settings)
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
    if settings.clip_scale > 0:
        from .sampling import image_shape

        denoiser = clip_guided(denoiser, clip, settings.prompt, settings.clip_scale,
                               model.noise_schedule.alphas_cumprod, image_shape(model), schedule)
    return denoiser


def check_guidance_fits(model: nn.Module, settings: GuidedSettings) -> None:
    """A latent model takes classifier-free guidance only (ValueError, one line, for classifier or CLIP guidance)."""
    if is_latent(model) and settings.clip_scale > 0:
        family = getattr(model.config, "family", "latent")
        raise ValueError(f"CLIP guidance needs a pixel diffusion model (the CLIP reads images, not latents); the "
                         f"{family} model takes classifier-free guidance only: set the CLIP scale to 0")
    if is_latent(model) and (settings.classifier_scale > 0 or settings.base == "ddpm"):
        family = getattr(model.config, "family", "latent")
        raise ValueError(f"classifier guidance needs a pixel diffusion model (the noisy classifier reads images, "
                         f"not latents); the {family} model takes classifier-free guidance only: set the "
                         f"classifier scale to 0")


def check_classifier_matches(classifier: nn.Module, model: nn.Module) -> None:
    """A noisy classifier knows only the noise levels of the schedule it was trained on."""
    ours, theirs = classifier.noise_schedule, model.noise_schedule
    if (ours.name, ours.num_train_timesteps) != (theirs.name, theirs.num_train_timesteps):
        raise ValueError(f"the classifier was trained on the {ours.name} schedule with T = {ours.num_train_timesteps}, "
                         f"the diffusion model uses {theirs.name} with T = {theirs.num_train_timesteps}")


def helper_families(settings: GuidedSettings, grid: bool = False) -> tuple[str, ...]:
    """The networks besides the text-to-image model that `settings` need: the unconditional DDPM for
    `base="ddpm"`, the noisy classifier for a classifier scale (and for a grid on the DDPM base,
    whose scales s run across), the CLIP for a CLIP scale."""
    ddpm = settings.base == "ddpm"
    return ((("ddpm",) if ddpm else ()) + (("noisy-classifier",) if settings.classifier_scale > 0 or (ddpm and grid) else ())
            + (("clip",) if settings.clip_scale > 0 else ()))


@dataclass(frozen=True)
class Guided:
    """A guided run's networks: `base` is the one guided (it sets the schedule, image shape and
    device), `classifier` the noisy classifier or None, `eps` the model function to sample, `clip` the
    CLIP that guides it or None."""

    base: nn.Module
    classifier: nn.Module | None
    eps: EpsModel
    clip: nn.Module | None = None


class GuidanceModels:
    """The networks guided settings may add to the text-to-image model (the unconditional DDPM of
    `base="ddpm"`, the noisy classifier, the CLIP), loaded on first use and kept; safe to call from a worker."""

    def __init__(self, device: torch.device | str = "cpu", find: Callable[[str], Path] = default_checkpoint):
        self.device = torch.device(device)
        self.find = find
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, family: str) -> LoadedModel:
        with self._lock:
            if family not in self._loaded:
                self._loaded[family] = load_checkpoint(self.find(family), self.device, families=(family,))
            return self._loaded[family]

    def networks(self, model: nn.Module, settings: GuidedSettings,
                 grid: bool = False) -> tuple[nn.Module, nn.Module | None]:
        """(the network to guide, the noisy classifier or None) that `settings` ask for."""
        check_guidance_fits(model, settings)  # before loading a helper a latent model cannot use
        helpers = helper_families(settings, grid)
        base = self.get("ddpm").model if "ddpm" in helpers else model
        return base, self.get("noisy-classifier").model if "noisy-classifier" in helpers else None

    def clip(self, settings: GuidedSettings) -> nn.Module | None:
        """The CLIP for CLIP guidance, None when the settings have none."""
        return self.get("clip").model if settings.clip_scale > 0 else None

    def guide(self, model: nn.Module, settings: GuidedSettings) -> Guided:
        """The networks `settings` ask for and the denoiser built from them (`make_denoiser`)."""
        base, classifier = self.networks(model, settings)
        clip = self.clip(settings)
        return Guided(base, classifier, make_denoiser(base, settings, classifier, clip=clip), clip)
