"""DALL-E (Ramesh et al. 2021), small: one decoder-only transformer over [prompt ; image tokens].

The image is the token grid of a VQ model (a `vqvae` or `vqgan`), read in raster order;
the prompt is the shapes tokenizer's 8 tokens (padded). The stream is

    [t_1 .. t_8 ; c_1 .. c_64]

and the transformer, with causal attention, predicts each image token from everything
before it: p(c) = prod_i p(c_i | prompt, c_<i). The output at the last prompt position
predicts c_1, the output at c_i predicts c_{i+1}. Prompt and image tokens have their own
embedding tables and one learned position embedding runs over the whole stream.

Trained on captions with attributes dropped at random and the empty prompt (all padding)
among them, the same network is a prompt-conditioned model and an unconditional
PixelCNN-style prior, which is what classifier-free guidance on the logits needs.

The VQ model the tokens belong to lives inside the checkpoint (`vq.*`, frozen), so one
file turns tokens into pixels and one hash names the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.tokenizer import MAX_TOKENS, PAD, VOCAB_SIZE
from .transformer import KVCache, Transformer, init_transformer_weights
from .vqgan import vq_state_dict
from .vqvae import VQVAE, VQVAEConfig


@dataclass(frozen=True)
class DalleConfig:
    # the VQ model whose tokens this transformer writes (its weights live in this checkpoint)
    vq_family: str = "vqvae"
    codebook_size: int = 128
    code_dim: int = 32
    vq_channels: tuple[int, ...] = (32, 64)
    image_size: int = 32
    # the transformer
    width: int = 192
    depth: int = 6
    heads: int = 6
    text_tokens: int = MAX_TOKENS
    text_vocab: int = VOCAB_SIZE
    # training prompts: each attribute kept with keep_probability; condition_dropout of them empty
    keep_probability: float = 0.7
    condition_dropout: float = 0.15

    @property
    def family(self) -> str:
        return "dalle"

    @property
    def grid_size(self) -> int:
        return self.image_size // 2 ** len(self.vq_channels)

    @property
    def image_tokens(self) -> int:
        return self.grid_size ** 2

    def vq_config(self) -> VQVAEConfig:
        return VQVAEConfig(codebook_size=self.codebook_size, code_dim=self.code_dim,
                           channels=tuple(self.vq_channels), image_size=self.image_size)


class Dalle(nn.Module):
    def __init__(self, config: DalleConfig):
        super().__init__()
        self.config = config
        self.vq = VQVAE(config.vq_config()).requires_grad_(False)
        w = config.width
        self.text_embedding = nn.Embedding(config.text_vocab, w)
        self.image_embedding = nn.Embedding(config.codebook_size, w)
        self.position = nn.Parameter(torch.zeros(1, config.text_tokens + config.image_tokens, w))
        self.transformer = Transformer(w, config.depth, config.heads)
        self.norm = nn.LayerNorm(w)
        self.head = nn.Linear(w, config.codebook_size)
        init_transformer_weights(self.transformer)
        for m in (self.text_embedding, self.image_embedding, self.head):
            init_transformer_weights(m)
        nn.init.normal_(self.position, 0.0, 0.02)

    # --- the VQ stage ---

    def load_vq(self, vq: VQVAE) -> None:
        if vq.config.codebook_size != self.config.codebook_size or vq.config.grid_size != self.config.grid_size:
            raise ValueError("the VQ model does not match this transformer's codebook or grid")
        self.vq.load_state_dict(vq_state_dict(vq))

    def train(self, mode: bool = True) -> "Dalle":
        super().train(mode)
        self.vq.eval()  # frozen: its codebook never moves
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] to token sequences (B, grid*grid) in raster order."""
        return self.vq.encode_indices(images).flatten(1)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token sequences (B, grid*grid) (or grids) to images in [-1, 1]."""
        g = self.config.grid_size
        return self.vq.decode_indices(tokens.reshape(-1, g, g))

    def null_text(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """The empty prompt: all padding."""
        return torch.full((batch, self.config.text_tokens), PAD, dtype=torch.int64, device=device)

    # --- the transformer ---

    def _embed(self, text: torch.Tensor | None, image: torch.Tensor | None, start: int) -> torch.Tensor:
        parts = []
        if text is not None:
            parts.append(self.text_embedding(text))
        if image is not None:
            parts.append(self.image_embedding(image))
        x = torch.cat(parts, dim=1)
        return x + self.position[:, start:start + x.shape[1]]

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(h))

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, N, K) for every image token, N = grid*grid.

        text (B, 8) prompt tokens; image (B, N) the image tokens (only the first N - 1 are read).
        """
        x = self._embed(text, image[:, :-1], 0)
        h = self.transformer(x, causal=True)
        return self._logits(h[:, self.config.text_tokens - 1:])

    def start(self, text: torch.Tensor, prefix: torch.Tensor | None = None) -> tuple[torch.Tensor, KVCache]:
        """Read the prompt (and any image tokens already chosen) into a fresh cache.

        Returns the logits (B, K) of the next image token and the cache.
        """
        cache = KVCache()
        x = self._embed(text, prefix if prefix is not None and prefix.shape[1] else None, 0)
        h = self.transformer(x, causal=True, cache=cache)
        return self._logits(h[:, -1]), cache

    def step(self, token: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Append one image token (B,) to the cache; the logits (B, K) of the token after it."""
        position = cache.length
        x = self.image_embedding(token[:, None]) + self.position[:, position:position + 1]
        h = self.transformer(x, causal=True, cache=cache)
        return self._logits(h[:, -1])

    preview_kind = "samples for fixed prompts"

    @torch.no_grad()
    def preview_images(self, n: int, seed: int) -> torch.Tensor:
        """One sample (guidance 3) for each of n fixed full captions: the Train tab's live preview."""
        from ..data.shapes import caption_for
        from ..tokens.sampling import TokenSettings, sample_tokens

        rng = np.random.default_rng(seed)
        labels = np.stack([rng.integers(0, k, n) for k in (4, 6, 2, 9)], axis=1)
        settings = TokenSettings(guidance=3.0)
        tokens = torch.cat([sample_tokens(self, caption_for(row), settings, 1, seed + i) for i, row in enumerate(labels)])
        return self.decode(tokens.to(self.head.weight.device))

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("vq.")]
