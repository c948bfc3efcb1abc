"""Training task for the shapes attribute classifier (the project's judge of samples)."""

from __future__ import annotations

import torch
from torch import nn

from ..models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig, classifier_loss
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
