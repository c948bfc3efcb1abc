"""Building blocks shared by every network here (VAE, AE, VQ-VAE, U-Net, GAN).

Written once so that a fix or a speed-up reaches every model at the same time.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 8 groups (works for any channel count divisible by a power of 2)."""
    groups = math.gcd(8, channels)
    return nn.GroupNorm(groups, channels)


class ResBlock(nn.Module):
    """Pre-activation residual block (GroupNorm, SiLU, 3x3 conv) x 2.

    With `time_dim`, a time (or condition) embedding is projected and added between the
    two convolutions, as in the DDPM U-Net (Ho et al. 2020, appendix B).
    """

    def __init__(self, in_ch: int, out_ch: int, time_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_proj = nn.Linear(time_dim, out_ch) if time_dim else None
        self.norm2 = group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_proj is not None and temb is not None:
            h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.skip(x)


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 3x3 convolution."""

    def __init__(self, in_ch: int, out_ch: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch or in_ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour upsampling then a 3x3 convolution (no checkerboard)."""

    def __init__(self, in_ch: int, out_ch: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch or in_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual connection.

    With `context_dim`, it attends to a context sequence instead (cross-attention), which
    text conditioning uses. With `keep_attention` set, it computes the softmax itself and
    keeps the weights in `last_attention` (B, heads, queries = h * w, keys) for the attention
    views; otherwise it runs the fused SDPA kernel.
    """

    def __init__(self, channels: int, heads: int = 4, context_dim: int | None = None):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.to_q = nn.Conv2d(channels, channels, 1)
        kv_in = context_dim or channels
        self.to_kv = nn.Linear(kv_in, 2 * channels)
        self.out = nn.Conv2d(channels, channels, 1)
        self.keep_attention = False
        self.last_attention: torch.Tensor | None = None  # (B, heads, queries, keys)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        normed = self.norm(x)
        q = self.to_q(normed).flatten(2).transpose(1, 2)  # (b, hw, c)
        source = context if context is not None else normed.flatten(2).transpose(1, 2)
        k, v = self.to_kv(source).chunk(2, dim=-1)
        attended = multi_head_attention(self, q, k, v)
        return x + self.out(attended.transpose(1, 2).reshape(b, c, h, w))


def multi_head_attention(module: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Attention of q (B, Nq, C) over k, v (B, Nk, C) with `module.heads` heads -> (B, Nq, C).

    With `module.keep_attention` set, the softmax is computed here and its weights kept in
    `module.last_attention` (B, heads, Nq, Nk) for the attention views; otherwise the fused
    SDPA kernel runs.
    """
    b, c, heads = q.shape[0], q.shape[2], module.heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(b, t.shape[1], heads, c // heads).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    if module.keep_attention:
        weights = torch.softmax((q @ k.transpose(-1, -2)).float() / math.sqrt(c // heads), dim=-1)
        module.last_attention = weights.detach()
        attended = weights.to(v.dtype) @ v
    else:
        attended = F.scaled_dot_product_attention(q, k, v)
    return attended.transpose(1, 2).reshape(b, q.shape[2], c)


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Transformer sinusoidal embedding of (possibly fractional) timesteps t: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class TimeEmbedding(nn.Module):
    """Sinusoidal features followed by a two-layer MLP, the usual diffusion time embedding."""

    def __init__(self, base_dim: int, out_dim: int):
        super().__init__()
        self.base_dim = base_dim
        self.mlp = nn.Sequential(nn.Linear(base_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.base_dim))


class ConvEncoder(nn.Module):
    """Image to feature map: stem conv, then (ResBlock, Downsample) per level.

    Used by the VAE/AE (which then flattens to a vector) and the VQ-VAE (which keeps the grid).
    """

    def __init__(self, in_ch: int, channels: tuple[int, ...], downsamples: int):
        super().__init__()
        self.stem = nn.Conv2d(in_ch, channels[0], 3, padding=1)
        layers: list[nn.Module] = []
        ch = channels[0]
        for level, out_ch in enumerate(channels):
            layers.append(ResBlock(ch, out_ch))
            ch = out_ch
            if level < downsamples:
                layers.append(Downsample(ch))
        self.body = nn.Sequential(*layers)
        self.out_norm = group_norm(ch)
        self.out_channels = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.out_norm(self.body(self.stem(x))))


class ConvDecoder(nn.Module):
    """Feature map to image: mirror of ConvEncoder, ending in tanh so pixels lie in [-1, 1]."""

    def __init__(self, out_ch: int, channels: tuple[int, ...], upsamples: int):
        super().__init__()
        rev = tuple(reversed(channels))
        layers: list[nn.Module] = []
        ch = rev[0]
        for level, next_ch in enumerate(rev):
            layers.append(ResBlock(ch, next_ch))
            ch = next_ch
            if level < upsamples:
                layers.append(Upsample(ch))
        self.body = nn.Sequential(*layers)
        self.out_norm = group_norm(ch)
        self.head = nn.Conv2d(ch, out_ch, 3, padding=1)
        self.in_channels = rev[0]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(F.silu(self.out_norm(self.body(h)))))
