"""Model families by name: the only way a checkpoint's JSON chooses a class.

A plain dict, never an import path read from a file, so a checkpoint cannot make the
loader import or run anything it names.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn


@dataclass(frozen=True)
class Family:
    name: str
    config_class: type
    build: Callable[[Any], nn.Module]
    description: str


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> None:
    FAMILIES[family.name] = family


def get_family(name: str) -> Family:
    _load_builtin_families()
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(sorted(FAMILIES))}") from None


_builtins_lock = threading.Lock()
_builtins_loaded = False


def _load_builtin_families() -> None:
    """Register the built-in families once. Under a lock: the GUI's panels load checkpoints from
    several worker threads at once, and a thread must not see a half-filled registry."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _builtins_lock:
        if not _builtins_loaded:
            _register_builtin_families()
            _builtins_loaded = True


def _register_builtin_families() -> None:
    from .vae import VAE, VAEConfig

    register(Family("vae", VAEConfig, VAE, "variational autoencoder"))
    register(Family("ae", VAEConfig, VAE, "plain autoencoder (same architecture, no KL)"))

    from .dae import DAEConfig

    register(Family("dae", DAEConfig, VAE, "denoising and masking autoencoder (the AE's network, corrupted inputs)"))

    from .attribute_classifier import AttributeClassifier, AttributeClassifierConfig

    register(Family("classifier", AttributeClassifierConfig, AttributeClassifier, "shapes attribute classifier"))

    from .diffusion_model import DDPMConfig, DiffusionModel

    register(Family("ddpm", DDPMConfig, DiffusionModel, "denoising diffusion model (U-Net + noise schedule)"))

    from .text2img import Text2ImgConfig, TextToImageModel

    register(Family("text2img", Text2ImgConfig, TextToImageModel, "prompt-conditioned diffusion (classifier-free guidance)"))

    from .noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig

    register(Family("noisy-classifier", NoisyClassifierConfig, NoisyAttributeClassifier,
                    "shapes attributes from noisy x_t (classifier guidance)"))

    from .vqvae import VQVAE, VQVAEConfig

    register(Family("vqvae", VQVAEConfig, VQVAE, "vector-quantised autoencoder (token grid + EMA codebook)"))

    from .gan import GAN, GANConfig

    register(Family("gan", GANConfig, GAN, "DCGAN-style generator + spectral-norm discriminator (hinge loss)"))

    from .autoencoder_kl import AutoencoderKL, AutoencoderKLConfig

    register(Family("autoencoder-kl", AutoencoderKLConfig, AutoencoderKL, "latent diffusion's first stage: 32x32x3 to an 8x8x4 latent (KL-regularised)"))

    from .ldm import LDM, LDMConfig

    register(Family("ldm", LDMConfig, LDM, "latent diffusion: a U-Net on the autoencoder-kl latent, prompted by cross-attention"))

    from .dit import DiT, DiTConfig, SiTConfig

    register(Family("dit", DiTConfig, DiT, "diffusion transformer on the latent (adaLN-Zero, cross-attention to the prompt)"))
    register(Family("sit", SiTConfig, DiT, "the DiT trained as a flow (velocity of the linear interpolant)"))

    from .dalle import Dalle, DalleConfig

    register(Family("dalle", DalleConfig, Dalle, "decoder-only transformer over [prompt ; VQ image tokens] (DALL-E)"))

    from .clip import CLIP, CLIPConfig

    register(Family("clip", CLIPConfig, CLIP, "contrastive text-image model: a small ViT and a text transformer"))

    from .vqgan import VQGAN, VQGANConfig

    register(Family("vqgan", VQGANConfig, VQGAN, "VQ autoencoder trained with a patch discriminator and a perceptual loss"))
