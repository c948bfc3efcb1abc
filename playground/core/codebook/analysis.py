"""Token grids and the codebook of a VQ-VAE, as NumPy in and out: what the GUI panel and the CLI share.

Encode a data set once (`encode_tokens`), then every question about the codebook (usage,
perplexity, which items use a code) is a cheap NumPy query on the token array. Decoding
a token grid (`decode_tokens`) is the hot path of live editing: batch 1 costs 1.2-2 ms of
one CPU thread (benchmarks/bench_vqvae.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ..data import to_tensor, to_uint8
from ..models.vqvae import VQVAE
from ..latent.sampling import model_device


def _as_index_tensor(tokens: np.ndarray | torch.Tensor, model: VQVAE) -> torch.Tensor:
    if isinstance(tokens, np.ndarray) and not tokens.flags.writeable:
        tokens = tokens.copy()  # e.g. a TokenGridEditor's read-only grid; torch wants writable memory
    tokens = torch.as_tensor(tokens)
    if tokens.ndim == 2:
        tokens = tokens[None]
    g, k = model.grid_size, model.codebook_size
    if tokens.ndim != 3 or tuple(tokens.shape[1:]) != (g, g):
        raise ValueError(f"token grids must be ({g}, {g}) or (N, {g}, {g}) for this model, got {tuple(tokens.shape)}")
    if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise ValueError(f"token grids hold integer code indices, got {tokens.dtype}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= k):
        raise ValueError(f"token indices must lie in [0, {k}), got [{int(tokens.min())}, {int(tokens.max())}]")
    return tokens.long().to(model_device(model))


def encode_tokens_progressive(model: VQVAE, images: np.ndarray, batch_size: int = 256) -> Iterator[tuple[int, np.ndarray]]:
    """Encode batch by batch, yielding (images done so far, this batch's token grids).

    Encoding costs about 1.4 ms of one CPU thread per image (2,000 shapes: ~3 s; all 20,000:
    ~30 s), so a GUI worker reports progress and checks for cancellation between batches,
    or encodes a subset; `encode_tokens` just collects the batches.
    """
    device = model_device(model)
    for start in range(0, len(images), batch_size):
        with torch.inference_mode():
            grids = model.encode_indices(to_tensor(images[start:start + batch_size]).to(device)).cpu().numpy()
        yield min(start + batch_size, len(images)), grids


def encode_tokens(model: VQVAE, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 images (N, H, W, 3) to token grids (N, h, w) int64: each cell's nearest code."""
    grids = [batch for _, batch in encode_tokens_progressive(model, images, batch_size)]
    if not grids:
        return np.zeros((0, model.grid_size, model.grid_size), np.int64)
    return np.concatenate(grids)


@torch.inference_mode()
def decode_tokens(model: VQVAE, tokens: np.ndarray | torch.Tensor) -> np.ndarray:
    """Any token grid (h, w) or batch (N, h, w) to uint8 images (N, H, W, 3), C-contiguous.

    Raises ValueError for a grid of the wrong size or an index outside the codebook.
    """
    return to_uint8(model.decode_indices(_as_index_tensor(tokens, model)))


@torch.inference_mode()
def code_vectors(model: VQVAE, tokens: np.ndarray | torch.Tensor) -> np.ndarray:
    """The decoder's input for a token grid: (N, D, h, w) float32 code vectors."""
    return model.quantizer.lookup(_as_index_tensor(tokens, model)).float().cpu().numpy()


def codebook_usage(tokens: np.ndarray | torch.Tensor, codebook_size: int) -> np.ndarray:
    """How many grid cells use each code: (K,) int64 counts over all the token grids given."""
    flat = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens).reshape(-1)
    return np.bincount(flat, minlength=codebook_size).astype(np.int64)


def perplexity(counts: np.ndarray | torch.Tensor) -> float:
    """exp(entropy) of the usage distribution: the effective number of codes in use.

    Equals K when all K codes are used equally and 1 when one code does everything.
    """
    counts = np.asarray(counts.cpu() if isinstance(counts, torch.Tensor) else counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def codes_used(counts: np.ndarray | torch.Tensor) -> int:
    """Number of codes used at least once."""
    return int((np.asarray(counts.cpu() if isinstance(counts, torch.Tensor) else counts) > 0).sum())


def top_items_for_code(tokens: np.ndarray, code: int, k: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The data-set items whose grids use `code` in the most cells, most first.

    Returns (item indices, cells using the code); items that never use it are left out, so
    fewer than k may come back. Ties keep data-set order.
    """
    per_item = (np.asarray(tokens).reshape(len(tokens), -1) == code).sum(axis=1)
    order = np.argsort(-per_item, kind="stable")[:k]
    order = order[per_item[order] > 0]
    return order, per_item[order]


def nearest_codes(model: VQVAE, code: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k codes closest to `code` in the codebook (Euclidean), nearest first, and their distances.

    Near codes usually paint similar patches, so they are the natural alternatives to offer
    when editing a cell.
    """
    codebook = model.quantizer.codebook.detach().float().cpu()
    if not 0 <= code < len(codebook):
        raise ValueError(f"code {code} is outside the codebook [0, {len(codebook)})")
    distances = (codebook - codebook[code]).pow(2).sum(1).sqrt()
    distances[code] = float("inf")
    k = min(k, len(codebook) - 1)
    order = torch.argsort(distances, stable=True)[:k]
    return order.numpy(), distances[order].numpy()


def atlas_grids(model: VQVAE, background: int | None = None) -> np.ndarray:
    """One token grid per code: filled with the code, or (with `background`) the background
    code everywhere but the centre cell, which shows what one cell of the code paints in context."""
    k, g = model.codebook_size, model.grid_size
    if background is None:
        return np.broadcast_to(np.arange(k)[:, None, None], (k, g, g)).copy()
    grids = np.full((k, g, g), background, np.int64)
    grids[:, g // 2, g // 2] = np.arange(k)
    return grids


def codebook_atlas(model: VQVAE, background: int | None = None, batch_size: int = 256) -> np.ndarray:
    """A decoded tile per code: (K, H, W, 3) uint8, in code order (see `atlas_grids`)."""
    grids = atlas_grids(model, background)
    return np.concatenate([decode_tokens(model, grids[s:s + batch_size]) for s in range(0, len(grids), batch_size)])


def sample_unigram_tokens(counts: np.ndarray, n: int, grid_size: int, seed: int = 0) -> np.ndarray:
    """n token grids with every cell drawn independently from the usage distribution.

    A VQ-VAE has no prior of its own; this one ignores where codes sit, so its samples show
    what a learned prior over token grids (a PixelCNN or transformer) would have to add.
    """
    counts = np.asarray(counts, dtype=np.float64)
    p = counts / counts.sum() if counts.sum() > 0 else np.full(len(counts), 1.0 / len(counts))
    rng = np.random.default_rng(seed)
    return rng.choice(len(p), size=(n, grid_size, grid_size), p=p).astype(np.int64)


def codebook_vectors(model: VQVAE) -> np.ndarray:
    """The codebook as a (K, D) float32 array (a copy), for projections and orderings."""
    return model.quantizer.codebook.detach().float().cpu().numpy().copy()


def similarity_order(codebook: np.ndarray) -> np.ndarray:
    """An order of the K codes in which neighbours are similar: a greedy nearest-neighbour chain.

    Starts at the code lowest along the codebook's first principal axis and always steps to
    the nearest code not yet visited, so a tight cluster of codes (e.g. many shades of
    background) comes out as one run instead of being scattered over the atlas.
    """
    codebook = np.asarray(codebook, np.float64)
    k = len(codebook)
    if k == 0:
        return np.zeros(0, np.int64)
    centred = codebook - codebook.mean(axis=0)
    first_axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    distances = ((codebook[:, None, :] - codebook[None, :, :]) ** 2).sum(-1)
    order = [int(np.argmin(centred @ first_axis))]
    visited = np.zeros(k, bool)
    visited[order[0]] = True
    for _ in range(k - 1):
        row = np.where(visited, np.inf, distances[order[-1]])
        nxt = int(np.argmin(row))
        order.append(nxt)
        visited[nxt] = True
    return np.asarray(order, np.int64)
