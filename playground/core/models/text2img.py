"""Text-conditioned diffusion for shapes prompts, trained for classifier-free guidance.

The prompt goes through a small transformer over its tokens; the mean of its outputs is
a pooled embedding added to the U-Net's time embedding. A pooled vector (rather than
cross-attention) because every shapes attribute is global to the image: one vector says
it all, and it costs nothing per pixel, which matters on a CPU. A learned null embedding
stands for "no prompt" (Ho & Salimans 2022): training swaps it in for a share of the
batch, and guidance contrasts the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.tokenizer import MAX_TOKENS, PAD, VOCAB_SIZE
from .diffusion_model import DDPMConfig, DiffusionModel


@dataclass(frozen=True)
class Text2ImgConfig(DDPMConfig):
    text_dim: int = 64
    text_layers: int = 2
    text_heads: int = 4
    cond_dim: int = 64
    condition_dropout: float = 0.15  # share of training items that see the null embedding


class PromptEncoder(nn.Module):
    """Token ids (B, MAX_TOKENS) to a pooled prompt embedding (B, cond_dim)."""

    def __init__(self, config: Text2ImgConfig):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB_SIZE, config.text_dim, padding_idx=PAD)
        self.positions = nn.Parameter(torch.zeros(MAX_TOKENS, config.text_dim))
        layer = nn.TransformerEncoderLayer(
            config.text_dim, config.text_heads, 4 * config.text_dim, dropout=0.0, batch_first=True, norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.text_layers, enable_nested_tensor=False)
        self.out = nn.Linear(config.text_dim, config.cond_dim)
        nn.init.normal_(self.positions, std=0.02)

    def sequence(self, token_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token embeddings (B, L, cond_dim) and each token's pooling weight (B, L, 1): 1 for a
        word, 0 for padding (an empty prompt pools its padding instead)."""
        padding = token_ids == PAD
        h = self.tokens(token_ids) + self.positions[: token_ids.shape[1]]
        # an empty prompt (all padding) attends to nothing: let it see its padding instead
        empty = padding.all(dim=1, keepdim=True)
        h = self.encoder(h, src_key_padding_mask=padding & ~empty)
        return self.out(h), (~padding | empty).float().unsqueeze(-1)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        tokens, weights = self.sequence(token_ids)
        return (tokens * weights).sum(1) / weights.sum(1)


class TextToImageModel(DiffusionModel):
    """eps_theta(x_t, t, c) with c a pooled prompt embedding, or the learned null embedding."""

    def __init__(self, config: Text2ImgConfig):
        super().__init__(config)
        self.prompt_encoder = PromptEncoder(config)
        self.null_embedding = nn.Parameter(torch.zeros(config.cond_dim))
        nn.init.normal_(self.null_embedding, std=0.02)

    def embed(self, token_ids: torch.Tensor | None, batch: int | None = None) -> torch.Tensor:
        """Prompt embeddings; None (or an empty prompt row of all padding) gives the null embedding."""
        if token_ids is None:
            return self.null_embedding.expand(batch or 1, -1)
        emb = self.prompt_encoder(token_ids)
        empty = (token_ids == PAD).all(dim=1, keepdim=True)
        return torch.where(empty, self.null_embedding.expand_as(emb), emb)
