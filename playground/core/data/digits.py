"""scikit-learn's bundled 8x8 handwritten digits, upscaled to the models' 32x32 RGB."""

from __future__ import annotations

import numpy as np
from PIL import Image


def load_digits_images(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as (N, size, size, 3) uint8 white-on-black images, and their labels.

    The 8x8 originals (values 0..16) are upscaled bicubically so strokes stay smooth.
    """
    from sklearn.datasets import load_digits  # bundled with the package: no download

    digits = load_digits()
    small = np.clip(digits.images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    images = np.stack([
        np.asarray(Image.fromarray(img, "L").resize((size, size), Image.BICUBIC))
        for img in small
    ])
    rgb = np.repeat(images[..., None], 3, axis=-1)
    return rgb, digits.target.astype(np.int64)
