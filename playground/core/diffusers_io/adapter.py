"""A diffusers U-Net as the project's denoiser: `model(x_t, t, cond=None) -> eps`.

The project's samplers, guidance and views call a noise predictor with (x_t (N, C, H, W),
t (N,) int64) and read `model.config` (the shape of x_t) and `model.noise_schedule`. The
adapter gives a diffusers model that call:

- whatever the checkpoint predicts (`prediction_type` epsilon, v_prediction or sample),
  the adapter returns the epsilon it implies (Salimans & Ho 2022, sec. 4: for
  v = sqrt(a) eps - sqrt(1 - a) x0, eps = sqrt(a) v + sqrt(1 - a) x_t), so the project's
  DDPM/DDIM, whose update reads eps, step it as diffusers' schedulers do;
- inputs go to the network in its dtype (fp16 on CUDA) and outputs come back float32;
- the Stable Diffusion layout's condition travels as ONE tensor per image, the text
  encoder's hidden states flattened (B, L * D), as a latent denoiser's does
  (`core/models/latent_denoiser.py`): classifier-free guidance, negative prompts and
  per-image scales then guide it unchanged. `first_stage` (the VAE) and `decode` make it
  a latent model to the views (`latent_diffusion.is_latent`): decoded x0 and x_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import install_recorders
from .schedule import DiffusersSchedule


@dataclass(frozen=True)
class PixelConfig:
    """The shape of x_t of an unconditional diffusers U-Net (samplers read in_channels and image_size)."""

    family: str
    in_channels: int
    image_size: int
    schedule: str
    prediction_type: str


@dataclass(frozen=True)
class LatentConfig:
    """The shape of x_t (the VAE's latent) of the Stable Diffusion layout, and of its condition."""

    family: str
    latent_channels: int
    latent_size: int
    image_size: int
    context_length: int
    context_dim: int
    schedule: str
    prediction_type: str
    grid: int = 0  # cells per side of the finest attention layer (the attention maps' side)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return (self.latent_channels, self.latent_size, self.latent_size)

    @property
    def in_channels(self) -> int:
        return self.latent_channels


class DiffusersDenoiser(nn.Module):
    """An unconditional `UNet2DModel` returning eps at (x_t, t)."""

    def __init__(self, unet: nn.Module, schedule: DiffusersSchedule, config: PixelConfig | LatentConfig):
        super().__init__()
        self.unet = unet
        self.noise_schedule = schedule
        self.config = config
        ab = schedule.alphas_cumprod
        self.register_buffer("_sqrt_ab", ab ** 0.5, persistent=False)
        self.register_buffer("_sqrt_one_minus_ab", (1 - ab) ** 0.5, persistent=False)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def to_eps(self, output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The epsilon a network output implies at (x_t, t), float32 (diffusers' DDIM step, eq. by eq.)."""
        kind = self.noise_schedule.prediction_type
        output = output.float()
        if kind == "epsilon":
            return output
        a = self._sqrt_ab.float()[t].view(-1, 1, 1, 1)
        b = self._sqrt_one_minus_ab.float()[t].view(-1, 1, 1, 1)
        if kind == "v_prediction":
            return a * output + b * x_t
        return (x_t - a * output) / b  # "sample": the network predicts x0

    def _timesteps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return t.expand(x.shape[0]) if t.ndim == 0 else t

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        t = self._timesteps(x, t)
        out = self.unet(x.to(self.dtype), t).sample
        return self.to_eps(out, x.float(), t)


class StableDiffusionDenoiser(DiffusersDenoiser):
    """`UNet2DConditionModel` over the VAE's latent, conditioned on the CLIP text encoder's hidden states."""

    def __init__(self, unet: nn.Module, schedule: DiffusersSchedule, config: LatentConfig, vae: nn.Module,
                 text_encoder: nn.Module, tokenizer):
        super().__init__(unet, schedule, config)
        self.first_stage = vae
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer  # not a module: no weights
        self._empty: torch.Tensor | None = None
        self._recorders = install_recorders(unet)  # attention maps (`attention_modules`); fused until asked

    def attention_modules(self, kind: str) -> list:
        """The U-Net's cross- or self-attention layers, as the attention maps record them."""
        return list(self._recorders[kind])

    # --- the prompt ---

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """(B, L * D) float32: the text encoder's last hidden states of each prompt, tokenized as
        StableDiffusionPipeline does (padded to the tokenizer's max length, truncated)."""
        ids = self.tokenizer(list(prompts), padding="max_length", max_length=self.config.context_length,
                             truncation=True, return_tensors="pt")
        device = next(self.text_encoder.parameters()).device
        mask = ids.attention_mask.to(device) if getattr(self.text_encoder.config, "use_attention_mask", False) else None
        hidden = self.text_encoder(ids.input_ids.to(device), attention_mask=mask)[0]
        return hidden.float().flatten(1)

    def token_strings(self, prompt: str) -> list[str]:
        """The tokens the model reads for `prompt`, start and end markers included (cross-attention's columns)."""
        ids = self.tokenizer(prompt, truncation=True, max_length=self.config.context_length).input_ids
        return [token.replace("</w>", "") for token in self.tokenizer.convert_ids_to_tokens(ids)]

    def embed(self, token_ids: torch.Tensor | None = None, batch: int | None = None) -> torch.Tensor:
        """The empty prompt's condition (B, L * D) for `embed(None, B)`, the project's null condition."""
        if token_ids is not None:
            raise ValueError("a diffusers model reads free text: use encode_prompts([...])")
        return self.null_embedding.expand(batch or 1, -1)

    @property
    def null_embedding(self) -> torch.Tensor:
        """The empty prompt "" encoded (1, L * D): classifier-free guidance's unconditional branch."""
        if self._empty is None:
            self._empty = self.encode_prompts([""])
        return self._empty

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        t = self._timesteps(x, t)
        if cond is None:
            cond = self.null_embedding.to(x.device).expand(x.shape[0], -1)
        context = cond.reshape(cond.shape[0], self.config.context_length, self.config.context_dim)
        out = self.unet(x.to(self.dtype), t, encoder_hidden_states=context.to(self.dtype)).sample
        return self.to_eps(out, x.float(), t)

    # --- pixels <-> latents ---

    def _scaling(self) -> tuple[float, float]:
        cfg = self.first_stage.config
        return float(cfg.scaling_factor), float(getattr(cfg, "shift_factor", None) or 0.0)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (N, 4, h, w) -> images in [-1, 1], float32 (StableDiffusionPipeline's decode)."""
        scale, shift = self._scaling()
        vae_dtype = next(self.first_stage.parameters()).dtype
        image = self.first_stage.decode((latents / scale + shift).to(vae_dtype)).sample
        return image.float().clamp(-1, 1)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> scaled latents (the posterior mean)."""
        scale, shift = self._scaling()
        vae_dtype = next(self.first_stage.parameters()).dtype
        mean = self.first_stage.encode(images.to(vae_dtype)).latent_dist.mean
        return ((mean.float() - shift) * scale)
