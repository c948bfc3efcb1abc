"""Zero-shot reading of images' attributes, one record per image: the value read and every value's
probability, per attribute (what `playground clip classify` prints and the Zero-shot tab draws)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import to_tensor
from ..data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES
from ..models.clip import CLIP
from .zero_shot import attribute_text_embeddings, zero_shot_probabilities

BATCH = 256


@dataclass(frozen=True)
class AttributeReading:
    attribute: str
    probabilities: np.ndarray  # (values,) summing to 1, in ATTRIBUTE_VALUES[attribute]'s order

    @property
    def values(self) -> tuple[str, ...]:
        return ATTRIBUTE_VALUES[self.attribute]

    @property
    def index(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def value(self) -> str:
        return self.values[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])


Reading = dict[str, AttributeReading]  # attribute -> its reading


def read_attributes(model: CLIP, images: np.ndarray) -> list[Reading]:
    """Each image's (N, H, W, 3) uint8 attributes read by prompt templates, in batches."""
    text = attribute_text_embeddings(model)
    readings: list[Reading] = []
    for start in range(0, len(images), BATCH):
        x = to_tensor(images[start:start + BATCH]).to(model.logit_scale.device)
        probabilities = {a: p.cpu().numpy() for a, p in zero_shot_probabilities(model, x, text).items()}
        readings.extend({a: AttributeReading(a, probabilities[a][i]) for a in ATTRIBUTES}
                        for i in range(len(x)))
    return readings


def reading_record(name: str, reading: Reading, digits: int = 4) -> dict[str, Any]:
    """One image's reading as a JSON-ready dict: its file name, then per attribute the value and the
    probabilities of every value."""
    record: dict[str, Any] = {"file": name}
    for attribute, r in reading.items():
        record[attribute] = {"value": r.value,
                             "probabilities": {v: round(float(p), digits) for v, p in zip(r.values, r.probabilities)}}
    return record
