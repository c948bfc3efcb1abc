"""Zero-shot reading of an image's attributes with CLIP: one prompt per value, softmax over similarities.

For each attribute the candidate prompts name that attribute alone ("circle", "square",
...; "at the top left", ...), as the CLIP paper reads ImageNet classes with "a photo of
a {label}". The probabilities are softmax(scale * cosine) over the attribute's values.
"""

from __future__ import annotations

import torch

from ..data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES, Prompt
from ..data.tokenizer import tokenize_batch
from ..models.clip import CLIP


def attribute_prompts(attribute: str) -> list[Prompt]:
    """One single-attribute prompt per value of `attribute`, in the labels' order."""
    index = ATTRIBUTES.index(attribute)
    prompts = []
    for value in range(len(ATTRIBUTE_VALUES[attribute])):
        fields = [None] * len(ATTRIBUTES)
        fields[index] = value
        prompts.append(Prompt(*fields))
    return prompts


@torch.no_grad()
def attribute_text_embeddings(model: CLIP) -> dict[str, torch.Tensor]:
    """attribute -> (values, D) normalised text embeddings of its prompts."""
    device = model.logit_scale.device
    return {a: model.encode_text(tokenize_batch(attribute_prompts(a)).to(device)) for a in ATTRIBUTES}


@torch.no_grad()
def zero_shot_probabilities(model: CLIP, images: torch.Tensor,
                            text: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """attribute -> (B, values) probabilities for images (B, 3, H, W) in [-1, 1]."""
    text = text or attribute_text_embeddings(model)
    image = model.encode_image(images)
    return {a: torch.softmax(model.scale * image @ t.t(), dim=-1) for a, t in text.items()}


@torch.no_grad()
def zero_shot_accuracy(model: CLIP, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Share of images whose every attribute (and each attribute) is read right."""
    probabilities = zero_shot_probabilities(model, images)
    right = torch.stack([probabilities[a].argmax(-1) == labels[:, i] for i, a in enumerate(ATTRIBUTES)], dim=1)
    out = {f"zero_shot_{a}": right[:, i].float().mean().item() for i, a in enumerate(ATTRIBUTES)}
    out["zero_shot_all"] = right.all(1).float().mean().item()
    return out
