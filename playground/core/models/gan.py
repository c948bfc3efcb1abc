"""A DCGAN-style GAN for 32x32 RGB (Radford et al. 2016), stabilised for a few CPU minutes.

Stabilisers, and why these:

- **Spectral norm on every discriminator layer** (Miyato et al. 2018) bounds D's
  Lipschitz constant with one power iteration per layer and step, so D cannot run away
  from G in the first thousand steps.
- **Non-saturating logistic loss with lazy R1** (Goodfellow et al. 2014; Mescheder et al.
  2018; StyleGAN2's lazy schedule, `gan_task.py`): the R1 penalty keeps D's gradient small
  on real images, so near the data D gives G a smooth slope to follow, not a cliff. Hinge
  loss (the SNGAN/BigGAN choice, `--loss hinge --r1-gamma 0`) drew crisp colours, but
  malformed shapes: at 40000 steps 41.8% of samples were clean shapes (the classifier sure
  of 45%), against 57.2% (sure of 65.5%) with this recipe, which also reached 266 of the
  432 attribute combinations, not 139. R1 runs every 16th step: 400 steps took 114.3 s, not 113.0.
- **GroupNorm in the generator** instead of DCGAN's BatchNorm: per-sample, so decoding one
  latent on a slider gives exactly the image it gives in a batch, and the EMA weights need
  no re-estimated batch statistics.
- **Minibatch standard deviation** in the discriminator (Karras et al. 2018, section 3):
  D sees how much a small group of images varies, so a generator that hops between one
  colour at a time (the failure seen here without it: every sample red, then every one
  green, and rainbow blobs in the EMA average of those) is caught as fake.
- **EMA of the weights** (the Trainer's `--ema`): averaging smooths G's oscillation
  around the equilibrium at no training cost (Yazici et al. 2019).

The generator exposes `latent_dim` and `decode(z)` like the VAE, so every latent tool works
on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from .blocks import Downsample, Upsample, group_norm


@dataclass(frozen=True)
class GANConfig:
    """`channels` are the feature widths at each resolution, finest first: (16, 32, 64, 128)
    means 16 channels at 32x32, 32 at 16x16, 64 at 8x8 and 128 at 4x4, in both networks.

    `discriminator_full_res_convs` is how many 3x3 convs the discriminator runs at full
    resolution before its first downsample (the stem counts as one). Two (the training
    command's default) let D judge edges and corners, not only colour blobs: at 2000 steps
    it nearly tripled the clean shapes (11.6% vs 4.1%) for 10% more time per step. The
    field's own default is 1, the network of checkpoints that predate it, so they load."""

    latent_dim: int = 32
    channels: tuple[int, ...] = (16, 32, 64, 128)
    image_size: int = 32
    discriminator_full_res_convs: int = 1

    @property
    def family(self) -> str:
        return "gan"

    @property
    def levels(self) -> int:
        """Number of 2x resolution changes."""
        return len(self.channels) - 1


class Generator(nn.Module):
    """z -> 4x4 feature map (linear) -> (nearest upsample, 3x3 conv, GroupNorm, ReLU) per level -> tanh."""

    def __init__(self, config: GANConfig):
        super().__init__()
        rev = tuple(reversed(config.channels))
        self.base_size = config.image_size // 2**config.levels
        self.base_channels = rev[0]
        self.project = nn.Linear(config.latent_dim, rev[0] * self.base_size**2)
        self.project_norm = group_norm(rev[0])
        blocks = []
        for in_ch, out_ch in zip(rev, rev[1:]):
            blocks.append(nn.Sequential(Upsample(in_ch, out_ch), group_norm(out_ch), nn.ReLU()))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def early_features(self, z: torch.Tensor, layer: int = 1) -> torch.Tensor:
        """Activations after `layer` blocks (0: the projected 4x4 map), for GANSpace's PCA."""
        h = F.relu(self.project_norm(self.project(z).reshape(-1, self.base_channels, self.base_size, self.base_size)))
        for block in self.blocks[:layer]:
            h = block(h)
        return h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.early_features(z, layer=len(self.blocks))
        return torch.tanh(self.head(h))


class MinibatchStd(nn.Module):
    """Append one channel: the mean standard deviation of the features over a group of images.

    Groups are runs of `group_size` consecutive images, so the real and the fake halves of
    a concatenated batch (both multiples of the group size) never share a group.
    """

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        grouped = x.float().reshape(n // group, group, c, h, w)
        spread = (grouped.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n / group,)
        channel = spread.repeat_interleave(group).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, channel.to(x.dtype)], dim=1)


class Discriminator(nn.Module):
    """Image -> 3x3 stem (+ full-resolution 3x3 convs) -> (stride-2 conv, LeakyReLU,
    3x3 conv, LeakyReLU) per level -> minibatch std -> linear score.

    Downsampling comes first in each level to keep full-resolution work small: the
    discriminator runs on twice the batch and twice per step, so its 32x32 layers
    dominate a CPU step. Every layer carries spectral norm; no normalisation layers
    (batch statistics would mix real and fake).
    """

    def __init__(self, config: GANConfig):
        super().__init__()
        if config.discriminator_full_res_convs < 1:
            raise ValueError("discriminator_full_res_convs must be at least 1 (the stem)")
        ch = config.channels[0]
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(3, ch, 3, padding=1)), nn.LeakyReLU(0.2)]
        for _ in range(config.discriminator_full_res_convs - 1):
            layers += [spectral_norm(nn.Conv2d(ch, ch, 3, padding=1)), nn.LeakyReLU(0.2)]
        for out_ch in config.channels[1:]:
            layers += [
                _spectral_downsample(ch, out_ch), nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(out_ch, out_ch, 3, padding=1)), nn.LeakyReLU(0.2),
            ]
            ch = out_ch
        self.body = nn.Sequential(*layers)
        self.minibatch_std = MinibatchStd()
        final = config.image_size // 2**config.levels
        self.score = spectral_norm(nn.Linear((ch + 1) * final**2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One unbounded realness score per image, (N,); depends on the image's group of 4 (see MinibatchStd)."""
        return self.score(self.minibatch_std(self.body(x)).flatten(1)).squeeze(1)


def _spectral_downsample(in_ch: int, out_ch: int) -> Downsample:
    block = Downsample(in_ch, out_ch)
    block.conv = spectral_norm(block.conv)
    return block


class GAN(nn.Module):
    """Generator and discriminator in one module, so one checkpoint (and one resume state) holds both.

    Inference uses only the generator: `decode(z)` maps (N, latent_dim) noise to (N, 3, 32, 32)
    images in [-1, 1].
    """

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)


def discriminator_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017, eq. 4)."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def generator_hinge_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """L_G = -E[D(G(z))]: G raises the score of its samples."""
    return -fake_scores.mean()


def discriminator_logistic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """L_D = E[softplus(-D(x))] + E[softplus(D(G(z)))]: the logistic loss (Goodfellow et al. 2014)."""
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def generator_nonsaturating_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """L_G = E[softplus(-D(G(z)))]: the non-saturating generator loss (strong gradients while D wins)."""
    return F.softplus(-fake_scores).mean()

