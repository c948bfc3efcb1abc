"""Images and prompts in one 2D map of CLIP's joint embedding space.

PCA of the joint embeddings (deterministic: the same embeddings give the same map, each
axis's sign fixed by its largest loading) or t-SNE (scikit-learn, seeded; it keeps
neighbourhoods, not distances). Contrastive training leaves a "modality gap" (Liang et al.
2022): image and text embeddings lie in two separate cones, so PCA's first axis often just
separates images from prompts; `close_gap` centres each modality on its own mean first
(how much that moves the prompts shows how large the gap is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..latent.sampling import Projection2D

MapMethod = Literal["pca", "tsne"]
METHODS: tuple[MapMethod, ...] = ("pca", "tsne")
# the words of each attribute's values: the map shows where CLIP puts a shape, a colour, a size
DEFAULT_MAP_PROMPTS = ("circle", "square", "triangle", "plus", "red", "green", "blue", "yellow", "purple", "cyan",
                       "small", "large")


@dataclass(frozen=True)
class EmbeddingMap:
    image_xy: np.ndarray   # (N, 2)
    prompt_xy: np.ndarray  # (P, 2)
    prompts: list[str]
    method: MapMethod
    explained: tuple[float, float] | None  # PCA: the share of variance along each axis


def pca_coordinates(points: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(N, D) -> (N, 2) on the two main axes, each axis oriented so its largest loading is positive."""
    projection = Projection2D(points)
    components = projection.components
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    signs[signs == 0] = 1.0
    coords = projection.coords * signs[None, :].astype(np.float32)
    return coords, (float(projection.explained[0]), float(projection.explained[1]))


def tsne_coordinates(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) by t-SNE (PCA-initialised, seeded, cosine distances)."""
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(points) - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine")
    return tsne.fit_transform(np.asarray(points, np.float64)).astype(np.float32)


def embedding_map(image_embeddings: np.ndarray, prompt_embeddings: np.ndarray, prompts: list[str],
                  method: MapMethod = "pca", close_gap: bool = False, seed: int = 0) -> EmbeddingMap:
    """Project images (N, D) and prompts (P, D) together onto a plane."""
    if method not in METHODS:
        raise ValueError(f"map method must be one of {', '.join(METHODS)}, not {method!r}")
    images = np.asarray(image_embeddings, np.float64)
    texts = np.asarray(prompt_embeddings, np.float64)
    if len(images) + len(texts) < 3:
        raise ValueError("a map needs at least three points")
    if close_gap:
        image_mean = images.mean(axis=0)
        texts = texts - (texts.mean(axis=0) if len(texts) > 1 else image_mean)
        images = images - image_mean
    joint = np.concatenate([images, texts])
    explained = None
    if method == "pca":
        coords, explained = pca_coordinates(joint)
    else:
        coords = tsne_coordinates(joint, seed)
    return EmbeddingMap(coords[:len(images)], coords[len(images):], list(prompts), method, explained)
