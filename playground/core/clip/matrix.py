"""The CLIP paper's figure: a batch of images against their own captions, cosine similarity in every cell.

A trained model lights the diagonal (each image is nearest its own caption); each image's
best caption (its row's maximum) is the zero-shot reading of the whole caption. The images
are drawn with distinct captions, so the diagonal is the one right answer of every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import ImageSet, load_dataset, to_tensor
from ..latent_diffusion.attention_picture import heat_colors
from ..models.clip import CLIP
from .scores import similarity_matrix

MAX_MATRIX = 32


@dataclass(frozen=True)
class CaptionMatrix:
    images: np.ndarray      # (N, H, W, 3) uint8
    captions: list[str]     # caption j belongs to image j
    similarity: np.ndarray  # (N images, N captions) cosine similarities
    scale: float            # the model's logit scale (1 / temperature)

    @property
    def probabilities(self) -> np.ndarray:
        """softmax over the captions of each image's scaled similarities (the loss's image-to-text side)."""
        return torch.softmax(torch.from_numpy(self.similarity) * self.scale, dim=1).numpy()

    @property
    def best_caption(self) -> np.ndarray:
        """(N,) each image's most similar caption."""
        return self.similarity.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        """Share of images whose most similar caption is their own."""
        return float((self.best_caption == np.arange(len(self.captions))).mean())


def distinct_captions(data: ImageSet, n: int) -> list[int]:
    """Indices of the first `n` items whose captions are all different."""
    seen: dict[str, int] = {}
    for i, caption in enumerate(data.captions or []):
        seen.setdefault(caption, i)
        if len(seen) == n:
            break
    return list(seen.values())


def caption_matrix(model: CLIP, n: int = 8, seed: int = 1) -> CaptionMatrix:
    """`n` shapes images (distinct captions, drawn from `seed`) against their captions."""
    if not 2 <= n <= MAX_MATRIX:
        raise ValueError(f"the matrix takes 2 to {MAX_MATRIX} images, not {n}")
    data = load_dataset("shapes", n=8 * n, seed=seed)
    picked = data.subset(distinct_captions(data, n))
    similarity = similarity_matrix(model, to_tensor(picked.images), picked.captions).cpu().numpy()
    return CaptionMatrix(picked.images, list(picked.captions), similarity, float(model.scale.item()))


def matrix_picture(matrix: CaptionMatrix, cell: int = 56) -> np.ndarray:
    """The figure as one RGB picture: images across the top, captions down the left, each cell's
    cosine in its colour; the diagonal outlined in white inside, each image's nearest caption in cyan."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(matrix.captions)
    font = ImageFont.load_default(size=max(11, cell // 4))
    left = max(int(font.getlength(c)) for c in matrix.captions) + 16
    top = cell + 8
    picture = Image.new("RGB", (left + n * cell + 8, top + n * cell + 8), (22, 23, 26))
    draw = ImageDraw.Draw(picture)
    s = matrix.similarity
    lo, hi = float(s.min()), float(s.max())
    colours = heat_colors((s - lo) / max(hi - lo, 1e-6))
    for j in range(n):  # image j's column
        thumb = Image.fromarray(matrix.images[j]).resize((cell - 6, cell - 6), Image.NEAREST)
        picture.paste(thumb, (left + j * cell + 3, 3))
    best = matrix.best_caption
    for i in range(n):  # caption i's row
        y = top + i * cell
        draw.text((left - 8, y + cell / 2), matrix.captions[i], fill=(220, 220, 220), font=font, anchor="rm")
        for j in range(n):
            x = left + j * cell
            value = s[j, i]
            draw.rectangle((x + 1, y + 1, x + cell - 2, y + cell - 2), fill=tuple(int(c) for c in colours[j, i]))
            ink = (0, 0, 0) if (value - lo) / max(hi - lo, 1e-6) > 0.6 else (235, 235, 235)
            draw.text((x + cell / 2, y + cell / 2), f"{value:.2f}", fill=ink, font=font, anchor="mm")
            if best[j] == i:
                draw.rectangle((x + 1, y + 1, x + cell - 2, y + cell - 2), outline=(80, 220, 255), width=4)
            if i == j:
                draw.rectangle((x + 6, y + 6, x + cell - 7, y + cell - 7), outline=(255, 255, 255), width=1)
    return np.asarray(picture, dtype=np.uint8).copy()
