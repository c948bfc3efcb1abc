"""`dit` and `sit`: a diffusion transformer on the latent (Peebles & Xie 2023), and its flow twin (Ma et al. 2024).

The 8x8x4 latent is cut into patches (2x2 by default: 16 tokens), each linearly embedded,
with fixed 2D sine-cosine positions. Every block is self-attention and an MLP whose
LayerNorms are modulated by the condition (adaLN-Zero: scale, shift and a gate per
sublayer regressed from the timestep plus the pooled prompt, the gates initialised to
zero so each block starts as the identity), then cross-attention to the prompt's token
embeddings (as PixArt-alpha adds). A final adaLN layer maps each token back to its patch.

`dit` predicts the noise on a DDPM schedule; `sit` is the same network predicting the
velocity of the linear interpolant (flow matching). Each attention module can keep its
last attention weights (`keep_attention`), which the attention views read.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import TimeEmbedding, multi_head_attention
from .latent_denoiser import LatentDenoiser, LatentDenoiserConfig


@dataclass(frozen=True)
class DiTConfig(LatentDenoiserConfig):
    patch_size: int = 2
    hidden: int = 128
    depth: int = 8
    heads: int = 4
    mlp_ratio: float = 4.0
    cross_attention: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        if self.latent_size % self.patch_size:
            raise ValueError(f"patch size {self.patch_size} does not divide the latent side {self.latent_size}")

    @property
    def family(self) -> str:
        return "dit"

    @property
    def grid(self) -> int:
        """Tokens per side."""
        return self.latent_size // self.patch_size


@dataclass(frozen=True)
class SiTConfig(DiTConfig):
    prediction: str = "velocity"
    schedule: str = "flow"

    @property
    def family(self) -> str:
        return "sit"


class Attention(nn.Module):
    """Multi-head attention of x over itself or a context; keeps its weights when `keep_attention`."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(context_dim or dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.keep_attention = False
        self.last_attention: torch.Tensor | None = None  # (B, heads, queries, keys)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        k, v = self.to_kv(x if context is None else context).chunk(2, dim=-1)
        return self.out(multi_head_attention(self, self.to_q(x), k, v))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    def __init__(self, config: DiTConfig):
        super().__init__()
        d = config.hidden
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(d, config.heads)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        hidden = int(d * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d))
        self.cross = Attention(d, config.heads, context_dim=config.cond_dim) if config.cross_attention else None
        self.cross_norm = nn.LayerNorm(d, eps=1e-6) if config.cross_attention else None
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        # adaLN-Zero: every block starts as the identity (the gates at zero; the cross-attention's
        # output projection at zero, as PixArt-alpha initialises it)
        zeroed = [self.ada[1]] + ([self.cross.out] if self.cross is not None else [])
        for layer in zeroed:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(c).chunk(6, dim=1)
        x = x + gate1[:, None] * self.attn(modulate(self.norm1(x), shift1, scale1))
        if self.cross is not None:
            x = x + self.cross(self.cross_norm(x), context)
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


def sincos_positions(grid: int, dim: int) -> torch.Tensor:
    """Fixed 2D sine-cosine position embeddings (grid * grid, dim), row-major as the patches."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")

    def embed(pos: torch.Tensor) -> torch.Tensor:
        angles = pos.flatten()[:, None] * omega[None]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)

    emb = torch.cat([embed(ys), embed(xs)], dim=1)
    return F.pad(emb, (0, dim - emb.shape[1])).float()


class DiT(LatentDenoiser):
    def __init__(self, config: DiTConfig):
        super().__init__(config)
        d, p, c = config.hidden, config.patch_size, config.latent_channels
        self.patch_embed = nn.Conv2d(c, d, p, stride=p)
        self.register_buffer("positions", sincos_positions(config.grid, d), persistent=False)
        self.time_embed = TimeEmbedding(d, d)
        self.cond_embed = nn.Sequential(nn.Linear(config.cond_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList([DiTBlock(config) for _ in range(config.depth)])
        self.final_norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.final = nn.Linear(d, p * p * c)
        for layer in (self.final_ada[1], self.final):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, pooled: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        config = self.config
        g, p, ch = config.grid, config.patch_size, config.latent_channels
        h = self.patch_embed(x).flatten(2).transpose(1, 2) + self.positions.to(x.dtype)
        c = self.time_embed(t) + self.cond_embed(pooled)
        for block in self.blocks:
            h = block(h, c, context)
        shift, scale = self.final_ada(c).chunk(2, dim=1)
        out = self.final(modulate(self.final_norm(h), shift, scale))          # (B, g*g, p*p*C)
        out = out.reshape(-1, g, g, p, p, ch).permute(0, 5, 1, 3, 2, 4)      # (B, C, g, p, g, p)
        return out.reshape(-1, ch, g * p, g * p)

    def attention_modules(self, kind: str = "self") -> list[Attention]:
        """Each block's self- (or cross-) attention, first block first."""
        return [block.attn if kind == "self" else block.cross for block in self.blocks
                if (block.attn if kind == "self" else block.cross) is not None]
