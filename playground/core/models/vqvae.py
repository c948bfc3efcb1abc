"""VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning").

An encoder maps a 32x32 image to a grid of vectors (8x8 with two downsampling levels);
each vector is replaced by its nearest codebook entry, and the decoder paints the image
back from the grid of codes. The image is thus a small grid of integers (tokens) that
the GUI can edit cell by cell.

The codebook is learned by exponential moving averages of the encoder outputs assigned
to each code (paper appendix A.1) rather than by gradient, and codes nobody uses are
restarted on random encoder outputs (Dhariwal et al. 2020, Jukebox, section 3.2):
without both, most of the codebook dies early and stays dead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .. import distributed
from .blocks import ConvDecoder, ConvEncoder


@dataclass(frozen=True)
class VQVAEConfig:
    codebook_size: int = 128
    code_dim: int = 32
    channels: tuple[int, ...] = (32, 64)  # one resolution level (and one halving) per entry
    image_size: int = 32
    commitment_cost: float = 0.25  # beta in eq. 3 of the paper
    codebook_decay: float = 0.99  # gamma of the EMA codebook update (appendix A.1)
    dead_code_threshold: float = 1.0  # restart a code whose EMA usage per step falls below this

    @property
    def family(self) -> str:
        return "vqvae"

    @property
    def grid_size(self) -> int:
        """Token grid side: the image side halved once per channel level (32 -> 8 for two levels)."""
        return self.image_size // 2 ** len(self.channels)


@dataclass
class Quantized:
    """What the quantizer returns for a batch of encoder outputs."""

    z_q: torch.Tensor  # (B, D, h, w) codes, with the straight-through gradient to z_e
    indices: torch.Tensor  # (B, h, w) int64 token grid
    commitment_loss: torch.Tensor  # ||z_e - sg(e)||^2, mean over elements


class VectorQuantizer(nn.Module):
    """Nearest-neighbour lookup into a codebook kept up to date by EMA, with dead-code restarts.

    Everything the codebook learns lives in buffers (`codebook`, `ema_cluster_size`,
    `ema_embed_sum`), so it is saved and loaded with the weights and never touched by the
    optimizer.
    """

    def __init__(self, codebook_size: int, code_dim: int, decay: float = 0.99,
                 dead_code_threshold: float = 1.0, epsilon: float = 1e-5):
        super().__init__()
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.decay = decay
        self.dead_code_threshold = dead_code_threshold
        self.epsilon = epsilon
        codebook = torch.randn(codebook_size, code_dim)
        self.register_buffer("codebook", codebook)
        self.register_buffer("ema_cluster_size", torch.zeros(codebook_size))
        self.register_buffer("ema_embed_sum", codebook.clone())

    def nearest_codes(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of z (N, D), by squared Euclidean distance.

        ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2, computed as one matrix product.
        """
        z = z.float()
        distances = (
            z.pow(2).sum(1, keepdim=True) - 2.0 * z @ self.codebook.t() + self.codebook.pow(2).sum(1)[None, :]
        )
        return distances.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Token grid (B, h, w) to code vectors (B, D, h, w): the decoder's input."""
        return F.embedding(indices, self.codebook).permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor) -> Quantized:
        """Quantize encoder outputs (B, D, h, w); distances in fp32 even under autocast."""
        with torch.autocast(device_type=z_e.device.type, enabled=False):
            z_e = z_e.float()
            b, d, h, w = z_e.shape
            flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
            indices = self.nearest_codes(flat).reshape(b, h, w)
            z_q = self.lookup(indices)
            commitment_loss = F.mse_loss(z_e, z_q.detach())
            # Straight-through estimator (paper section 3.1): forward uses z_q, backward copies
            # the decoder's gradient onto z_e unchanged.
            z_q = z_e + (z_q - z_e).detach()
        return Quantized(z_q=z_q, indices=indices, commitment_loss=commitment_loss)

    @torch.no_grad()
    def update_codebook(self, z_e: torch.Tensor, indices: torch.Tensor) -> int:
        """One EMA step of the codebook (appendix A.1, eqs. 6-8), then restart dead codes.

        N_i <- g N_i + (1-g) n_i;  m_i <- g m_i + (1-g) sum_j z_j;  e_i = m_i / N_i, with
        Laplace smoothing of N_i so a rarely used code never divides by zero. Returns the
        number of codes restarted.
        """
        flat = z_e.detach().float().permute(0, 2, 3, 1).reshape(-1, self.code_dim)
        idx = indices.reshape(-1)
        counts = torch.bincount(idx, minlength=self.codebook_size).to(flat.dtype)
        sums = torch.zeros_like(self.ema_embed_sum).index_add_(0, idx, flat)
        # under torchrun: the global batch's statistics (and its encoder outputs for restarts), so
        # every process keeps the codebook one process on the whole batch would
        if distributed.sharding():
            distributed.all_reduce_sum_([counts, sums])
        flat = distributed.gather_rows(flat)
        self.ema_cluster_size.lerp_(counts, 1.0 - self.decay)
        self.ema_embed_sum.lerp_(sums, 1.0 - self.decay)
        total = self.ema_cluster_size.sum()
        smoothed = (self.ema_cluster_size + self.epsilon) / (total + self.codebook_size * self.epsilon) * total
        self.codebook.copy_(self.ema_embed_sum / smoothed[:, None])
        return self.restart_dead_codes(flat)

    @torch.no_grad()
    def restart_dead_codes(self, flat_z: torch.Tensor) -> int:
        """Move each code used less than `dead_code_threshold` times per step (EMA) onto a random
        encoder output from the batch, so it competes again (Jukebox, section 3.2)."""
        dead = (self.ema_cluster_size < self.dead_code_threshold).nonzero().flatten()
        if dead.numel() == 0:
            return 0
        pick = torch.randint(0, flat_z.shape[0], (dead.numel(),), device=flat_z.device)
        fresh = flat_z[pick]
        size = max(self.dead_code_threshold, 1.0)
        self.codebook[dead] = fresh
        self.ema_embed_sum[dead] = fresh * size
        self.ema_cluster_size[dead] = size
        return int(dead.numel())


class VQVAE(nn.Module):
    """Encoder (shared ConvEncoder) -> 1x1 conv to code_dim -> VectorQuantizer -> 1x1 conv -> ConvDecoder."""

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        levels = len(config.channels)
        if config.image_size % 2**levels:
            raise ValueError(f"image_size {config.image_size} is not divisible by 2**{levels}")
        self.encoder = ConvEncoder(3, config.channels, downsamples=levels)
        self.to_code = nn.Conv2d(self.encoder.out_channels, config.code_dim, 1)
        self.quantizer = VectorQuantizer(
            config.codebook_size, config.code_dim, config.codebook_decay, config.dead_code_threshold,
        )
        self.decoder = ConvDecoder(3, config.channels, upsamples=levels)
        self.from_code = nn.Conv2d(config.code_dim, self.decoder.in_channels, 1)

    @property
    def grid_size(self) -> int:
        return self.config.grid_size

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] to continuous encoder outputs z_e (B, D, h, w)."""
        return self.to_code(self.encoder(x))

    def encode_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Images to token grids (B, h, w) of int64 code indices."""
        return self.quantizer(self.encode(x)).indices

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Code vectors (B, D, h, w) to images in [-1, 1]."""
        return self.decoder(self.from_code(z_q))

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Token grids (B, h, w) to images in [-1, 1]."""
        return self.decode(self.quantizer.lookup(indices))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Quantized]:
        """(reconstruction, z_e, quantized) for a batch of images."""
        z_e = self.encode(x)
        quantized = self.quantizer(z_e)
        return self.decode(quantized.z_q), z_e, quantized


def vqvae_loss(model: VQVAE, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float], torch.Tensor, Quantized]:
    """Eq. 3 without its codebook term (the EMA update replaces it): ||x - x_hat||^2 + beta ||z_e - sg(e)||^2.

    Returns (loss, metrics, z_e, quantized); the caller feeds z_e and the indices to the
    codebook's EMA update after the optimizer step.
    """
    recon, z_e, quantized = model(x)
    mse = (recon.float() - x).pow(2).mean()
    loss = mse + model.config.commitment_cost * quantized.commitment_loss
    metrics = {"loss": loss.item(), "mse": mse.item(), "commitment": quantized.commitment_loss.item()}
    return loss, metrics, z_e, quantized
