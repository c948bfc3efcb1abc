"""Bits per dimension of the same validation images under every family that defines a likelihood.

`bits_per_dim(loaded, images)` -> (mean bits/dim over the images, or None, and one line saying how
it was measured or why there is none). Every number is −log2 p(x) per dimension of 8-bit data
(3 * 32 * 32 = 3072 dimensions), an upper bound or an estimate of one, and every family whose
model ends in a decoder reads the image with the SAME decoder likelihood: a discretised Gaussian
over the 256 levels of each channel, std sigma = DECODER_SIGMA (0.05 in [-1, 1] units,
`tokens.likelihood.discretised_gaussian_bits`); the DDPM's own decoder L_0 uses that function
with the model's std at t = 1 (Ho et al. 2020).

    vae                 negative ELBO (4 draws of z)                     latent/likelihood.py
    dalle               prior's NLL of the VQ tokens (empty prompt) + decoder term   tokens/likelihood.py
    vqvae, vqgan        the tokens' code length under the unigram usage stored in the checkpoint + decoder term
    ddpm, text2img      variational bound L_vlb: the first and last terms exact, the others from K importance-sampled timesteps
                        (text2img: the null prompt)                       diffusion/likelihood.py
    ldm, dit            ELBO through the autoencoder-kl with the DDPM bound on the latent as the prior
    sit                 ELBO through the autoencoder-kl with the latent's log-density by the probability-flow
                        ODE (Heun, Hutchinson trace) as the prior, on a subset of the images (costly on a CPU)
    ae, dae, gan, ...   None, with the reason
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..checkpoints import LoadedModel
from ..device import model_device
from ..diffusion.likelihood import estimate_vlb
from ..latent.likelihood import elbo_bits_per_dim
from ..latent_diffusion.likelihood import flow_log_likelihood, latent_bound
from ..tokens.likelihood import DECODER_SIGMA, discretised_gaussian_bits, image_bits_per_dim

LN2 = math.log(2.0)
DDPM_TIMESTEPS = 32      # K timesteps per image for the DDPM bound (K + 2 network evaluations per image)
LATENT_TIMESTEPS = 64    # the same for the latent denoisers (cheap forwards; continuous latents' terms vary more)
LATENT_EXACT_FIRST = 8   # ... whose first terms are summed exactly (a continuous latent's terms fall only as 1/t)
FLOW_STEPS = 20          # Heun steps of the flow's ODE (40 forwards and backwards per image)
FLOW_BATCH = 8           # latents integrated together (each keeps its own probe)
# the costly rules read only the first this-many images (0.7 to 5 s per image for the pixel DDPM at K = 32 on one
# CPU thread, 0.4 s for text2img and for the flow's ODE); `how` says so
SUBSET = {"ddpm": 32, "text2img": 64, "sit": 64}
DECODER = f"decoder: discretised Gaussian over 256 levels, sigma {DECODER_SIGMA} in [-1, 1] units"

Progress = Callable[[int, int], None]
StopCheck = Callable[[], bool]

NO_LIKELIHOOD = {
    "ae": "none: an autoencoder has no prior over its codes, so no density of images",
    "dae": "none: a denoising autoencoder maps images to images; it defines no density",
    "gan": "none: a GAN's generator has no tractable density (an implicit model)",
}


def as_model_images(images, device: torch.device) -> torch.Tensor:
    """Images as float (B, 3, H, W) in [-1, 1]: from uint8 (B, 3, H, W) or (B, H, W, 3), or floats in [-1, 1]."""
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    if x.dtype == torch.uint8:
        if x.ndim == 4 and x.shape[-1] == 3 and x.shape[1] != 3:
            x = x.permute(0, 3, 1, 2)
        x = x.float() / 127.5 - 1.0
    return x.float().contiguous().to(device)


def bits_per_dim(loaded: LoadedModel, images, progress: Progress | None = None,
                 should_stop: StopCheck | None = None) -> tuple[float | None, str]:
    """Mean bits per dimension of `images` under `loaded`'s model, and how (or why there is none).

    `progress(done, total)` is called as the work advances; when `should_stop()` turns true the
    result is (None, "stopped")."""
    family = loaded.family
    if family in NO_LIKELIHOOD:
        return None, NO_LIKELIHOOD[family]
    rule = RULES.get(family)
    if rule is None:
        return None, f"none: no likelihood rule for the {family} family (not a generative model of images here)"
    model = loaded.model
    x = as_model_images(images, model_device(model))
    return rule(loaded, x, progress, should_stop)


def _decoder(x: torch.Tensor) -> str:
    """The shared decoder's statement, with what a perfect reconstruction of these images would cost under it."""
    floor = float((discretised_gaussian_bits(x.cpu(), x.cpu(), DECODER_SIGMA) / x[0].numel()).mean())
    return f"{DECODER}: a perfect reconstruction costs {floor:.2f} bits/dim"


def _vae(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    if not loaded.model.config.variational:
        return None, NO_LIKELIHOOD["ae"]
    bits = elbo_bits_per_dim(loaded.model, x, samples=4, seed=0)
    return float(bits.total.mean()), (
        f"negative ELBO, an upper bound = reconstruction {float(bits.reconstruction_bits_per_dim.mean()):.3f} + KL "
        f"{float(bits.kl_bits_per_dim.mean()):.3f} (4 draws of z per image, {len(x)} images; {_decoder(x)})")


def _dalle(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    bits = image_bits_per_dim(loaded.model, x, "")
    return float(bits.total.mean()), (
        f"exact NLL of the VQ tokens under the prior (empty prompt) {float(bits.token_bits_per_dim.mean()):.3f} + the "
        f"decoder term {float(bits.decoder_bits_per_dim.mean()):.3f}, an upper bound ({len(x)} images; {_decoder(x)})")


@torch.no_grad()
def _vqvae(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    usage = (loaded.meta.extra or {}).get("codebook_usage")
    model = loaded.model
    if not isinstance(usage, list) or len(usage) != model.codebook_size:
        return None, "none: the checkpoint stores no code usage, so it has no prior over its tokens"
    counts = torch.tensor(usage, dtype=torch.float64) + 1.0  # add-one: a code never seen still costs finite bits
    log_p = counts.log() - counts.sum().log()
    tokens = model.encode_indices(x)
    dims = x[0].numel()
    token_bits = -log_p[tokens.cpu()].flatten(1).sum(dim=1) / LN2 / dims
    decoder_bits = discretised_gaussian_bits(x.cpu(), model.decode_indices(tokens).cpu(), DECODER_SIGMA).double() / dims
    return float((token_bits + decoder_bits).mean()), (
        f"the tokens' code length under the unigram usage stored in the checkpoint (+1 per code) "
        f"{float(token_bits.mean()):.3f} + the decoder term {float(decoder_bits.mean()):.3f}, an upper bound "
        f"({len(x)} images; {_decoder(x)})")


def _eps_function(loaded: LoadedModel) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    model = loaded.model
    if loaded.family == "text2img":
        return lambda x, t: model(x, t, cond=model.embed(None, len(x)).to(x.device))
    return lambda x, t: model(x, t)  # latent denoisers: no cond is the null prompt


def _subset(loaded: LoadedModel, x: torch.Tensor) -> tuple[torch.Tensor, str]:
    n = SUBSET.get(loaded.family, len(x))
    return (x[:n], f"on the first {n} of {len(x)} images (costly on a CPU)") if n < len(x) else (x, f"on {len(x)} images")


def _ddpm(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    x, which = _subset(loaded, x)
    estimate = estimate_vlb(_eps_function(loaded), loaded.model.noise_schedule.betas, x, samples=DDPM_TIMESTEPS,
                            progress=progress, should_stop=should_stop)
    if estimate is None:
        return None, "stopped"
    value, error = estimate.mean_bits_per_dim()
    prompt = ", null prompt" if loaded.family == "text2img" else ""
    return value, (f"variational bound L_vlb (Ho et al. eq. 5{prompt}), an upper bound: the T = "
                   f"{len(loaded.model.noise_schedule.betas)} terms: L_0 (a discretised Gaussian of the model's std) and L_T-1 "
                   f"exact, the others from K = {DDPM_TIMESTEPS} timesteps per image drawn half uniformly, half by SNR drop "
                   f"(importance-weighted), ±{error:.3f} (standard error of the timestep sampling); posterior "
                   f"variance beta-tilde, x0 clipped; {which}")


def _latent_ddpm(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    fn, betas = _eps_function(loaded), loaded.model.noise_schedule.betas
    errors = []

    def log_density(latents: torch.Tensor) -> torch.Tensor | None:
        estimate = estimate_vlb(fn, betas, latents, samples=LATENT_TIMESTEPS, clip=False, decoder="continuous",
                                exact_first=LATENT_EXACT_FIRST,
                                progress=progress, should_stop=should_stop)
        if estimate is None:
            return None
        errors.append(estimate.mean_bits_per_dim()[1] * estimate.dims / x[0].numel())
        return -estimate.total

    bound = latent_bound(loaded.model, x, log_density)
    if bound is None:
        return None, "stopped"
    return float(bound.total.mean()), (
        f"ELBO through the autoencoder-kl (one z ~ q(z|x)) = decoder {float(bound.decoder_bits_per_dim.mean()):.3f} + "
        f"latent {float(bound.latent_bits_per_dim.mean()):.3f}, the latent's −log p bounded by its DDPM L_vlb (first "
        f"{LATENT_EXACT_FIRST} and last terms exact + K = {LATENT_TIMESTEPS} timesteps, importance-weighted, ±{errors[0]:.3f}; null prompt; continuous "
        f"L_0): an upper bound, estimated ({len(x)} images; {_decoder(x)})")


def _sit(loaded: LoadedModel, x: torch.Tensor, progress, should_stop):
    model = loaded.model
    subset, which = _subset(loaded, x)
    intervals = model.noise_schedule.intervals

    def log_density(latents: torch.Tensor) -> torch.Tensor | None:
        values = []
        for start in range(0, len(latents), FLOW_BATCH):
            value = flow_log_likelihood(lambda z, t: model(z, t), latents[start:start + FLOW_BATCH], steps=FLOW_STEPS,
                                        solver="heun", intervals=intervals, seed=start, should_stop=should_stop)
            if value is None:
                return None
            values.append(value)
            if progress is not None:
                progress(min(start + FLOW_BATCH, len(latents)), len(latents))
        return torch.cat(values)

    bound = latent_bound(model, subset, log_density)
    if bound is None:
        return None, "stopped"
    return float(bound.total.mean()), (
        f"ELBO through the autoencoder-kl (one z ~ q(z|x)) = decoder {float(bound.decoder_bits_per_dim.mean()):.3f} + "
        f"latent {float(bound.latent_bits_per_dim.mean()):.3f}, the latent's log-density by the probability-flow ODE "
        f"(Heun, {FLOW_STEPS} steps, Hutchinson trace, fixed seed, null prompt): an estimate of a bound, {which} "
        f"({_decoder(subset)})")


RULES = {
    "vae": _vae, "dalle": _dalle, "vqvae": _vqvae, "vqgan": _vqvae,
    "ddpm": _ddpm, "text2img": _ddpm, "ldm": _latent_ddpm, "dit": _latent_ddpm, "sit": _sit,
}
