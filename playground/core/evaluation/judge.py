"""Judging generated shapes images: is each one a clean single shape, and which one?

A sample counts as *clean* when (1) the attribute classifier (trained on clean renders
only) is confident about all four attributes, and (2) its pixels are ones the renderer
could have drawn: every pixel lies near the segment from the background colour to the
image's one shape colour (anti-aliased edges are blends along that segment). Blends of
two colours, ghost shapes and noise fail (2) even when the classifier is overconfident.

Both tests are lenient about geometry: a round blob that the classifier calls a square
passes. So the report also says how many clean samples are *drawn as rendered*: the
image's coverage (each pixel's place on that colour segment) differs from the best of
the 27 jittered renders of its predicted labels by at most RENDER_MISMATCH of the
shape's area. Real renders score below 0.002; 0.3 is where, by eye, samples stop
looking like their label (small shapes, all edge, are the first to fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..data import to_tensor
from ..device import model_device
from ..data.shapes import (
    ATTRIBUTES, BACKGROUND, COLOR_RGB, COLORS, SIZE_EXTENT, SIZES, ShapeSpec, position_centre, shape_coverage,
)

CONFIDENCE = 0.9
PIXEL_TOLERANCE = 40.0  # RGB distance from the background-to-colour segment
DIRTY_FRACTION = 0.02   # at most this share of off-segment pixels
RENDER_MISMATCH = 0.3   # at most this share of the shape's area differs from a render of its labels
JITTER = (-1, 0, 1)     # the renderer's size and position jitter, in pixels


@dataclass
class SampleReport:
    n: int
    clean_fraction: float
    confident_fraction: float
    pixel_clean_fraction: float
    combinations_seen: int  # distinct (shape, color, size, position) among clean samples
    attribute_counts: dict[str, list[int]] = field(default_factory=dict)
    drawn_as_rendered_fraction: float = 0.0  # clean, and the shape's geometry matches a render

    def summary(self) -> str:
        return (f"{self.n} samples: {self.clean_fraction:.1%} clean single shapes "
                f"(classifier confident {self.confident_fraction:.1%}, renderer-like pixels "
                f"{self.pixel_clean_fraction:.1%}); {self.combinations_seen} of 432 attribute combinations seen; "
                f"{self.drawn_as_rendered_fraction:.1%} drawn as the renderer draws their labels")


def off_palette_fraction(images: np.ndarray) -> np.ndarray:
    """Per image, the share of pixels far from the background-to-shape-colour segment."""
    x = images.astype(np.float32).reshape(len(images), -1, 3)
    bg = np.array(BACKGROUND, np.float32)
    palette = np.array([COLOR_RGB[c] for c in COLORS], np.float32)
    # the image's shape colour: the palette colour nearest to its most saturated pixels
    far_from_bg = np.linalg.norm(x - bg, axis=-1)
    fractions = np.empty(len(images), np.float32)
    for i in range(len(images)):
        strong = x[i][far_from_bg[i] >= np.percentile(far_from_bg[i], 97)]
        colour = palette[np.argmin(np.linalg.norm(palette - strong.mean(0), axis=-1))]
        direction = colour - bg
        s = np.clip(((x[i] - bg) @ direction) / (direction @ direction), 0.0, 1.0)
        distance = np.linalg.norm(x[i] - (bg + s[:, None] * direction), axis=-1)
        fractions[i] = float((distance > PIXEL_TOLERANCE).mean())
    return fractions


@lru_cache(maxsize=None)
def _jittered_coverages(shape: int, size: int, position: int) -> np.ndarray:
    """(27, 32, 32): the coverage of every render the data set can draw for these labels."""
    gx, gy = position_centre(position)
    extent = SIZE_EXTENT[SIZES[size]]
    return np.stack([
        shape_coverage(ShapeSpec(shape, 0, size, position, gx + dx, gy + dy, extent + ds))
        for ds in JITTER for dx in JITTER for dy in JITTER
    ])


def render_mismatch(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per image, the share of its labelled shape's area drawn wrong, against the closest render.

    Coverage is read off the image along the background-to-label-colour segment; the
    error is the L1 distance to a render's coverage over that render's area.
    """
    bg = np.array(BACKGROUND, np.float32)
    mismatch = np.empty(len(images), np.float32)
    for i, (image, (shape, color, size, position)) in enumerate(zip(images.astype(np.float32), labels)):
        direction = np.array(COLOR_RGB[COLORS[color]], np.float32) - bg
        coverage = np.clip(((image - bg) @ direction) / (direction @ direction), 0.0, 1.0)
        renders = _jittered_coverages(int(shape), int(size), int(position))
        mismatch[i] = (np.abs(renders - coverage).sum(axis=(1, 2)) / renders.sum(axis=(1, 2))).min()
    return mismatch


@torch.inference_mode()
def classify(classifier: nn.Module, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Predicted labels (N, 4) and their softmax confidences (N, 4) for uint8 images."""
    device = model_device(classifier)
    labels, confidences = [], []
    for start in range(0, len(images), batch_size):
        logits = classifier(to_tensor(images[start:start + batch_size]).to(device))
        probs = [torch.softmax(l.float(), dim=1) for l in logits]
        labels.append(torch.stack([p.argmax(1) for p in probs], 1).cpu().numpy())
        confidences.append(torch.stack([p.max(1).values for p in probs], 1).cpu().numpy())
    return np.concatenate(labels), np.concatenate(confidences)


def judge_samples(images: np.ndarray, classifier: nn.Module) -> SampleReport:
    labels, confidences = classify(classifier, images)
    confident = (confidences >= CONFIDENCE).all(axis=1)
    pixel_clean = off_palette_fraction(images) <= DIRTY_FRACTION
    clean = confident & pixel_clean
    drawn_as_rendered = clean.copy()
    drawn_as_rendered[clean] = render_mismatch(images[clean], labels[clean]) <= RENDER_MISMATCH
    combos = {tuple(row) for row in labels[clean]}
    counts = {
        name: np.bincount(labels[clean][:, k], minlength=n).tolist()
        for k, (name, n) in enumerate(zip(ATTRIBUTES, (4, 6, 2, 9)))
    }
    return SampleReport(
        n=len(images), clean_fraction=float(clean.mean()), confident_fraction=float(confident.mean()),
        pixel_clean_fraction=float(pixel_clean.mean()), combinations_seen=len(combos), attribute_counts=counts,
        drawn_as_rendered_fraction=float(drawn_as_rendered.mean()),
    )
