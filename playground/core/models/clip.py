"""CLIP (Radford et al. 2021), small: a ViT image encoder and a transformer text encoder, contrastive.

Image: the 32x32 picture cut into patches (8x8 by default: 16 tokens, as ViT-B/32 cuts
224 px into 7x7), each linearly embedded, a learned class token in front, learned
position embeddings, pre-LN transformer blocks; the class token's output, normalised
and projected, is the image embedding (Dosovitskiy et al. 2021).

Text: the shapes tokenizer's 8 tokens behind a learned class token, attention masked to
the real words (padding is invisible), the class token's output projected: the text
embedding. The empty prompt is the class token alone.

Both embeddings are L2-normalised; their cosine similarity times a learned scale
exp(s) (initialised to 1 / 0.07, clamped at 100, as in the paper) are the logits of
the symmetric contrastive loss (`clip_loss`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..data.tokenizer import MAX_TOKENS, PAD, VOCAB_SIZE
from .transformer import Transformer, init_transformer_weights


@dataclass(frozen=True)
class CLIPConfig:
    image_size: int = 32
    patch_size: int = 8
    vision_width: int = 128
    vision_depth: int = 4
    vision_heads: int = 4
    text_width: int = 128
    text_depth: int = 2
    text_heads: int = 4
    text_tokens: int = MAX_TOKENS
    text_vocab: int = VOCAB_SIZE
    embed_dim: int = 64
    init_temperature: float = 0.07

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} is not divisible by patch_size {self.patch_size}")

    @property
    def family(self) -> str:
        return "clip"

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class VisionTransformer(nn.Module):
    def __init__(self, config: CLIPConfig):
        super().__init__()
        w = config.vision_width
        self.patch_embedding = nn.Conv2d(3, w, config.patch_size, stride=config.patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, w))
        self.position = nn.Parameter(torch.zeros(1, 1 + config.patches, w))
        self.transformer = Transformer(w, config.vision_depth, config.vision_heads)
        self.norm = nn.LayerNorm(w)
        self.projection = nn.Linear(w, config.embed_dim, bias=False)
        init_transformer_weights(self)
        nn.init.normal_(self.position, 0.0, 0.02)
        nn.init.normal_(self.class_token, 0.0, 0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] -> unnormalised embeddings (B, embed_dim)."""
        x = self.patch_embedding(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(len(x), -1, -1), x], dim=1) + self.position
        return self.projection(self.norm(self.transformer(x)[:, 0]))


class TextTransformer(nn.Module):
    def __init__(self, config: CLIPConfig):
        super().__init__()
        w = config.text_width
        self.token_embedding = nn.Embedding(config.text_vocab, w)
        self.class_token = nn.Parameter(torch.zeros(1, 1, w))
        self.position = nn.Parameter(torch.zeros(1, 1 + config.text_tokens, w))
        self.transformer = Transformer(w, config.text_depth, config.text_heads)
        self.norm = nn.LayerNorm(w)
        self.projection = nn.Linear(w, config.embed_dim, bias=False)
        init_transformer_weights(self)
        nn.init.normal_(self.position, 0.0, 0.02)
        nn.init.normal_(self.class_token, 0.0, 0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prompt tokens (B, 8) -> unnormalised embeddings (B, embed_dim)."""
        x = torch.cat([self.class_token.expand(len(tokens), -1, -1), self.token_embedding(tokens)], dim=1)
        padding = torch.cat([torch.zeros_like(tokens[:, :1], dtype=torch.bool), tokens == PAD], dim=1)
        h = self.transformer(x + self.position, key_padding=padding)
        return self.projection(self.norm(h[:, 0]))


class CLIP(nn.Module):
    def __init__(self, config: CLIPConfig):
        super().__init__()
        self.config = config
        self.visual = VisionTransformer(config)
        self.text = TextTransformer(config)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings (B, D)."""
        return F.normalize(self.visual(images).float(), dim=-1)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised text embeddings (B, D)."""
        return F.normalize(self.text(tokens).float(), dim=-1)

    @property
    def scale(self) -> torch.Tensor:
        """exp(s), clamped at 100 (the paper's clamp, so training stays stable)."""
        return self.logit_scale.exp().clamp(max=100.0)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B_images, B_texts): scaled cosine similarities."""
        return self.scale * self.encode_image(images) @ self.encode_text(tokens).t()


def clip_loss(logits: torch.Tensor, matches: torch.Tensor | None = None) -> torch.Tensor:
    """The symmetric contrastive loss: (CE over texts for each image + CE over images for each text) / 2.

    With `matches` (B, B) bool (image i fits caption j), the target of each row and column
    is spread evenly over every caption (image) that fits, not just the diagonal: a partial
    caption such as "red" fits every red image in the batch, and calling those negatives
    would teach the model that "red" is not red. Without it, the targets are the diagonal
    (the paper's loss).
    """
    if matches is None:
        target = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
    m = matches.float()
    image_to_text = -(m / m.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1).mean()
    text_to_image = -(m / m.sum(0, keepdim=True) * F.log_softmax(logits, dim=0)).sum(0).mean()
    return (image_to_text + text_to_image) / 2
