"""Training task for the shapes attribute classifier (the project's judge of samples)."""

from __future__ import annotations

import argparse

import torch
from torch import nn

from ..models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig, classifier_loss
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainingTask


class ClassifierTask(TrainingTask):
    def __init__(self, config: AttributeClassifierConfig):
        self.model_config = config
        self.family = "classifier"
        self.model = AttributeClassifier(config)

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        return classifier_loss(self.model, batch.x, batch.labels)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        logits = model(validation.x)
        names = self.model_config.attribute_names
        return {
            f"val_accuracy_{name}": (l.argmax(1) == validation.labels[:, k]).float().mean().item()
            for k, (name, l) in enumerate(zip(names, logits))
        }


# --- how `playground train` (and the Train panel) builds this task ---


def _classifier_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", default="16,32,64", help="channels per resolution level")


def _classifier_task(args: argparse.Namespace) -> TrainingTask:
    if args.data != "shapes":
        raise ValueError("the attribute classifier reads shapes attributes: use --data shapes")
    return ClassifierTask(AttributeClassifierConfig(channels=int_list(args.channels)))


RECIPE = TrainRecipe(_classifier_arguments, _classifier_task, {"batch_size": 128, "lr": 2e-3, "precision": "bf16"})
