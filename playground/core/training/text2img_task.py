"""Training the text-to-image model for classifier-free guidance (Ho & Salimans 2022, Alg. 1)."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from torch import nn

from .. import checks, distributed
from ..models.text2img import Text2ImgConfig, TextToImageModel
from ..data.tokenizer import tokenize_batch, prompts_from_labels
from .ddpm_task import DDPMTask, _ddpm_arguments
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainingTask


class Text2ImgTask(DDPMTask):
    """`max_noise_weight` above 1 weights each item's eps error by min(1 / alpha-bar_t, max):
    the v-prediction loss written for an eps model (||v - v^||^2 = ||eps - eps^||^2 / alpha-bar_t),
    truncated. The plain eps loss is the x0 error weighted by the signal-to-noise ratio, so
    it hardly counts the noisy steps where only the prompt can say where and what the shape
    is; the weighting leaves the optimal predictor unchanged and moves the gradient there.
    """

    def __init__(self, config: Text2ImgConfig, seed: int = 0, max_noise_weight: float = 1.0):
        if max_noise_weight < 1.0:
            raise ValueError(f"max_noise_weight must be at least 1 (1: the plain eps loss), not {max_noise_weight}")
        self.model_config = config
        self.family = "text2img"
        self.model = TextToImageModel(config)
        self.schedule = self.model.noise_schedule
        self.rng = np.random.default_rng(seed)
        self.max_noise_weight = max_noise_weight

    def conditions(self, labels: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Pooled embeddings: partial prompts from the labels, and the null embedding for a share."""
        every = distributed.gather_rows(labels)  # under torchrun: drawn for the global batch, this process's rows
        tokens = tokenize_batch(prompts_from_labels(every.cpu().numpy(), rng)).to(labels.device)
        dropped = torch.from_numpy(rng.random(len(every)) < self.model_config.condition_dropout).to(labels.device)
        tokens, dropped = distributed.my_rows(tokens), distributed.my_rows(dropped)
        emb = self.model.embed(tokens)
        return torch.where(dropped[:, None], self.model.null_embedding.expand_as(emb), emb)

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        x_t, t, noise = self.noisy_batch(batch.x)
        cond = self.conditions(batch.labels, self.rng)
        eps_mse = (self.model(x_t, t, cond=cond).float() - noise).pow(2).mean(dim=(1, 2, 3))
        if self.max_noise_weight == 1.0:
            loss = eps_mse.mean()
            return loss, {"loss": loss.item()}
        alpha_bar = self.schedule.alphas_cumprod.to(eps_mse.device)[t].float()
        loss = (eps_mse * (1.0 / alpha_bar).clamp(max=self.max_noise_weight)).mean()
        # the weighted loss is not comparable across weightings; the plain eps error is
        return loss, {"loss": loss.item(), "eps_mse": eps_mse.mean().item()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        generator = torch.Generator().manual_seed(1234)
        x0, labels = validation.x[:512], validation.labels[:512]
        x_t, t, noise = self.noisy_batch(x0, generator)
        full = model.embed(tokenize_batch(prompts_from_labels(labels.cpu().numpy(), np.random.default_rng(0), 1.0)).to(x0.device))
        null = model.embed(None, len(x0))
        return {
            "val_eps_mse_prompt": (model(x_t, t, cond=full).float() - noise).pow(2).mean().item(),
            "val_eps_mse_null": (model(x_t, t, cond=null).float() - noise).pow(2).mean().item(),
        }


# --- how `playground train` (and the Train panel) builds this task ---


def _text2img_arguments(parser: argparse.ArgumentParser) -> None:
    _ddpm_arguments(parser)
    parser.add_argument("--coord-channels", choices=("on", "off"), default="off",
                        help="feed pixel coordinates to the U-Net, so prompts can place a shape")
    parser.add_argument("--layout-channels", type=checks.IntRange(0, 256), default=0,
                        help="channels of the coarse map the prompt paints at the U-Net's input (0: none)")
    parser.add_argument("--layout-size", type=checks.IntRange(1, 32), default=8,
                        help="that map's side in cells (8: 4-pixel cells, 16: fine enough to draw a shape's outline)")
    parser.add_argument("--max-noise-weight", type=checks.FloatRange(1.0, 1000.0), default=1.0,
                        help="weight noisy steps by min(1/alpha-bar, this): where the prompt matters (1: plain eps loss)")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from an unconditional ddpm checkpoint with the same U-Net (e.g. assets/ddpm-shapes), "
                             "or from a text2img one with a coarser layout map")


def _text2img_task(args: argparse.Namespace) -> TrainingTask:
    if args.data != "shapes":
        raise ValueError("text-to-image trains on captioned data: use --data shapes")
    task = Text2ImgTask(Text2ImgConfig(
        schedule=args.schedule, base_channels=args.base_channels,
        channel_mults=int_list(args.channel_mults),
        coord_channels=args.coord_channels == "on", layout_channels=args.layout_channels,
        layout_size=args.layout_size,
    ), seed=args.seed, max_noise_weight=args.max_noise_weight)
    if args.init_from:  # a resumed run then loads its own weights over these
        from .warm_start import warm_start

        start = warm_start(task.model, args.init_from)
        print(f"warm start from {start.source}: {start.copied} tensors copied, {start.widened} widened, "
              f"{start.new} new", file=sys.stderr)
    return task


RECIPE = TrainRecipe(_text2img_arguments, _text2img_task,
                     {"batch_size": 64, "lr": 5e-4, "precision": "bf16", "ema_decay": 0.999})
