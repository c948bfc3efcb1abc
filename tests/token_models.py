"""Tiny untrained token-family models for tests: a vqgan, a dalle over a tiny vqvae, and a clip."""

from __future__ import annotations

from pathlib import Path

import torch

from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.models.clip import CLIP, CLIPConfig
from playground.core.models.dalle import Dalle, DalleConfig
from playground.core.models.vqgan import VQGAN, VQGANConfig
from playground.core.models.vqvae import VQVAE, VQVAEConfig

VQ_FIELDS = dict(codebook_size=16, code_dim=8, channels=(8, 16))


def tiny_vqvae() -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(VQVAEConfig(**VQ_FIELDS))


def tiny_vqgan() -> VQGAN:
    torch.manual_seed(0)
    return VQGAN(VQGANConfig(**VQ_FIELDS, disc_channels=(4, 8)))


def tiny_dalle(vq: VQVAE | None = None) -> Dalle:
    """An untrained dalle (width 16, 2 blocks) over the tiny vqvae's 8x8 grid of 16 codes."""
    vq = vq or tiny_vqvae()
    c = vq.config
    torch.manual_seed(0)
    model = Dalle(DalleConfig(vq_family=c.family, codebook_size=c.codebook_size, code_dim=c.code_dim,
                              vq_channels=c.channels, image_size=c.image_size, width=16, depth=2, heads=2))
    torch.nn.init.normal_(model.head.weight, std=0.5)  # untrained, but its distributions are not uniform
    model.load_vq(vq)
    return model.eval()


def tiny_clip() -> CLIP:
    torch.manual_seed(0)
    return CLIP(CLIPConfig(patch_size=8, vision_width=16, vision_depth=1, vision_heads=2, text_width=16,
                           text_depth=1, text_heads=2, embed_dim=8)).eval()


def save_tiny_token_checkpoints(root: Path) -> dict[str, Path]:
    """<root>/<family>-tiny/ for vqgan, dalle and clip (and the vqvae the dalle reads); family -> folder."""
    folders = {}
    for family, model in (("vqgan", tiny_vqgan()), ("dalle", tiny_dalle()), ("clip", tiny_clip())):
        folders[family] = root / f"{family}-tiny"
        extra = {"grid_size": 8} if family in ("vqgan", "dalle") else {}
        save_checkpoint(folders[family] / WEIGHTS_NAME, model, model.config, family, data="shapes", steps=0,
                        extra=extra)
    return folders
