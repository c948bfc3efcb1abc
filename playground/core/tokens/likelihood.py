"""How surprised a dalle is by an image: teacher-forced negative log-likelihood per cell, in bits.

`token_nll` encodes the image to its VQ tokens and reads every cell's −log p(c_i | prompt, c_<i)
in one teacher-forced forward (the same numbers the cross-entropy of training averages).
`bits_per_token` and `bits_per_dim` summarise it.

What the number is: the code length of the image's VQ TOKENS under the prior. It is not the
image's likelihood: the encoder throws away whatever the codebook cannot say, and that
information costs nothing here. An honest bound on the image needs the decoder's term too:
with a deterministic encoder (q(z|x) a point mass, entropy 0) the ELBO is

    −log p(x) <= −log p(z) − log p(x | z),     z = the image's tokens,

and `image_bits_per_dim` adds −log p(x | decode(z)) under a discretised Gaussian
(`discretised_gaussian_bits`, 256 levels per channel, a stated sigma), the same term a
VAE's ELBO in bits/dim uses when computed with the same function and sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch.nn import functional as F

from ..data.tokenizer import tokenize_batch
from ..device import model_device
from ..models.dalle import Dalle

LN2 = math.log(2.0)
DECODER_SIGMA = 0.05  # the decoder's Gaussian std in [-1, 1] pixel units (about 6 of 255 levels)


def _prompts(prompt: str | Sequence[str], batch: int) -> torch.Tensor:
    prompts = [prompt] * batch if isinstance(prompt, str) else list(prompt)
    if len(prompts) != batch:
        raise ValueError(f"{len(prompts)} prompts for {batch} images")
    return tokenize_batch(prompts)


@torch.no_grad()
def token_nll_of_tokens(model: Dalle, tokens: torch.Tensor, prompt: str | Sequence[str] = "") -> torch.Tensor:
    """(B, g, g) nats per cell of token sequences (B, N), teacher-forced, under the prompt(s) ("" = unconditional)."""
    device = model_device(model)
    tokens = tokens.reshape(tokens.shape[0], -1).to(device)
    text = _prompts(prompt, tokens.shape[0]).to(device)
    logits = model(text, tokens).float()
    nll = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
    g = model.config.grid_size
    return nll.reshape(-1, g, g).cpu()


@torch.no_grad()
def token_nll(model: Dalle, images: torch.Tensor, prompt: str | Sequence[str] = "") -> torch.Tensor:
    """(B, g, g) nats per cell of images (B, 3, H, W) in [-1, 1]: their VQ tokens, teacher-forced."""
    return token_nll_of_tokens(model, model.encode(images.to(model_device(model))), prompt)


def bits_per_token(nll: torch.Tensor) -> torch.Tensor:
    """(B,) mean bits per token of per-cell nats (B, g, g)."""
    return nll.flatten(1).mean(dim=1) / LN2


def bits_per_dim(nll: torch.Tensor, dims: int = 3 * 32 * 32) -> torch.Tensor:
    """(B,) the tokens' total bits over the image's dimensions (3*H*W; 3072 for 32x32 RGB)."""
    return nll.flatten(1).sum(dim=1) / LN2 / dims


def discretised_gaussian_bits(x: torch.Tensor, mean: torch.Tensor, sigma: float = DECODER_SIGMA) -> torch.Tensor:
    """(B,) −log2 p(x | mean) summed over every dimension, x on the 256 levels of [-1, 1].

    Each value's bin is ±1/255 around it (the edge bins reach ±infinity), its probability the
    Gaussian N(mean, sigma^2) mass in the bin (DDPM's `discretized_gaussian_log_likelihood`)."""
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be a number > 0, not {sigma!r}")
    x = ((x.double().clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1  # the 8-bit value the file holds
    mean = mean.double()
    normal = torch.distributions.Normal(torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64))
    upper = torch.where(x >= 1 - 1e-6, torch.ones_like(x), normal.cdf((x + 1 / 255 - mean) / sigma))
    lower = torch.where(x <= -1 + 1e-6, torch.zeros_like(x), normal.cdf((x - 1 / 255 - mean) / sigma))
    mass = (upper - lower).clamp_min(1e-300)
    return (-mass.log2()).flatten(1).sum(dim=1).float()


@dataclass(frozen=True)
class ImageBits:
    """Bits per dimension of images (B,): the tokens' (prior), the decoder's term, and their sum (the bound)."""

    token_bits_per_dim: torch.Tensor
    decoder_bits_per_dim: torch.Tensor
    sigma: float

    @property
    def total(self) -> torch.Tensor:
        return self.token_bits_per_dim + self.decoder_bits_per_dim


@torch.no_grad()
def image_bits_per_dim(model: Dalle, images: torch.Tensor, prompt: str | Sequence[str] = "",
                       sigma: float = DECODER_SIGMA) -> ImageBits:
    """An upper bound on −log2 p(x) per dimension: the tokens' bits under the prior plus −log2 p(x | decode(tokens))
    under a discretised Gaussian of std `sigma` (see the module docstring); compare a VAE's ELBO computed with
    `discretised_gaussian_bits` and the same sigma."""
    images = images.to(model_device(model))
    tokens = model.encode(images)
    dims = images[0].numel()
    token_bits = bits_per_dim(token_nll_of_tokens(model, tokens, prompt), dims)
    decoder_bits = discretised_gaussian_bits(images.cpu(), model.decode(tokens).cpu(), sigma) / dims
    return ImageBits(token_bits, decoder_bits, sigma)
