"""What every latent denoiser shares (ldm, dit, sit): the first stage, the prompt, the objective.

A latent denoiser is a network over the 8x8x4 scaled latent of an `autoencoder-kl`
(Rombach et al. 2022). Its checkpoint holds that autoencoder's weights too (as
`first_stage.*`, the first stage it was trained on, frozen): one file, one hash, and
the image it draws is the image its own decoder paints.

The prompt: a small transformer over the prompt's tokens gives one embedding per token
(the context that cross-attention reads, as Stable Diffusion's CLIP text encoder does)
and their mean (a pooled embedding, as SDXL adds to the time embedding). "No prompt" is
a learned null context and null pooled vector; training swaps them in for a share of
the batch (classifier-free guidance).

The condition travels as ONE tensor per image, (B, (1 + L) * D): the pooled vector and
the L token embeddings, concatenated. So everything that guides a pixel model by its
pooled embedding (classifier-free guidance, negative prompts, per-image scales, the
CFG decomposition) guides a latent one unchanged: `model(x, t, cond=...)`.

Objectives: "epsilon" on a DDPM noise schedule (ldm, dit), or "velocity" on the linear
interpolant x_s = (1 - s) x0 + s eps (sit; `diffusion/flow.py`), whose time runs over
the integers 0..1000 (s = t / 1000).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.tokenizer import MAX_TOKENS, PAD
from ..diffusion.flow import FlowSchedule
from ..diffusion.schedules import NoiseSchedule
from .autoencoder_kl import AutoencoderKL, AutoencoderKLConfig
from .text2img import PromptEncoder


@dataclass(frozen=True)
class LatentDenoiserConfig:
    # the first stage (an autoencoder-kl config, flattened: its weights live in this checkpoint)
    image_size: int = 32
    latent_channels: int = 4
    ae_channels: tuple[int, ...] = (16, 32, 128)
    # the objective
    prediction: str = "epsilon"   # "epsilon" (DDPM schedule) or "velocity" (flow matching)
    schedule: str = "cosine"      # the DDPM schedule, or "flow"
    num_train_timesteps: int = 1000
    # the prompt
    text_dim: int = 64
    text_layers: int = 2
    text_heads: int = 4
    cond_dim: int = 64
    condition_dropout: float = 0.15

    def __post_init__(self) -> None:
        if self.prediction not in ("epsilon", "velocity"):
            raise ValueError(f"prediction must be 'epsilon' or 'velocity', not {self.prediction!r}")
        if (self.prediction == "velocity") != (self.schedule == "flow"):
            raise ValueError("velocity prediction goes with the 'flow' schedule, epsilon with a DDPM one")

    @property
    def autoencoder(self) -> AutoencoderKLConfig:
        return AutoencoderKLConfig(image_size=self.image_size, latent_channels=self.latent_channels,
                                   channels=self.ae_channels)

    @property
    def latent_size(self) -> int:
        return self.autoencoder.latent_size

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return self.autoencoder.latent_shape

    # samplers read the shape of x_t from these two (as for a pixel U-Net's config)
    @property
    def in_channels(self) -> int:
        return self.latent_channels


def split_condition(cond: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, (1 + L) * D) -> pooled (B, D) and context (B, L, D)."""
    pooled, context = cond[:, :dim], cond[:, dim:]
    return pooled, context.reshape(cond.shape[0], -1, dim)


class LatentDenoiser(nn.Module):
    """The parts of a latent denoiser around its network: subclasses set `self.net` and `denoise`."""

    def __init__(self, config: LatentDenoiserConfig):
        super().__init__()
        self.config = config
        self.first_stage = AutoencoderKL(config.autoencoder).requires_grad_(False)
        self.prompt_encoder = PromptEncoder(config)
        self.null_embedding = nn.Parameter(torch.randn(config.cond_dim) * 0.02)
        self.null_context = nn.Parameter(torch.randn(MAX_TOKENS, config.cond_dim) * 0.02)
        if config.schedule == "flow":
            self.noise_schedule = FlowSchedule(config.num_train_timesteps)
        else:
            self.noise_schedule = NoiseSchedule.from_name(config.schedule, config.num_train_timesteps)

    # --- the image size samplers read (the latent's) ---

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return self.config.latent_shape

    # --- the prompt ---

    def embed(self, token_ids: torch.Tensor | None, batch: int | None = None) -> torch.Tensor:
        """The condition (B, (1 + L) * D) of prompts; None, or an all-padding row, is the null condition."""
        d = self.config.cond_dim
        null = torch.cat([self.null_embedding, self.null_context.flatten()])
        if token_ids is None:
            return null.expand(batch or 1, -1)
        tokens, weights = self.prompt_encoder.sequence(token_ids)
        pooled = (tokens * weights).sum(1) / weights.sum(1)
        context = torch.cat([tokens, self.null_context[tokens.shape[1]:].expand(len(tokens), -1, -1)], dim=1)
        cond = torch.cat([pooled, context.flatten(1)], dim=1)
        empty = (token_ids == PAD).all(dim=1, keepdim=True)
        return torch.where(empty, null.expand_as(cond), cond) if d else cond

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The network's prediction (eps, or the velocity for a flow) at latent x_t and time t."""
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if cond is None:
            cond = self.embed(None, x.shape[0]).to(x.device)
        pooled, context = split_condition(cond.to(x.dtype), self.config.cond_dim)
        return self.denoise(x, t, pooled, context)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, pooled: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- pixels <-> latents (the frozen first stage) ---

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (N, 3, 32, 32) -> scaled latents (N, 4, 8, 8) (the posterior mean)."""
        return self.first_stage.to_latent(images)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents -> images in [-1, 1]."""
        return self.first_stage.from_latent_space(latents).clamp(-1, 1)

    def load_first_stage(self, autoencoder: AutoencoderKL) -> None:
        """Copy a trained autoencoder-kl (weights and scale factor) into this model's first stage."""
        if autoencoder.config.latent_shape != self.config.latent_shape or autoencoder.config.channels != self.config.ae_channels:
            raise ValueError(f"the autoencoder's latent {autoencoder.config.latent_shape} and channels "
                             f"{autoencoder.config.channels} do not match this model's "
                             f"{self.config.latent_shape} and {self.config.ae_channels}")
        self.first_stage.load_state_dict(autoencoder.state_dict())
