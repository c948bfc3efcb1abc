"""Training the noisy attribute classifier: cross-entropy on x_t ~ q(x_t | x_0) for uniform t.

As in "Diffusion Models Beat GANs" (Dhariwal & Nichol 2021, section 4), the classifier
sees images at every noise level the sampler will show it; at large t it can only be
unsure, which is what makes its gradient there small and harmless.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.nn import functional as F

from .. import distributed
from ..models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainingTask

# validation accuracy is reported per band of t (the classifier is near chance at the noisy end)
T_BANDS = ((0, 250), (250, 500), (500, 750), (750, 1000))


class NoisyClassifierTask(TrainingTask):
    def __init__(self, config: NoisyClassifierConfig):
        self.model_config = config
        self.family = "noisy-classifier"
        self.model = NoisyAttributeClassifier(config)
        self.schedule = self.model.noise_schedule

    def noisy_batch(self, x0: torch.Tensor, t: torch.Tensor | None = None,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        n = distributed.global_rows(x0.shape[0])  # under torchrun: the global batch's draws, this process's rows
        if t is None:
            t = distributed.my_rows(torch.randint(0, self.schedule.num_train_timesteps, (n,), generator=generator))
        noise = distributed.my_rows(torch.randn((n, *x0.shape[1:]), generator=generator)).to(x0.device)
        t = t.to(x0.device)
        return self.schedule.add_noise(x0, noise, t), t

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        x_t, t = self.noisy_batch(batch.x)
        logits = self.model(x_t, t)
        losses = [F.cross_entropy(l.float(), batch.labels[:, k]) for k, l in enumerate(logits)]
        loss = torch.stack(losses).sum()
        accuracy = torch.stack([(l.argmax(1) == batch.labels[:, k]).float().mean() for k, l in enumerate(logits)]).mean()
        return loss, {"loss": loss.item(), "accuracy": accuracy.item()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Accuracy per attribute in each band of t, on the same noise every time (seeded)."""
        generator = torch.Generator().manual_seed(1234)
        T = self.schedule.num_train_timesteps
        metrics: dict[str, float] = {}
        for low, high in T_BANDS:
            low, high = low * T // 1000, high * T // 1000
            t = torch.randint(low, high, (len(validation.x),), generator=generator)
            x_t, t = self.noisy_batch(validation.x, t, generator)
            logits = model(x_t, t)
            for k, (name, l) in enumerate(zip(self.model_config.attribute_names, logits)):
                metrics[f"val_accuracy_{name}_t{low}-{high}"] = (l.argmax(1) == validation.labels[:, k]).float().mean().item()
        return metrics


# --- how `playground train` (and the Train panel) builds this task ---


def _noisy_classifier_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", default="32,64,64", help="channels per resolution level")
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine",
                        help="the noise schedule of the diffusion models it will guide")


def _noisy_classifier_task(args: argparse.Namespace) -> TrainingTask:
    if args.data != "shapes":
        raise ValueError("the noisy classifier reads shapes attributes: use --data shapes")
    return NoisyClassifierTask(NoisyClassifierConfig(
        channels=int_list(args.channels), schedule=args.schedule,
    ))


RECIPE = TrainRecipe(_noisy_classifier_arguments, _noisy_classifier_task,
                     {"batch_size": 128, "lr": 2e-3, "precision": "bf16", "ema_decay": 0.999})
