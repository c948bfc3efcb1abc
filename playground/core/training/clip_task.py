"""Training clip: the symmetric contrastive loss on images and their full or partial captions.

A quarter of each batch gets its full caption, the rest a partial one (each attribute
kept with `keep_probability`, at least one kept), so single words ("red", "circle",
"at the top left") are in the training distribution: zero-shot reading asks with them.
Since "red" fits every red image of the batch, the targets are all the captions an image
fits (and all the images a caption fits), read from the labels (`clip_loss`).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checks, distributed
from ..data.shapes import Prompt
from ..data.tokenizer import tokenize_batch
from ..models.clip import CLIP, CLIPConfig, clip_loss
from .loop import Batch, TrainingTask
from .recipe import TrainRecipe


def training_prompts(labels: np.ndarray, rng: np.random.Generator, keep: float, full_share: float = 0.25
                     ) -> list[Prompt]:
    """Full captions for `full_share` of the items; the rest keep each attribute with `keep` (at least one)."""
    n, k = labels.shape
    mask = rng.random((n, k)) < keep
    mask[rng.random(n) < full_share] = True
    empty = ~mask.any(1)
    mask[empty, rng.integers(0, k, int(empty.sum()))] = True
    return [Prompt(*[int(v) if m else None for v, m in zip(row, keep_row)]) for row, keep_row in zip(labels, mask)]


def prompt_matches(prompts: list[Prompt], labels: torch.Tensor) -> torch.Tensor:
    """(B_images, B_prompts) bool: image i has every attribute prompt j names."""
    values = torch.tensor([[-1 if v is None else v for v in p.labels] for p in prompts], device=labels.device)
    named = values >= 0
    agree = (labels[:, None, :] == values[None, :, :]) | ~named[None, :, :]
    return agree.all(-1)


class CLIPTask(TrainingTask):
    def __init__(self, config: CLIPConfig, keep_probability: float = 0.5, seed: int = 0):
        self.model_config = config
        self.family = config.family
        self.model = CLIP(config)
        self.keep = keep_probability
        self.rng = np.random.default_rng(seed)

    def _loss(self, model: CLIP, x: torch.Tensor, labels: torch.Tensor, rng: np.random.Generator
              ) -> tuple[torch.Tensor, torch.Tensor]:
        prompts = training_prompts(labels.cpu().numpy(), rng, self.keep)
        logits = model(x, tokenize_batch(prompts).to(x.device)).float()
        return clip_loss(logits, prompt_matches(prompts, labels)), logits

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        if distributed.sharding():
            loss = self._global_loss(batch)
        else:
            loss, _ = self._loss(self.model, batch.x, batch.labels, self.rng)
        return loss, {"loss": loss.item(), "temperature": 1.0 / self.model.scale.item()}

    def _global_loss(self, batch: Batch) -> torch.Tensor:
        """Under torchrun: the loss of the whole global batch, each image against every caption of
        every process (a contrastive loss over each process's shard alone would see fewer
        negatives). The captions are drawn for the gathered labels as one process draws them;
        the image embeddings are gathered with their gradients."""
        model, x = self.model, batch.x
        labels = distributed.all_gather_cat(batch.labels)
        prompts = training_prompts(labels.cpu().numpy(), self.rng, self.keep)
        images = distributed.gather_with_grad(model.encode_image(x))
        logits = (model.scale * images @ model.encode_text(tokenize_batch(prompts).to(x.device)).t()).float()
        return clip_loss(logits, prompt_matches(prompts, labels))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Validation loss, and zero-shot accuracy of each attribute on the held-out images."""
        from ..clip.zero_shot import zero_shot_accuracy

        x, labels = validation.x[:512], validation.labels[:512]
        loss, _ = self._loss(model, x, labels, np.random.default_rng(0))
        return {"val_loss": loss.item(), **zero_shot_accuracy(model, x, labels)}

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        return {"temperature": round(1.0 / model.scale.item(), 5)}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patch-size", type=checks.IntRange(1, 32), default=8, help="ViT patch side in pixels")
    parser.add_argument("--width", type=checks.IntRange(16, 2048), default=128, help="width of both encoders")
    parser.add_argument("--vision-depth", type=checks.IntRange(1, 48), default=4, help="ViT blocks")
    parser.add_argument("--text-depth", type=checks.IntRange(1, 48), default=2, help="text transformer blocks")
    parser.add_argument("--embed-dim", type=checks.IntRange(2, 2048), default=64, help="joint embedding size")
    parser.add_argument("--keep-probability", type=checks.FloatRange(0.0, 1.0), default=0.5,
                        help="chance each attribute stays in a partial caption")


def _task(args: argparse.Namespace) -> TrainingTask:
    if args.data != "shapes":
        raise ValueError("clip trains on captioned data: use --data shapes")
    config = CLIPConfig(patch_size=args.patch_size, vision_width=args.width, text_width=args.width,
                        vision_depth=args.vision_depth, text_depth=args.text_depth, embed_dim=args.embed_dim)
    return CLIPTask(config, keep_probability=args.keep_probability, seed=args.seed)


RECIPE = TrainRecipe(_arguments, _task, {"batch_size": 128, "lr": 1e-3, "precision": "bf16", "ema_decay": 0.999,
                                         "warmup_steps": 200, "weight_decay": 0.05})
