"""VQGAN-CLIP: gradient ascent on a VQ model's latent grid toward a prompt's CLIP embedding.

Crowson et al. 2022 ("VQGAN-CLIP: Open Domain Image Generation and Editing with Natural
Language Guidance"): keep a continuous latent grid z (B=1, D, h, w), quantise it to the
nearest codes, decode, and ask CLIP how well the picture fits the prompt; Adam moves z up
the cosine similarity. Quantisation has no gradient, so the straight-through estimator
(van den Oord et al. 2017, section 3.1) copies the decoder's gradient onto z unchanged.
CLIP sees a few randomly shifted copies of the picture per step (averaged), so z does not
learn pixel patterns that please CLIP at one exact alignment only; flips are left out on
purpose, since "left" and "right" are words of the prompt. An optional L2 pull of z toward
its nearest codes keeps z near the codebook, so that a small step can still change a token.

`optimize` is a generator: record 0 is the starting grid, record i the grid after i Adam
steps, each with its decoded image, its CLIP score (of the unshifted image) and its tokens.
A caller shows every record live, stops by `should_stop` or by not asking for the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import checks
from ..clip.scores import differentiable_score, prompt_embeddings
from ..data import load_dataset, to_tensor
from ..device import model_device

Init = Literal["image", "noise"]
INITS: tuple[str, ...] = ("image", "noise")
MAX_SHIFT = 2  # pixels: the augmentations' random translation, at most this far in x and in y

steps_range = checks.IntRange(1, 10_000)
learning_rate = checks.FloatRange(0.0, 10.0, low_open=True)
augment_count = checks.IntRange(0, 64)          # shifted copies beside the unshifted one
codebook_weight = checks.FloatRange(0.0, 100.0)


@dataclass(frozen=True)
class VQGANCLIPSettings:
    prompt: str
    steps: int = 100
    seed: int = 0
    lr: float = 0.1
    augment: int = 4              # shifted copies of the image CLIP also scores each step (0: the image alone)
    init: Init = "image"          # start from the encoding of a seeded data-set image, or from seeded noise
    codebook_weight: float = 0.0  # weight of ||z - sg(q(z))||^2, the pull toward the nearest codes

    def checked(self) -> "VQGANCLIPSettings":
        """self, or a RangeError (ValueError) naming the setting and its range."""
        steps_range.check(self.steps, "--steps")
        checks.seed.check(self.seed, "--seed")
        learning_rate.check(self.lr, "--lr")
        augment_count.check(self.augment, "--augment")
        codebook_weight.check(self.codebook_weight, "--codebook-weight")
        if self.init not in INITS:
            raise ValueError(f"--init must be one of {', '.join(INITS)}, not {self.init!r}")
        return self

    def recipe(self) -> dict:
        return {"prompt": self.prompt, "steps": self.steps, "seed": self.seed, "lr": self.lr, "augment": self.augment,
                "init": self.init, "codebook_weight": self.codebook_weight}


@dataclass
class OptimizationStep:
    step: int                # Adam steps taken (0: the starting grid)
    image: torch.Tensor      # (1, 3, H, W) in [-1, 1]: decode of the quantised grid (exactly decode_indices(tokens))
    score: float             # CLIP cosine similarity of `image` (unshifted) with the prompt
    tokens: torch.Tensor     # (h, w) int64 codes
    loss: float              # what Adam minimised: -mean score over the views + codebook_weight * L2


def start_image(data: str, seed: int, size: int) -> torch.Tensor:
    """(1, 3, size, size): one image of the model's data set drawn from `seed` (shapes: rendered from the seed)."""
    if data == "shapes":
        return to_tensor(load_dataset("shapes", n=1, seed=seed, size=size).images)
    images = load_dataset(data, size=size).images
    return to_tensor(images[np.random.default_rng(seed).integers(len(images))][None])


@torch.no_grad()
def initial_latent(vq: nn.Module, init: Init, seed: int, data: str = "shapes") -> torch.Tensor:
    """The continuous grid z (1, D, h, w) to start from: the encoder's output for a seeded data-set image,
    or Gaussian noise with the codebook's per-dimension mean and spread (so it quantises to many codes)."""
    device = model_device(vq)
    if init == "image":
        return vq.encode(start_image(data, seed, vq.config.image_size).to(device)).float()
    codebook = vq.quantizer.codebook.float()
    g, d = vq.grid_size, codebook.shape[1]
    noise = torch.randn((1, g, g, d), generator=torch.Generator().manual_seed(int(seed))).to(device)
    return (codebook.mean(0) + codebook.std(0) * noise).permute(0, 3, 1, 2).contiguous()


def shifted_views(image: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """(1 + count, 3, H, W): the image itself, then `count` copies shifted by 1..MAX_SHIFT px in x and/or y
    (edges repeated; never flipped, which would swap left and right)."""
    if count == 0:
        return image
    h, w = image.shape[-2:]
    padded = F.pad(image, (MAX_SHIFT,) * 4, mode="replicate")
    offsets = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (count, 2), generator=generator)
    offsets[(offsets == 0).all(1), 0] = 1  # every copy moves by at least one pixel
    views = [image] + [padded[..., MAX_SHIFT + dy:MAX_SHIFT + dy + h, MAX_SHIFT + dx:MAX_SHIFT + dx + w]
                       for dy, dx in offsets.tolist()]
    return torch.cat(views)


def optimize(vq: nn.Module, clip: nn.Module, settings: VQGANCLIPSettings, data: str = "shapes",
             should_stop: Callable[[], bool] | None = None) -> Iterator[OptimizationStep]:
    """Yield the starting grid and the grid after each of `settings.steps` Adam steps (see the module doc).

    The prompt is read by CLIP's tokenizer first: a bad word raises PromptError (a ValueError) before
    any work. The same settings on the same machine give the same records (seeded start and shifts)."""
    settings = settings.checked()
    device = model_device(vq)
    text = prompt_embeddings(clip, [settings.prompt])[0].to(device)
    z = initial_latent(vq, settings.init, settings.seed, data).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=settings.lr)
    shifts = torch.Generator().manual_seed(int(settings.seed))
    clip_size = clip.config.image_size
    for step in range(settings.steps + 1):
        quantized = vq.quantizer(z)
        # straight-through: the forward value is exactly the codes (so the image is decode_indices(tokens)),
        # the backward copies the decoder's gradient onto z as if quantisation were the identity
        z_q = vq.quantizer.lookup(quantized.indices) + (z - z.detach())
        image = vq.decode(z_q).float()
        views = shifted_views(image, settings.augment, shifts)
        if views.shape[-1] != clip_size:
            views = F.interpolate(views, size=(clip_size, clip_size), mode="bilinear", align_corners=False)
        scores = differentiable_score(clip, views, text)
        loss = -scores.mean() + settings.codebook_weight * quantized.commitment_loss
        yield OptimizationStep(step, image.detach().clamp(-1, 1), float(scores[0].detach()), quantized.indices[0].detach(),
                               float(loss.detach()))
        if step == settings.steps or (should_stop is not None and should_stop()):
            return
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def run_to_end(vq: nn.Module, clip: nn.Module, settings: VQGANCLIPSettings, data: str = "shapes",
               progress: Callable[[OptimizationStep], None] | None = None) -> tuple[OptimizationStep, list[float]]:
    """The last record of a whole run and the score of every record (for the command line)."""
    scores, last = [], None
    for last in optimize(vq, clip, settings, data):
        scores.append(last.score)
        if progress is not None:
            progress(last)
    return last, scores
