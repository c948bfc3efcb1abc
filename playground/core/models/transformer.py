"""The plain pre-LayerNorm transformer block (GPT-2 / ViT style) shared by dalle and clip.

One block: x + attn(LN(x)), then x + MLP(LN(x)) with a 4x GELU MLP. Attention may be
causal, may take a key padding mask, may keep its weights for the attention views, and
may carry a key-value cache for token-by-token generation: `KVCache` holds each
block's keys and values of the positions already written, so writing one more token
costs one position's work instead of the whole sequence's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class KVCache:
    """Keys and values per block, (B, heads, T_so_far, head_dim), grown one token at a time."""

    keys: list[torch.Tensor | None] = field(default_factory=list)
    values: list[torch.Tensor | None] = field(default_factory=list)

    @property
    def length(self) -> int:
        return 0 if not self.keys or self.keys[0] is None else int(self.keys[0].shape[2])

    def select(self, index: torch.Tensor) -> "KVCache":
        """The cache of the batch rows `index` (for branching and for dropping finished rows)."""
        return KVCache([k[index] for k in self.keys], [v[index] for v in self.values])

    def truncate(self, length: int) -> "KVCache":
        """The cache of the first `length` positions (to rewrite the tokens after them)."""
        return KVCache([k[:, :, :length] for k in self.keys], [v[:, :, :length] for v in self.values])


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.keep_attention = False
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, causal: bool = False, key_padding: torch.Tensor | None = None,
                cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C). With a cache, x holds the new positions only: they attend to the
        cached positions and to each other (causally), and their keys and values join the cache."""
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        past = 0
        if cache is not None:
            while len(cache.keys) <= layer:
                cache.keys.append(None)
                cache.values.append(None)
            if cache.keys[layer] is not None:
                past = cache.keys[layer].shape[2]
                k = torch.cat([cache.keys[layer], k], dim=2)
                v = torch.cat([cache.values[layer], v], dim=2)
            cache.keys[layer], cache.values[layer] = k, v
        mask = None
        if causal:
            # position past+i sees keys 0..past+i
            mask = torch.ones(t, past + t, dtype=torch.bool, device=x.device).tril(diagonal=past)
        if key_padding is not None:  # (B, T_keys) True where the key is padding
            keep = ~key_padding[:, None, None, :]
            mask = keep if mask is None else mask & keep
        if self.keep_attention:
            scores = (q @ k.transpose(-1, -2)).float() / math.sqrt(c // self.heads)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            self.last_attention = weights.detach()
            attended = weights.to(v.dtype) @ v
        elif causal and past == 0 and key_padding is None:
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(attended.transpose(1, 2).reshape(b, t, c))


class TransformerBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, x: torch.Tensor, causal: bool = False, key_padding: torch.Tensor | None = None,
                cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), causal=causal, key_padding=key_padding, cache=cache, layer=layer)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """A stack of blocks; `cache` (with causal) makes it a token-by-token decoder."""

    def __init__(self, width: int, depth: int, heads: int):
        super().__init__()
        self.blocks = nn.ModuleList(TransformerBlock(width, heads) for _ in range(depth))

    def forward(self, x: torch.Tensor, causal: bool = False, key_padding: torch.Tensor | None = None,
                cache: KVCache | None = None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, causal=causal, key_padding=key_padding, cache=cache, layer=i)
        return x


def init_transformer_weights(module: nn.Module, std: float = 0.02) -> None:
    """GPT-2's initialisation: normal(0, 0.02) for linear and embedding weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
