"""Nearest training images: does a generated image copy one the model was trained on?

The training split is the one `Trainer` trains on (shapes: 20,000 images from seed 0 less
the 1,000 validation images its seed-0 permutation puts first), cached on disk beside its
features (cache keyed by the renderer's source and, for features, the classifier's weights).

Two distances, each with a reference: the median distance from a training image to its
nearest *other* training image. A sample much closer than that to a training image is a
copy-suspect; one about that far is as new as a fresh render of the data set.

- "pixels": root-mean-square difference per pixel channel, in 0-255 levels;
- "features": Euclidean distance between the attribute classifier's penultimate features
  (the flattened conv features its four heads read), so two renders of the same shape in
  the same place are close even where their pixels differ by a jitter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..data import DEFAULT_SHAPES_SIZE, shapes, to_tensor
from ..disk_cache import cached_array, user_cache_dir

By = Literal["pixels", "features"]
BY: tuple[str, ...] = ("pixels", "features")
VALIDATION_SIZE = 1000  # as TrainConfig.validation_size
REFERENCE_SAMPLE = 500  # training images whose nearest other training image sets the reference
CHUNK = 4096


@dataclass(frozen=True)
class Neighbours:
    """One query's k nearest training images, nearest first."""

    indices: np.ndarray  # (k,) into the training split
    distances: np.ndarray  # (k,) float

    def __iter__(self):  # unpacks as (indices, distances)
        return iter((self.indices, self.distances))


def training_split(n: int, seed: int = 0, validation_size: int = VALIDATION_SIZE) -> np.ndarray:
    """Indices of the images `Trainer` trains on out of a data set of n (the rest is validation)."""
    n_val = min(validation_size, max(1, n // 10))
    return np.random.default_rng(seed).permutation(n)[n_val:]


def cache_dir() -> Path:
    return user_cache_dir("nearest")


def _renderer_key() -> str:
    return hashlib.sha256(Path(shapes.__file__).read_bytes()).hexdigest()[:16]


def _cached_array(name: str, make) -> np.ndarray:
    return cached_array(cache_dir(), name, make)


_TRAIN: dict[str, np.ndarray] = {}


def training_images(data: str = "shapes") -> np.ndarray:
    """The training split's images, uint8 (N, 32, 32, 3) (shapes: 19,000; ~90 s to render once, then cached)."""
    if data != "shapes":
        raise ValueError(f"nearest training images know the shapes data set only, not {data!r}")

    def render() -> np.ndarray:
        specs = shapes.draw_specs(DEFAULT_SHAPES_SIZE, 0)
        return np.stack([shapes.render(specs[i]) for i in training_split(DEFAULT_SHAPES_SIZE)])

    if data not in _TRAIN:
        _TRAIN[data] = _cached_array(f"shapes-train-{DEFAULT_SHAPES_SIZE}-{_renderer_key()}", render)
    return _TRAIN[data]


def shipped_classifier(device: torch.device | str = "cpu") -> torch.nn.Module:
    """The shipped attribute classifier (ValueError saying so when it is missing)."""
    from ..assets import shipped_for
    from ..checkpoints import load_checkpoint

    shipped = shipped_for("classifier")
    if shipped is None:
        raise ValueError("feature distances need the shipped attribute classifier (assets/classifier-shapes)")
    return load_checkpoint(shipped.path, device).model


@torch.inference_mode()
def classifier_features(classifier: torch.nn.Module, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The classifier's penultimate features (N, D) float32 for uint8 images."""
    device = next(classifier.parameters()).device
    out = [classifier.features(to_tensor(images[s:s + batch_size]).to(device)).flatten(1).float().cpu().numpy()
           for s in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _weights_key(module: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


_FEATURES: dict[tuple[str, str], np.ndarray] = {}


def _images_key(images: np.ndarray) -> str:
    """A cheap fingerprint of a set of images (its size and every 97th image)."""
    return hashlib.sha256(str(images.shape).encode() + np.ascontiguousarray(images[::97]).tobytes()).hexdigest()[:16]


def training_features(classifier: torch.nn.Module, train: np.ndarray, data: str | None = "shapes") -> np.ndarray:
    """The training images' features, cached per (images, classifier weights) in memory and, for a
    named data set, on disk."""
    key = (_images_key(train), _weights_key(classifier))
    if key not in _FEATURES:
        make = lambda: classifier_features(classifier, train)  # noqa: E731
        _FEATURES.clear()
        _FEATURES[key] = (_cached_array(f"{data}-features-{len(train)}-{_renderer_key()}-{key[1]}", make)
                          if data is not None else make())
    return _FEATURES[key]


def _vectors(images: np.ndarray, by: str, classifier: torch.nn.Module | None) -> np.ndarray:
    if by == "pixels":
        return images.reshape(len(images), -1).astype(np.float32)
    return classifier_features(classifier, images)


def _search(queries: np.ndarray, keys: np.ndarray, k: int, scale: float,
            exclude: np.ndarray | None = None, key_norms: torch.Tensor | None = None) -> list[Neighbours]:
    """k nearest rows of `keys` to each row of `queries` by Euclidean distance, divided by `scale`
    (`exclude[r]`: a row of `keys` query r may not pick, e.g. itself)."""
    q = torch.from_numpy(np.ascontiguousarray(queries, np.float32))
    q_norm = (q * q).sum(1, keepdim=True)
    k = min(k, len(keys) - int(exclude is not None))
    if key_norms is None:
        key_norms = _squared_norms(keys)
    best_d = torch.full((len(q), 0), 0.0)
    best_i = torch.zeros((len(q), 0), dtype=torch.long)
    for start in range(0, len(keys), CHUNK):
        block = torch.from_numpy(np.ascontiguousarray(keys[start:start + CHUNK], np.float32))
        d2 = q_norm + key_norms[start:start + len(block)][None] - 2.0 * q @ block.T
        if exclude is not None:
            rows = np.flatnonzero((exclude >= start) & (exclude < start + len(block)))
            d2[rows, exclude[rows] - start] = float("inf")
        d_all = torch.cat([best_d, d2], 1)
        i_all = torch.cat([best_i, torch.arange(start, start + len(block)).expand(len(q), -1)], 1)
        best_d, pick = torch.topk(d_all, min(k, d_all.shape[1]), dim=1, largest=False)
        best_i = torch.gather(i_all, 1, pick)
    # exact distances of the k found (the expanded form loses digits on near-identical images)
    exact = [np.linalg.norm(keys[best_i[r].numpy()].astype(np.float32) - queries[r], axis=1) / scale
             for r in range(len(q))]
    found = []
    for r in range(len(q)):
        order = np.argsort(exact[r], kind="stable")
        found.append(Neighbours(best_i[r].numpy()[order], exact[r][order].astype(np.float32)))
    return found


def _as_uint8(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):  # (B, 3, H, W) in [-1, 1], the models' convention
        from ..data import to_uint8
        return to_uint8(images if images.dim() == 4 else images[None])
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (B, H, W, 3), not {images.dtype} {images.shape}")
    return images


def _check(by: str, k: int) -> None:
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}")


def _scale(by: str, dims: int) -> float:
    return float(np.sqrt(dims)) if by == "pixels" else 1.0  # pixels: RMS per channel value


def nearest_training(images, k: int = 8, by: By = "pixels", data: str = "shapes",
                     train: np.ndarray | None = None, classifier: torch.nn.Module | None = None) -> list[Neighbours]:
    """Per image, its k nearest training images (indices into `training_images(data)`, or into
    `train` when given) and their distances, nearest first. `images`: uint8 (B, H, W, 3) or one
    (H, W, 3), or a model tensor (B, 3, H, W) in [-1, 1]. "features" uses `classifier` (default:
    the shipped attribute classifier)."""
    _check(by, k)
    queries = _as_uint8(images)
    train = training_images(data) if train is None else train
    if queries.shape[1:] != train.shape[1:]:
        raise ValueError(f"images are {queries.shape[1]}x{queries.shape[2]}, the training images "
                         f"{train.shape[1]}x{train.shape[2]}")
    if by == "pixels":
        keys, norms = _pixel_keys(train)
        return _search(_vectors(queries, by, None), keys, k, _scale(by, keys.shape[1]), key_norms=norms)
    classifier = classifier if classifier is not None else _shipped_classifier()
    keys, norms = _train_features(classifier, train, data)
    return _search(_vectors(queries, by, classifier), keys, k, 1.0, key_norms=norms)


def _squared_norms(keys: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.einsum("ij,ij->i", keys, keys, dtype=np.float32))


_PIXELS: dict[str, tuple[np.ndarray, torch.Tensor]] = {}


def _pixel_keys(train: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """The training images as float32 rows and their squared norms, kept for the newest set
    (converting 19,000 of them is most of a query's time; 233 MB for shapes)."""
    key = _images_key(train)
    if key not in _PIXELS:
        _PIXELS.clear()
        keys = train.reshape(len(train), -1).astype(np.float32)
        _PIXELS[key] = keys, _squared_norms(keys)
    return _PIXELS[key]


_FEATURE_NORMS: dict[tuple[str, str], torch.Tensor] = {}


def _train_features(classifier: torch.nn.Module, train: np.ndarray, data: str) -> tuple[np.ndarray, torch.Tensor]:
    """The training features and their squared norms."""
    named = data if train is _TRAIN.get(data) else None  # only the real split's features go to disk
    features = training_features(classifier, train, named)
    key = (_images_key(train), _weights_key(classifier))
    if key not in _FEATURE_NORMS:
        _FEATURE_NORMS.clear()
        _FEATURE_NORMS[key] = _squared_norms(features)
    return features, _FEATURE_NORMS[key]


@lru_cache(maxsize=1)
def _shipped_classifier() -> torch.nn.Module:
    return shipped_classifier("cpu")


@dataclass(frozen=True)
class Reference:
    """How far apart training images are, in a distance's units."""

    nearest_other: float  # median distance from a training image to its nearest other one
    random_pair: float  # median distance between two training images drawn at random

    def describe(self) -> str:
        return (f"two training images: {self.random_pair:.1f} apart (median of random pairs), "
                f"{self.nearest_other:.1f} to the nearest other (median)")


_REFERENCE: dict[tuple[str, str, int, str], Reference] = {}


def reference_distance(by: By = "pixels", data: str = "shapes", train: np.ndarray | None = None,
                       classifier: torch.nn.Module | None = None, n: int = REFERENCE_SAMPLE) -> Reference:
    """How far apart two typical training images are (over `n` of them, seed 0). On shapes many
    training images are pixel-identical renders of the same attributes and jitter (11,664 exist),
    so the nearest other one is often at 0: a copy is then told from a fresh render by nothing."""
    _check(by, 1)
    train = training_images(data) if train is None else train
    if by == "features" and classifier is None:
        classifier = _shipped_classifier()
    key = (_images_key(train), by, n, _weights_key(classifier) if by == "features" else "")
    if key not in _REFERENCE:
        rng = np.random.default_rng(0)
        pick = rng.choice(len(train), min(n, len(train)), replace=False)
        if by == "pixels":
            keys = _pixel_keys(train)[0]
        else:
            keys = _train_features(classifier, train, data)[0]
        scale = _scale(by, keys.shape[1])
        found = _search(keys[pick].astype(np.float32), keys, 1, scale, exclude=pick)
        partner = rng.integers(0, len(train), len(pick))
        pairs = np.linalg.norm(keys[pick].astype(np.float32) - keys[partner].astype(np.float32), axis=1) / scale
        _REFERENCE[key] = Reference(float(np.median([f.distances[0] for f in found])), float(np.median(pairs)))
    return _REFERENCE[key]
