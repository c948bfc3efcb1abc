"""Text-to-image retrieval over the data set: embed a pool of images once, rank them by a prompt.

The pool is the gallery's draw of the shapes data set (a seed no model trained on). Its
embeddings are cached in memory per checkpoint (keyed by the weights' SHA-256), so the
Retrieval and Map views and a second prompt cost one text encoding, not a thousand images.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoints import LoadedModel
from ..data import ImageSet, gallery_images, to_tensor
from ..data.shapes import Prompt, parse_prompt
from ..models.clip import CLIP
from ..provenance import weights_sha256
from ..training.clip_task import prompt_matches
from .scores import image_embeddings, prompt_embeddings

POOL_SIZE = 1000  # images retrieval ranks: every one of the 432 captions about twice, ~5 s to embed on 2 cores
EMBED_BATCH = 200
_CACHE_ENTRIES = 4


@dataclass(frozen=True)
class EmbeddedPool:
    """Data-set images with their normalised CLIP embeddings (N, D) on the CPU."""

    data: ImageSet
    embeddings: torch.Tensor

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Retrieval:
    """The k pool images nearest a prompt, best first."""

    prompt: str
    indices: np.ndarray  # (k,) into the pool
    scores: np.ndarray   # (k,) cosine similarities, descending
    matches: np.ndarray  # (k,) bool: the image has every attribute the prompt names

    @property
    def precision(self) -> float:
        """Share of the k images that fit the prompt (precision at k)."""
        return float(self.matches.mean()) if len(self.matches) else 0.0


def embed_pool(model: CLIP, data: ImageSet, progress: Callable[[int, int], None] | None = None,
               embed: Callable[[np.ndarray], torch.Tensor] | None = None) -> EmbeddedPool:
    """Embed every image of `data` in batches; `progress(done, total)` after each (it may raise to cancel).
    `embed(uint8 images) -> (B, D)` embeds a batch elsewhere (the model server) instead of with `model`."""
    if embed is None:
        embed = lambda images: image_embeddings(model, to_tensor(images)).cpu()  # noqa: E731
    parts = []
    for start in range(0, len(data), EMBED_BATCH):
        parts.append(embed(data.images[start:start + EMBED_BATCH]))
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(data)), len(data))
    d = model.config.embed_dim
    return EmbeddedPool(data, torch.cat(parts) if parts else torch.zeros(0, d))


_cache: dict[tuple[str, str, int], EmbeddedPool] = {}
_lock = threading.Lock()


def pool_embeddings(loaded: LoadedModel, n: int = POOL_SIZE, data: str = "shapes",
                    progress: Callable[[int, int], None] | None = None,
                    embed: Callable[[np.ndarray], torch.Tensor] | None = None) -> EmbeddedPool:
    """The embedded pool of `n` gallery images of `data` for this checkpoint, from the cache when it was
    embedded before (the cache keeps the newest few checkpoints; a retrained file has a new hash)."""
    key = (weights_sha256(loaded.path), data, n)
    with _lock:
        if key in _cache:
            return _cache[key]
    pool = embed_pool(loaded.model, gallery_images(data, n), progress, embed)
    with _lock:
        _cache[key] = pool
        while len(_cache) > _CACHE_ENTRIES:
            del _cache[next(iter(_cache))]
    return pool


def retrieve(model: CLIP, pool: EmbeddedPool, prompt: str | Prompt, k: int = 8) -> Retrieval:
    """The `k` pool images most similar to `prompt` (PromptError names a bad word), best first."""
    parsed = parse_prompt(prompt) if isinstance(prompt, str) else prompt
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    text = prompt_embeddings(model, [parsed])[0].cpu()
    scores = pool.embeddings @ text
    k = min(k, len(scores))
    top = torch.topk(scores, k, sorted=True)
    indices = top.indices.numpy()
    labels = torch.from_numpy(np.ascontiguousarray(pool.data.labels[indices]))
    matches = prompt_matches([parsed], labels)[:, 0].numpy() if labels.shape[1] == 4 else np.zeros(k, bool)
    return Retrieval(prompt=parsed.text(), indices=indices, scores=top.values.numpy(), matches=matches)
