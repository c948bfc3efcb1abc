"""Guidance: steering a diffusion model's noise prediction toward a prompt.

Both kinds here are model functions `(x_t, t) -> eps`, so every sampler (`sample_steps`,
`trace`) runs them exactly as it runs a plain U-Net: one network, many samplers, and now
many ways of asking it.

- Classifier-free guidance (Ho & Salimans 2022, eq. 6): one batched forward of the
  unconditional and the conditional branch, then eps~ = u + w (c - u). w = 0 is the
  unconditional model, w = 1 the plain conditional one, w > 1 pushes past it. A negative
  prompt's embedding takes the unconditional branch's place, so guidance pushes away
  from it as well as toward the prompt.
- Classifier guidance (Dhariwal & Nichol 2021, Algorithm 2 / eq. 14): a classifier of
  noisy images p_phi(y | x_t, t) shifts any eps by its gradient,
  eps^ = eps - s sqrt(1 - alpha-bar_t) grad_x log p_phi(y | x_t, t).

A `GuidanceSchedule` limits either to a part of the run (guidance only in a chosen range
of t, as Kynkäänniemi et al. 2024 recommend); outside it classifier-free guidance falls
back to the plain conditional prediction (w = 1) and classifier guidance switches off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..data.shapes import Prompt
from ..data.tokenizer import tokenize_batch
from .sampling import EpsModel


def cfg_combine(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, guidance_scale: float | torch.Tensor) -> torch.Tensor:
    """eps~ = eps(x_t, null) + w (eps(x_t, c) - eps(x_t, null))   (Ho & Salimans 2022, eq. 6)."""
    return eps_uncond + guidance_scale * (eps_cond - eps_uncond)


@dataclass(frozen=True)
class GuidanceSchedule:
    """The part of the run where guidance is on, as fractions of the way from noise to image.

    Progress is measured by the timestep, p(t) = (T - 1 - t) / (T - 1): 0 at pure noise,
    1 at the image, so a range means the same noise levels for DDPM, DDIM and any number
    of steps. Guidance is on where start <= p(t) <= stop; (0, 1) is the whole run.
    """

    start: float = 0.0
    stop: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.start <= self.stop <= 1.0:
            raise ValueError(f"the guidance range must satisfy 0 <= start <= stop <= 1, not {self.start}..{self.stop}")

    @property
    def is_full(self) -> bool:
        return self.start == 0.0 and self.stop == 1.0

    def progress(self, t: torch.Tensor, num_train_timesteps: int) -> torch.Tensor:
        last = max(num_train_timesteps - 1, 1)
        return (last - t.to(torch.float64)) / last

    def active(self, t: torch.Tensor, num_train_timesteps: int) -> torch.Tensor:
        """A bool per entry of t: is guidance on at this timestep?"""
        p = self.progress(t, num_train_timesteps)
        return (p >= self.start - 1e-9) & (p <= self.stop + 1e-9)

    def is_active(self, t: int, num_train_timesteps: int) -> bool:
        return bool(self.active(torch.tensor([int(t)]), num_train_timesteps)[0])


@dataclass(frozen=True)
class GuidanceParts:
    """One step's classifier-free guidance, all (N, C, H, W): the two branches and what they gave."""

    uncond: torch.Tensor   # eps(x_t, t, null) or the negative prompt's
    cond: torch.Tensor     # eps(x_t, t, prompt)
    guided: torch.Tensor   # u + w_t (c - u)
    scale: torch.Tensor    # w_t per image (1 where the schedule has guidance off)


def reads_free_text(model: nn.Module | None) -> bool:
    """Does the model read prompts as free text with its own tokenizer (a diffusers Stable Diffusion
    folder, `core/diffusers_io`), rather than in the shapes grammar?"""
    return model is not None and hasattr(model, "encode_prompts")


def prompt_embedding(model: nn.Module, prompt: str | Prompt | None) -> torch.Tensor:
    """The model's pooled embedding (1, D) of a prompt; "" or None is the learned null embedding."""
    device = model.null_embedding.device
    with torch.no_grad():  # not inference mode: the embedding may meet autograd later (classifier guidance)
        if prompt is None:
            return model.embed(None, 1).clone()
        if reads_free_text(model):
            return model.encode_prompts([str(prompt)]).clone()
        return model.embed(tokenize_batch([prompt]).to(device)).clone()


class ClassifierFreeGuidance(nn.Module):
    """eps~(x_t, t) for a text-to-image model, a prompt and a guidance scale; a sampler's model function.

    A module around the model (no weights of its own), so samplers find its device and
    shape from it as from a plain U-Net.

    `cond` and `uncond` are pooled embeddings, (1, D) for every image or (N, D) one per
    image; `uncond` is the null embedding, or a negative prompt's. `guidance_scale` is one
    w for every image or one per image (a grid of scales in one batch).
    """

    def __init__(self, model: nn.Module, cond: torch.Tensor, uncond: torch.Tensor,
                 guidance_scale: float | Sequence[float] | torch.Tensor, schedule: GuidanceSchedule = GuidanceSchedule()):
        super().__init__()
        self.model = model
        self.cond = cond
        self.uncond = uncond
        self.guidance_scale = torch.as_tensor(guidance_scale, dtype=torch.float32).cpu()
        self.schedule = schedule
        self.num_train_timesteps = model.noise_schedule.num_train_timesteps

    @classmethod
    def for_prompt(cls, model: nn.Module, prompt: str | Prompt, guidance_scale: float | Sequence[float], *,
                   negative_prompt: str | Prompt = "", schedule: GuidanceSchedule = GuidanceSchedule()) -> "ClassifierFreeGuidance":
        """Guidance toward `prompt` (and away from `negative_prompt`, which replaces the null embedding)."""
        return cls(model, prompt_embedding(model, prompt), prompt_embedding(model, negative_prompt or None),
                   guidance_scale, schedule)

    @property
    def config(self):  # the image shape, for samplers that read it from the model
        return self.model.config

    @property
    def noise_schedule(self):
        return self.model.noise_schedule

    def scales(self, t: torch.Tensor) -> torch.Tensor:
        """w_t per image: the guidance scale where the schedule has guidance on, else 1 (conditional)."""
        on = self.schedule.active(t.cpu(), self.num_train_timesteps)
        w = self.guidance_scale.expand(t.shape)
        return torch.where(on, w, torch.ones_like(w)).to(t.device)

    def _embeddings(self, which: torch.Tensor, n: int) -> torch.Tensor:
        return which.expand(n, -1) if which.shape[0] == 1 else which

    def branches(self, x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(eps_uncond, eps_cond) from one forward of the batch doubled: [x_t, x_t] with [u, c]."""
        n = x_t.shape[0]
        cond = torch.cat([self._embeddings(self.uncond, n), self._embeddings(self.cond, n)])
        eps = self.model(torch.cat([x_t, x_t]), torch.cat([t, t]), cond=cond.to(x_t.device))
        return eps[:n], eps[n:]

    def parts(self, x_t: torch.Tensor, t: torch.Tensor) -> GuidanceParts:
        """Both branches and the guided prediction (what the GUI's decomposition view shows)."""
        u, c = self.branches(x_t, t)
        w = self.scales(t)
        return GuidanceParts(u, c, cfg_combine(u, c, w.view(-1, 1, 1, 1)), w)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        w = self.scales(t)
        n = x_t.shape[0]
        # a branch whose weight is 0 everywhere is not computed: half the work at w = 0 and w = 1
        if bool((w == 1).all()):
            return self.model(x_t, t, cond=self._embeddings(self.cond, n).to(x_t.device))
        if bool((w == 0).all()):
            return self.model(x_t, t, cond=self._embeddings(self.uncond, n).to(x_t.device))
        u, c = self.branches(x_t, t)
        return cfg_combine(u, c, w.view(-1, 1, 1, 1))


def attribute_targets(prompt: str | Prompt | Sequence[int | None]) -> tuple[int | None, ...]:
    """The label per attribute (shape, color, size, position) a prompt asks for, None where it leaves it open."""
    if isinstance(prompt, str):
        from ..data.shapes import parse_prompt

        prompt = parse_prompt(prompt)
    if isinstance(prompt, Prompt):
        return prompt.labels
    return tuple(prompt)


class ClassifierGuidance(nn.Module):
    """eps^(x_t, t) = eps(x_t, t) - s sqrt(1 - alpha-bar_t) grad log p_phi(y | x_t, t)  (Dhariwal & Nichol 2021, eq. 14).

    `base` is any model function (an unconditional DDPM, or a classifier-free guided one);
    `classifier(x_t, t)` gives logits per attribute, and log p(y | x_t) sums the log
    probabilities of the attributes the prompt names (each head a factor of p(y | x_t)).
    """

    def __init__(self, base: EpsModel, classifier: nn.Module, targets: str | Prompt | Sequence[int | None],
                 scale: float | Sequence[float] | torch.Tensor, alphas_cumprod: torch.Tensor,
                 schedule: GuidanceSchedule = GuidanceSchedule()):
        super().__init__()
        self.base = base
        self.classifier = classifier
        self.targets = attribute_targets(targets)
        self.scale = torch.as_tensor(scale, dtype=torch.float32).cpu()  # one s, or one per image
        self.schedule = schedule
        self.alphas_cumprod = alphas_cumprod.to(torch.float32).cpu()
        self.num_train_timesteps = len(self.alphas_cumprod)

    @property
    def config(self):
        return getattr(self.base, "config")

    def log_prob(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log p_phi(y | x_t, t) per image, summed over the named attributes."""
        logits = self.classifier(x_t, t)
        total = torch.zeros(x_t.shape[0], device=x_t.device)
        for head, target in zip(logits, self.targets):
            if target is not None:
                total = total + torch.log_softmax(head.float(), dim=1)[:, target]
        return total

    def gradient(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """grad_x log p_phi(y | x_t, t), also when called under the sampler's inference mode."""
        with torch.inference_mode(False), torch.enable_grad():
            x = x_t.detach().clone().requires_grad_(True)  # a clone outside inference mode can carry grad
            (grad,) = torch.autograd.grad(self.log_prob(x, t.clone()).sum(), x)
        return grad

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        eps = self.base(x_t, t)
        on = self.schedule.active(t.cpu(), self.num_train_timesteps).to(x_t.device)
        if bool((self.scale == 0).all()) or all(v is None for v in self.targets) or not bool(on.any()):
            return eps
        sigma = (1 - self.alphas_cumprod[t.cpu()]).sqrt().to(x_t.device).view(-1, 1, 1, 1)
        scale = self.scale.expand(t.shape).to(x_t.device).view(-1, 1, 1, 1)
        shift = scale * sigma * self.gradient(x_t, t) * on.view(-1, 1, 1, 1)
        return eps - shift.to(eps.dtype)
