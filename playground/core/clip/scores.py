"""CLIP scores: how well images fit prompts, as cosine similarities of the two embeddings.

`clip_score` is the paper's similarity (cosine, in [-1, 1]); `similarity_matrix` is the
figure of the CLIP paper (images against texts); `prompt_embeddings` tokenizes by the
shapes language (a bad word raises PromptError naming it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..data.shapes import Prompt
from ..data.tokenizer import tokenize_batch
from ..models.clip import CLIP


def _device(model: CLIP) -> torch.device:
    return model.logit_scale.device


@torch.no_grad()
def prompt_embeddings(model: CLIP, prompts: Sequence[str | Prompt]) -> torch.Tensor:
    """(P, D) normalised text embeddings."""
    return model.encode_text(tokenize_batch(list(prompts)).to(_device(model)))


@torch.no_grad()
def image_embeddings(model: CLIP, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(B, D) normalised image embeddings of images (B, 3, H, W) in [-1, 1], in chunks."""
    device = _device(model)
    return torch.cat([model.encode_image(images[i:i + batch].to(device)) for i in range(0, len(images), batch)])


@torch.no_grad()
def similarity_matrix(model: CLIP, images: torch.Tensor, prompts: Sequence[str | Prompt]) -> torch.Tensor:
    """(B, P) cosine similarities of every image with every prompt."""
    return image_embeddings(model, images) @ prompt_embeddings(model, prompts).t()


@torch.no_grad()
def clip_score(model: CLIP, images: torch.Tensor, prompt: str | Prompt) -> torch.Tensor:
    """(B,) cosine similarity of each image with the one prompt."""
    return similarity_matrix(model, images, [prompt])[:, 0]


def differentiable_score(model: CLIP, images: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """(B,) cosine similarity with a fixed normalised text embedding (D,), with gradients to the images
    (for VQGAN-CLIP and CLIP guidance)."""
    return model.encode_image(images) @ text.to(images.device)
