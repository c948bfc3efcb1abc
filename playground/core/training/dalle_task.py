"""Training dalle: next-token cross-entropy over the image tokens of a frozen VQ model.

Each step encodes the batch to token grids with the VQ model, draws partial prompts from
the labels (each attribute kept with `keep_probability`) and empties `condition_dropout`
of them, so the one network learns p(image | prompt) and the unconditional prior
p(image) that classifier-free guidance on the logits and the likelihood view need.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import checks, distributed
from ..assets import default_checkpoint
from ..checkpoints import load_checkpoint
from ..data.tokenizer import prompts_from_labels, tokenize_batch
from ..models.dalle import Dalle, DalleConfig
from .latent_diffusion_task import _portable
from .loop import Batch, TrainingTask
from .recipe import TrainRecipe

VQ_FAMILIES = ("vqvae", "vqgan")


class DalleTask(TrainingTask):
    def __init__(self, config: DalleConfig, vq_checkpoint: str | Path, seed: int = 0):
        self.model_config = config
        self.family = config.family
        self.model = Dalle(config)
        loaded = load_checkpoint(vq_checkpoint, families=VQ_FAMILIES)
        self.model.load_vq(loaded.model)
        self.vq_path = _portable(Path(vq_checkpoint))
        self.rng = np.random.default_rng(seed)

    def text(self, labels: torch.Tensor, rng: np.random.Generator, keep: float | None = None,
             dropout: float | None = None) -> torch.Tensor:
        c = self.model_config
        every = distributed.gather_rows(labels)  # under torchrun: drawn for the global batch, this process's rows
        tokens = tokenize_batch(prompts_from_labels(every.cpu().numpy(), rng,
                                                    c.keep_probability if keep is None else keep))
        share = c.condition_dropout if dropout is None else dropout
        dropped = torch.from_numpy(rng.random(len(every)) < share)
        tokens[dropped] = self.model.null_text(int(dropped.sum()))
        return distributed.my_rows(tokens).to(labels.device)

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.autocast(device_type=batch.x.device.type, enabled=False):
            image = self.model.encode(batch.x.float())
        logits = self.model(self.text(batch.labels, self.rng), image)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), image.reshape(-1))
        return loss, {"loss": loss.item(), "bits_per_token": loss.item() / math.log(2)}

    def make_optimizers(self, config) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.AdamW(self.model.trainable_parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay, betas=(0.9, 0.95))}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Bits per image token on held-out images, with their full captions and with no prompt."""
        x, labels = validation.x[:512], validation.labels[:512]
        image = model.encode(x)
        rng = np.random.default_rng(0)
        out = {}
        for name, keep, dropout in (("full", 1.0, 0.0), ("null", 1.0, 1.0)):
            text = self.text(labels, rng, keep=keep, dropout=dropout)
            logits = model(text, image)
            nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), image.reshape(-1))
            out[f"val_bits_per_token_{name}"] = nll.item() / math.log(2)
        return out

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        return {"vq": {"checkpoint": self.vq_path, "family": self.model_config.vq_family},
                "grid_size": self.model_config.grid_size}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vq", default=None, metavar="CHECKPOINT",
                        help="the vqvae or vqgan whose tokens to model (default: the shipped vqvae)")
    parser.add_argument("--width", type=checks.IntRange(16, 2048), default=192, help="transformer width")
    parser.add_argument("--depth", type=checks.IntRange(1, 48), default=6, help="transformer blocks")
    parser.add_argument("--heads", type=checks.IntRange(1, 64), default=6, help="attention heads")
    parser.add_argument("--condition-dropout", type=checks.FloatRange(0.0, 1.0), default=0.15,
                        help="share of items trained with the empty prompt (unconditional prior, guidance)")
    parser.add_argument("--keep-probability", type=checks.FloatRange(0.0, 1.0), default=0.7,
                        help="chance each attribute stays in a training prompt")


def _task(args: argparse.Namespace) -> TrainingTask:
    if args.data != "shapes":
        raise ValueError("dalle trains on captioned data: use --data shapes")
    vq_path = args.vq or default_checkpoint("vqvae")
    vq = load_checkpoint(vq_path, families=VQ_FAMILIES)
    c = vq.config
    config = DalleConfig(vq_family=vq.family, codebook_size=c.codebook_size, code_dim=c.code_dim,
                         vq_channels=tuple(c.channels), image_size=c.image_size,
                         width=args.width, depth=args.depth, heads=args.heads,
                         keep_probability=args.keep_probability, condition_dropout=args.condition_dropout)
    return DalleTask(config, vq_path, seed=args.seed)


RECIPE = TrainRecipe(_arguments, _task, {"batch_size": 64, "lr": 6e-4, "precision": "bf16", "ema_decay": 0.999,
                                         "warmup_steps": 200, "weight_decay": 0.01})
