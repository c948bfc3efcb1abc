"""The comparison's yardsticks, each computed the same way for every family.

- fidelity: the judge's share of clean single shapes and of shapes drawn as the renderer
  draws their labels (`evaluation.judge.judge_samples`);
- diversity: how many of the 432 (shape, colour, size, position) combinations the clean
  samples cover, and the entropy in bits of each attribute over them (log2 k when the k
  values come equally often, 0 when one value is all there is);
- memorisation: the median distance from a sample to its nearest training image (RMS per
  pixel channel in 0-255 levels, `evaluation.nearest`), beside the median distance from a
  training image to its nearest *different* one. On shapes only 11,664 distinct renders exist
  and the 19,000 training images repeat many (the nearest other one is usually a pixel-exact
  twin, at 0), so the reference skips exact twins: it is how far apart two neighbouring renders
  (a 1-pixel jitter) are. A sample nearer than that to a training image is nearer than any two
  different renders are to each other. Exact copies are counted apart (`copy_share`): fresh
  renders are mostly exact copies too, so their share is given for held-out renders beside.
"""

from __future__ import annotations

import hashlib

import numpy as np
from torch import nn

from ..evaluation.judge import SampleReport, judge_samples


def judged(images: np.ndarray, classifier: nn.Module) -> SampleReport:
    """The judge's report of the images (one pass serves fidelity and diversity)."""
    return judge_samples(images, classifier)


def fidelity(images: np.ndarray, classifier: nn.Module, report: SampleReport | None = None) -> tuple[float, float]:
    """(share of clean single shapes, share drawn as the renderer draws them)."""
    report = report or judged(images, classifier)
    return report.clean_fraction, report.drawn_as_rendered_fraction


def entropy_bits(counts: list[int] | np.ndarray) -> float:
    """Entropy in bits of the distribution the counts describe (0 for no counts)."""
    counts = np.asarray(counts, np.float64)
    if counts.sum() <= 0:
        return 0.0
    p = counts[counts > 0] / counts.sum()
    return float(max(0.0, -(p * np.log2(p)).sum()))


def diversity(images: np.ndarray, classifier: nn.Module,
              report: SampleReport | None = None) -> tuple[int, dict[str, float]]:
    """(combinations covered by the clean samples, {attribute: entropy in bits over the clean samples})."""
    report = report or judged(images, classifier)
    return report.combinations_seen, {name: entropy_bits(c) for name, c in report.attribute_counts.items()}


def nearest_training(image: np.ndarray, train_images: np.ndarray | None = None, k: int = 8, by: str = "pixels",
                     classifier: nn.Module | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k training images nearest to one image (uint8 (H, W, 3)), nearest first
    (`evaluation.nearest`; default: the shapes training split)."""
    from ..evaluation.nearest import nearest_training as search

    found = search(image, k=k, by=by, train=train_images, classifier=classifier)[0]
    return found.indices, found.distances


def nearest_distances(images: np.ndarray, train_images: np.ndarray | None = None, by: str = "pixels",
                      classifier: nn.Module | None = None) -> np.ndarray:
    """Per image, the distance to its nearest training image."""
    from ..evaluation.nearest import nearest_training as search

    if len(images) == 0:
        return np.zeros(0, np.float32)
    return np.array([f.distances[0] for f in search(images, k=1, by=by, train=train_images, classifier=classifier)],
                    np.float32)


def memorisation(images: np.ndarray, train_images: np.ndarray | None = None,
                 features: nn.Module | None = None) -> tuple[float, ...]:
    """(median distance from a sample to its nearest training image, median distance from a training
    image to its nearest other one), by pixels; with `features` (the attribute classifier) the same two
    by its features follow."""
    result: list[float] = []
    for by, classifier in (("pixels", None),) + ((("features", features),) if features is not None else ()):
        distances = nearest_distances(images, train_images, by, classifier)
        result += [float(np.median(distances)) if len(distances) else float("nan"),
                   nearest_different(train_images, by=by, classifier=classifier)]
    return tuple(result)


_REFERENCES: dict[tuple, float] = {}


def nearest_different(train_images: np.ndarray | None = None, n: int = 500, tolerance: float = 1.0, k: int = 16,
                      by: str = "pixels", classifier: nn.Module | None = None) -> float:
    """Median, over n training images (drawn with seed 0), of the distance to the nearest training image
    farther than `tolerance` (itself and its pixel-exact twins skipped)."""
    from ..evaluation.nearest import nearest_training as search, training_images

    train = training_images("shapes") if train_images is None else train_images
    key = (train.shape, hashlib.sha256(np.ascontiguousarray(train[::97]).tobytes()).hexdigest(), n, tolerance, by,
           id(classifier))
    if key not in _REFERENCES:
        pick = np.random.default_rng(0).choice(len(train), min(n, len(train)), replace=False)
        found = search(train[pick], k=min(k, len(train)), by=by, train=train, classifier=classifier)
        firsts = [next((d for d in f.distances if d > tolerance), f.distances[-1]) for f in found]
        _REFERENCES[key] = float(np.median(firsts))
    return _REFERENCES[key]


def copy_share(distances: np.ndarray, tolerance: float = 1.0) -> float:
    """Share of samples within `tolerance` (RMS levels per channel) of a training image: copies, or renders
    the training set happens to hold (on shapes, most fresh renders are in it)."""
    return float(np.mean(np.asarray(distances) <= tolerance)) if len(distances) else 0.0


def sharpness_ratio(images: np.ndarray, reference: np.ndarray) -> float:
    """The samples' sharpness (`codebook.sharpness`: mean gradient magnitude) over that of real renders:
    1 as sharp as the data, below 1 blurrier (or emptier: a blank picture has no edges either)."""
    from ..codebook.sharpness import sharpness
    from ..data import to_tensor

    real = sharpness(to_tensor(reference))
    return float(sharpness(to_tensor(images)) / real) if real > 0 else float("nan")
