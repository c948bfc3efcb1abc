"""Data sets as one type: images plus named integer labels (and captions where they exist).

`load_dataset("shapes" | "digits" | PATH)` is what training, the GUI galleries and the
command line all call, so a data set means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import shapes
from .digits import load_digits_images
from .folder import ImageFileError, load_image_file, load_image_folder

__all__ = [
    "ImageSet", "load_dataset", "to_tensor", "to_uint8", "ImageFileError", "load_image_file",
    "DEFAULT_SHAPES_SIZE",
]

DEFAULT_SHAPES_SIZE = 20_000


@dataclass
class ImageSet:
    """Images (N, H, W, 3) uint8 with labels (N, K) and each label's value names."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...] = ()
    label_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    captions: list[str] | None = None

    def __len__(self) -> int:
        return len(self.images)

    def describe(self, index: int) -> str:
        """A human-readable name for one item (its caption, label or file name)."""
        if self.captions is not None:
            return self.captions[index]
        parts = []
        for k, name in enumerate(self.label_names):
            value = int(self.labels[index, k])
            values = self.label_values.get(name)
            parts.append(f"{name} {values[value] if values else value}")
        return ", ".join(parts) or f"item {index}"

    def subset(self, indices: np.ndarray | list[int]) -> "ImageSet":
        indices = np.asarray(indices)
        return ImageSet(
            name=self.name, images=self.images[indices], labels=self.labels[indices],
            label_names=self.label_names, label_values=self.label_values,
            captions=[self.captions[i] for i in indices] if self.captions is not None else None,
        )


def load_dataset(spec: str, n: int | None = None, seed: int = 0, size: int = 32) -> ImageSet:
    """Load "shapes", "digits" or a folder path.

    For shapes, n images are generated from seed (default 20,000); for digits and folders
    n, when given, keeps the first n items.
    """
    if spec == "shapes":
        if size != shapes.IMAGE_SIZE:
            raise ValueError(f"shapes images are {shapes.IMAGE_SIZE}px; a {size}px model cannot use them")
        batch = shapes.generate(n if n is not None else DEFAULT_SHAPES_SIZE, seed)
        return ImageSet(
            name="shapes", images=batch.images, labels=batch.labels,
            label_names=shapes.ATTRIBUTES, label_values=dict(shapes.ATTRIBUTE_VALUES),
            captions=batch.captions,
        )
    if spec == "digits":
        images, labels = load_digits_images(size)
        data = ImageSet(
            name="digits", images=images, labels=labels[:, None],
            label_names=("digit",), label_values={"digit": tuple(str(d) for d in range(10))},
        )
        return data.subset(np.arange(min(n, len(data)))) if n is not None else data
    path = Path(spec)
    if not path.exists():
        raise ImageFileError(f"{spec}: not 'shapes', 'digits' or an existing folder of images")
    images, names = load_image_folder(path, size)
    if n is not None:
        images, names = images[:n], names[:n]
    return ImageSet(
        name=str(path), images=images, labels=np.zeros((len(images), 0), np.int64),
        captions=names,
    )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) images to float (N, 3, H, W) in [-1, 1], the models' convention."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model output (N, 3, H, W) in [-1, 1] to C-contiguous uint8 (N, H, W, 3) for display."""
    x = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())


GALLERY_SEED = 1  # shapes trains on seed 0: a gallery drawn with seed 1 shows images no model trained on


def gallery_images(name: str, n: int = 96) -> ImageSet:
    """`n` images of a data set for a panel's gallery, none of them from the training draw
    (shapes: a draw with another seed; digits: the last `n`, which training splits off last)."""
    if name == "shapes":
        return load_dataset(name, n=n, seed=GALLERY_SEED)
    data = load_dataset(name, seed=GALLERY_SEED)
    return data.subset(np.arange(max(0, len(data) - n), len(data)))
