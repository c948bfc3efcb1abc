"""Training task for the GAN: alternating discriminator and generator steps with two optimizers.

Adam with beta1 = 0 and the two-time-scale rule (D learns faster than G; Heusel et al.
2017, as in SAGAN), one D step per G step: with spectral norm, more D steps buy little.
"""

from __future__ import annotations

import argparse

from typing import Any, Callable, Literal

import torch
from torch import nn

from .. import checks
from ..distributed import shard_randn
from ..models.gan import (
    GAN, GANConfig, discriminator_hinge_loss, discriminator_logistic_loss, generator_hinge_loss,
    generator_nonsaturating_loss,
)
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainConfig, TrainingTask

GANLoss = Literal["hinge", "ns"]
# (discriminator loss, generator loss) by --loss name
GAN_LOSSES = {"hinge": (discriminator_hinge_loss, generator_hinge_loss),
              "ns": (discriminator_logistic_loss, generator_nonsaturating_loss)}
# the shipped recipe's: at 40000 steps they gave 57% clean shapes where hinge without R1 gave 42%
DEFAULT_LOSS: GANLoss = "ns"
DEFAULT_R1_GAMMA = 1.0
R1_EVERY = 16  # lazy R1: the penalty every 16 D steps, weighted 16x
BETAS = (0.0, 0.9)
DISCRIMINATOR_LR_RATIO = 2.0  # lr_D = 2 * lr_G  (the --lr flag sets lr_G)


class GANTask(TrainingTask):
    # which metrics the live view plots together
    metric_groups = {"losses": ("d_loss", "g_loss"), "D output (real vs fake)": ("d_real", "d_fake"),
                     "R1 penalty (real images)": ("r1",)}

    def __init__(self, config: GANConfig, loss: GANLoss = DEFAULT_LOSS, r1_gamma: float = DEFAULT_R1_GAMMA):
        """`loss` "ns" is the non-saturating logistic loss (Goodfellow et al. 2014, StyleGAN's);
        `r1_gamma` > 0 adds the R1 penalty gamma/2 E||grad_x D(x)||^2 on real images (Mescheder
        et al. 2018), lazily: every R1_EVERY steps, scaled by R1_EVERY (Karras et al. 2020)."""
        if loss not in GAN_LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; known: {', '.join(GAN_LOSSES)}")
        if r1_gamma < 0:
            raise ValueError(f"r1_gamma must be >= 0, not {r1_gamma}")
        self.model_config = config
        self.family = "gan"
        self.model = GAN(config)
        self.discriminator_loss, self.generator_loss = GAN_LOSSES[loss]
        self.r1_gamma = r1_gamma
        self.steps_done = 0

    def make_optimizers(self, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {
            "generator": torch.optim.Adam(self.model.generator.parameters(), lr=config.lr, betas=BETAS),
            "discriminator": torch.optim.Adam(
                self.model.discriminator.parameters(), lr=config.lr * DISCRIMINATOR_LR_RATIO, betas=BETAS),
        }

    def train_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], config: TrainConfig,
        autocast: Callable[[], Any],
    ) -> dict[str, float]:
        """One discriminator step on (real, fresh fake), then one generator step on new noise."""
        generator, discriminator = self.model.generator, self.model.discriminator
        n = batch.x.shape[0]
        # noise as one process on the global batch draws it (under torchrun: this process's slice)
        z = shard_randn(n, self.model_config.latent_dim, device=batch.x.device)

        with autocast():
            with torch.no_grad():
                fake = generator(z)
            scores = discriminator(torch.cat([batch.x, fake.to(batch.x.dtype)])).float()
            real_scores, fake_scores = scores[:n], scores[n:]
            d_loss = self.discriminator_loss(real_scores, fake_scores)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        r1 = self._r1_penalty(batch.x) if self.r1_gamma > 0 and self.steps_done % R1_EVERY == 0 else None
        if r1 is not None:
            (self.r1_gamma / 2 * R1_EVERY * r1).backward()
        optimizers["discriminator"].step()
        self.steps_done += 1

        discriminator.requires_grad_(False)  # G's step needs D's input gradient, not its weight gradients
        try:
            z = shard_randn(n, self.model_config.latent_dim, device=batch.x.device)
            with autocast():
                g_loss = self.generator_loss(discriminator(generator(z)).float())
            optimizers["generator"].zero_grad(set_to_none=True)
            g_loss.backward()
            optimizers["generator"].step()
        finally:
            discriminator.requires_grad_(True)

        metrics = {
            "d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": real_scores.detach().mean().item(), "d_fake": fake_scores.detach().mean().item(),
        }
        if r1 is not None:
            metrics["r1"] = r1.item()
        return metrics

    def _r1_penalty(self, real: torch.Tensor) -> torch.Tensor:
        """E ||grad_x D(x)||^2 on real images, in float32 (a second backward through D)."""
        x = real.detach().float().requires_grad_(True)
        (grad,) = torch.autograd.grad(self.model.discriminator(x).sum(), x, create_graph=True)
        return grad.pow(2).sum(dim=(1, 2, 3)).mean()

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """D's mean score on held-out real images and on fresh samples, and the samples' spread.

        `val_d_real` far above the training `d_real` would mean D memorised its training set;
        `sample_std` (per-pixel std over samples) near 0 would mean G collapsed to one image.
        """
        x = validation.x[:512]
        generator = torch.Generator().manual_seed(1234)
        z = torch.randn(len(x), self.model_config.latent_dim, generator=generator).to(x.device)
        fake = model.generator(z)
        return {
            "val_d_real": model.discriminator(x).mean().item(),
            "val_d_fake": model.discriminator(fake).mean().item(),
            "sample_std": fake.std(dim=0).mean().item(),
        }


# --- how `playground train` (and the Train panel) builds this task ---


def _gan_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--latent-dim", type=checks.IntRange(1, 4096), default=32)
    parser.add_argument("--channels", default="16,32,64,128",
                        help="feature widths at 32, 16, 8 and 4 pixels (both networks)")
    parser.add_argument("--d-full-res-convs", type=checks.IntRange(1, 16), default=2,
                        help="discriminator 3x3 convs at full resolution, the stem included")
    parser.add_argument("--loss", choices=tuple(GAN_LOSSES), default=DEFAULT_LOSS,
                        help="ns: the non-saturating logistic loss; or hinge")
    parser.add_argument("--r1-gamma", type=checks.FloatRange(0.0, 1000.0), default=DEFAULT_R1_GAMMA,
                        help="R1 penalty weight on real images' D gradient (0: off)")


def _gan_task(args: argparse.Namespace) -> TrainingTask:
    return GANTask(GANConfig(
        latent_dim=args.latent_dim, channels=int_list(args.channels),
        discriminator_full_res_convs=args.d_full_res_convs,
    ), loss=args.loss, r1_gamma=args.r1_gamma)


# --lr is the generator's; the discriminator learns 2x faster. No clipping: SN bounds D.
RECIPE = TrainRecipe(
    _gan_arguments, _gan_task,
    {"batch_size": 32, "lr": 2e-4, "precision": "bf16", "ema_decay": 0.999, "grad_clip": None},
    sizes={"small": ("--channels", "8,16,32,64"), "medium": ("--channels", "16,32,64,128"),
           "large": ("--channels", "32,64,128,256")},
)
