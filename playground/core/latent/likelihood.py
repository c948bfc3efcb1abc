"""The VAE's negative ELBO in bits per dimension: an upper bound on −log2 p(x) / (3 H W).

    −log p(x) <= E_q(z|x)[−log p(x | z)] + KL(q(z|x) || N(0, I))      (Kingma & Welling 2014, eq. 3)

The KL term is the Gaussian's closed form; the reconstruction term is estimated with
`samples` draws of z ~ q(z|x) (reparameterised, seeded) and read with the same decoder
likelihood the dalle's bound uses: a discretised Gaussian over the 256 levels of each
channel, centred on the decoder's output, std `sigma` in [-1, 1] units
(`tokens.likelihood.discretised_gaussian_bits`). The VAE was trained with a squared error
(a Gaussian of one fixed std), so a sigma stated once, the same for both models, is what
makes the two numbers comparable; the table reports it beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..device import model_device
from ..models.vae import VAE
from ..tokens.likelihood import DECODER_SIGMA, discretised_gaussian_bits

LN2 = math.log(2.0)


@dataclass(frozen=True)
class ElboBits:
    """Per image (B,): the reconstruction term and the KL term in bits per dimension, and their sum (the bound)."""

    reconstruction_bits_per_dim: torch.Tensor
    kl_bits_per_dim: torch.Tensor
    sigma: float
    samples: int
    reconstruction_at_mean_bits_per_dim: torch.Tensor | None = None  # z = the mean of q: NOT a bound, a diagnostic

    @property
    def total(self) -> torch.Tensor:
        return self.reconstruction_bits_per_dim + self.kl_bits_per_dim


def gaussian_kl_nats(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(B,) KL(N(mean, exp(logvar)) || N(0, I)) in nats, summed over the latent dimensions."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1)


@torch.no_grad()
def elbo_bits_per_dim(model: VAE, images: torch.Tensor, sigma: float = DECODER_SIGMA, samples: int = 4,
                      seed: int = 0) -> ElboBits:
    """The negative ELBO of images (B, 3, H, W) in [-1, 1], in bits per dimension (see the module docstring).

    The same images and seed give the same numbers; `samples` draws of z per image average the
    reconstruction term (its Monte-Carlo error falls as 1/sqrt(samples))."""
    if not model.config.variational:
        raise ValueError("an autoencoder (ae) has no ELBO: its q(z|x) is a point, not a density")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, not {samples}")
    device = model_device(model)
    x = images.to(device).float()
    mean, logvar = model.encode(x)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    reconstruction = torch.zeros(len(x), dtype=torch.float64)
    for _ in range(samples):
        noise = torch.randn(mean.shape, generator=generator).to(device)
        z = mean + noise * torch.exp(0.5 * logvar)
        reconstruction += discretised_gaussian_bits(x.cpu(), model.decode(z).cpu(), sigma).double()
    dims = x[0].numel()
    kl_bits = gaussian_kl_nats(mean, logvar).cpu().double() / LN2
    at_mean = discretised_gaussian_bits(x.cpu(), model.decode(mean).cpu(), sigma) / dims
    return ElboBits((reconstruction / samples / dims).float(), (kl_bits / dims).float(), float(sigma), samples, at_mean)
