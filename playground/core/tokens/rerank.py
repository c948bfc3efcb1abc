"""CLIP reranking, as DALL-E did: draw candidates, keep the ones CLIP finds closest to the prompt.

`rerank` orders images by `clip_score` (cosine similarity of image and prompt embeddings).
`sample_reranked` writes n groups of `rerank` candidates (candidate c of a run seeded S is
image c of `sample_tokens(..., seed=S)`: group j holds candidates j*rerank .. j*rerank+rerank-1)
and keeps the best of each group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..clip.scores import clip_score
from ..device import model_device
from ..models.clip import CLIP
from ..models.dalle import Dalle
from .sampling import TokenEvent, TokenSettings, sample_tokens


@torch.no_grad()
def rerank(images: torch.Tensor, prompt: str, clip_model: CLIP) -> tuple[torch.Tensor, torch.Tensor]:
    """(order (N,), scores (N,)): indices highest CLIP score first, and each image's score (in input order)."""
    scores = clip_score(clip_model, images, prompt).float().cpu()
    return torch.argsort(scores, descending=True, stable=True), scores


@dataclass(frozen=True)
class Reranked:
    """n kept samples: their tokens (n, N), CLIP scores (n,), candidate index (n,) within the run (image seed =
    seed + candidate), and every candidate's score (n, rerank)."""

    tokens: torch.Tensor
    scores: torch.Tensor
    candidates: torch.Tensor
    all_scores: torch.Tensor


@torch.no_grad()
def decode_tokens(model: Dalle, tokens: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] of token sequences (B, N), in chunks."""
    device = model_device(model)
    return torch.cat([model.decode(tokens[i:i + batch].to(device)).cpu() for i in range(0, len(tokens), batch)])


def sample_reranked(model: Dalle, clip: CLIP, prompt: str, settings: TokenSettings, n: int, rerank: int,
                    seed: int = 0, progress: Callable[[TokenEvent], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> Reranked | None:
    """The best (by CLIP score) of each of n groups of `rerank` candidates; None when stopped."""
    if n < 1 or rerank < 1:
        raise ValueError(f"n and rerank must be >= 1, not {n} and {rerank}")
    tokens = sample_tokens(model, prompt, settings, n * rerank, seed, progress, should_stop)
    if (tokens < 0).any():
        return None
    scores = clip_score(clip, decode_tokens(model, tokens).to(model_device(clip)), prompt).float().cpu()
    grouped = scores.reshape(n, rerank)
    best = grouped.argmax(dim=1)
    candidates = torch.arange(n) * rerank + best
    return Reranked(tokens[candidates], scores[candidates], candidates, grouped)
