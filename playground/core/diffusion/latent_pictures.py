"""How a step of a latent run is drawn: the latent's channels as greyscale maps, and what the first stage paints.

A latent denoiser's x_t is not a picture: it is the autoencoder's scaled latent (4 channels
of 8x8 for the shapes models, about unit variance). A step of such a run shows

- each latent (x_t, the predicted clean latent x0, the predicted and injected noise) as its
  channels, a 2x2 tile of greyscale maps (+-2 standard deviations to black..white), and
- the images the autoencoder decodes from the predicted x0 and from x_t itself.

Every frame of a latent run has one size (`frame_size`): the tile of channel maps, each
channel upscaled to half the image's width, with a gap between them, and the decoded
32x32 images centred on that size. So the frames tile, strip and animate as a pixel run's
do. Decoding happens once per step, where the run is sampled (the worker), never when a
cached step is shown again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..data import to_uint8
from ..device import model_device
from ..images import upscale

LATENT_DISPLAY_SIGMA = 2.0          # channel maps show [-2, 2] (two standard deviations) as black..white
GAP = 1                             # pixel between two channel maps (a dark line: a tile reads as one latent)
FRAME_BACKGROUND = (12, 12, 14)     # the gaps, and the border around a decoded image (near the shapes' black)

Decode = Callable[[torch.Tensor], torch.Tensor]


def denoiser_network(model_fn: object) -> object:
    """The network inside a (possibly guided) model function: guidance wraps it as `.model` (classifier-free)
    or `.base` (classifier guidance); the first one with a first stage, else the innermost."""
    for _ in range(8):
        if hasattr(model_fn, "first_stage"):
            return model_fn
        inner = getattr(model_fn, "model", None)
        inner = inner if inner is not None else getattr(model_fn, "base", None)
        if inner is None:
            return model_fn
        model_fn = inner
    return model_fn


@dataclass(frozen=True)
class LatentPictures:
    """Draws the latents of one latent run: `decode` (scaled latents (N, C, h, w) on the CPU -> images
    in [-1, 1] (N, 3, H, W) on the CPU) and the latent and image sizes."""

    decode: Decode
    latent_shape: tuple[int, int, int]
    image_size: int

    @classmethod
    def of(cls, model_fn: object) -> "LatentPictures | None":
        """The pictures of a latent denoiser (or a guided function around one); None for a pixel model."""
        model = denoiser_network(model_fn)
        if not hasattr(model, "first_stage"):
            return None
        device = model_device(model)

        def decode(latents: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return model.decode(latents.to(device, torch.float32)).float().cpu()

        return cls(decode, tuple(model.config.latent_shape), int(model.config.image_size))

    # --- geometry -------------------------------------------------------------------------------------

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, columns) of the channel maps: 2x2 for 4 channels."""
        channels = self.latent_shape[0]
        columns = math.ceil(math.sqrt(channels))
        return math.ceil(channels / columns), columns

    @property
    def cell(self) -> int:
        """Pixels per latent value: a channel map is about half the image wide (8x8 -> 16x16)."""
        _, h, w = self.latent_shape
        return max(1, self.image_size // (self.grid[1] * max(h, w)))

    @property
    def frame_size(self) -> tuple[int, int]:
        """(H, W) of every frame of the run: the channel tile, or the decoded image if larger."""
        _, h, w = self.latent_shape
        rows, columns = self.grid
        tile = (rows * h * self.cell + (rows - 1) * GAP, columns * w * self.cell + (columns - 1) * GAP)
        return max(tile[0], self.image_size), max(tile[1], self.image_size)

    # --- drawing ----------------------------------------------------------------------------------------

    def channels(self, latent: torch.Tensor) -> np.ndarray:
        """One latent (C, h, w) as its channels' greyscale maps, tiled, (H, W, 3) uint8."""
        c, h, w = latent.shape
        rows, columns = self.grid
        grey = to_uint8((latent.float() / LATENT_DISPLAY_SIGMA)[:, None].expand(c, 3, h, w))  # (C, h, w, 3)
        frame = self._blank()
        side_h, side_w = h * self.cell, w * self.cell
        for k in range(c):
            r, col = divmod(k, columns)
            y, x = r * (side_h + GAP), col * (side_w + GAP)
            frame[y:y + side_h, x:x + side_w] = upscale(grey[k], self.cell)
        return frame

    def framed(self, image: np.ndarray) -> np.ndarray:
        """A decoded (H, W, 3) uint8 image centred on the frame size."""
        frame = self._blank()
        fh, fw = frame.shape[:2]
        h, w = image.shape[:2]
        y, x = (fh - h) // 2, (fw - w) // 2
        frame[y:y + h, x:x + w] = image
        return frame

    def unframed(self, frame: np.ndarray) -> np.ndarray:
        """The decoded image a `framed` frame holds, (image_size, image_size, 3)."""
        fh, fw = frame.shape[:2]
        y, x = (fh - self.image_size) // 2, (fw - self.image_size) // 2
        return frame[y:y + self.image_size, x:x + self.image_size]

    def draw_latents(self, frames: dict[str, np.ndarray], index: int, latents: dict[str, torch.Tensor]) -> None:
        """Put each latent (view -> (C, h, w)) into `frames[view][index]` as its channel maps."""
        for view, latent in latents.items():
            frames[view][index] = self.channels(latent)

    def draw_decoded(self, frames: dict[str, np.ndarray], indices: np.ndarray, x0: np.ndarray, x_t: np.ndarray) -> None:
        """Decode the predicted x0 and x_t (k, C, h, w) of steps `indices` in one batch into the
        "decoded_x0" and "decoded_x_t" frames."""
        k = len(indices)
        images = self.paint(torch.from_numpy(np.concatenate([x0, x_t])))
        for j, i in enumerate(indices):
            frames["decoded_x0"][i] = self.framed(images[j])
            frames["decoded_x_t"][i] = self.framed(images[k + j])

    def paint(self, latents: torch.Tensor) -> np.ndarray:
        """Latents (N, C, h, w) decoded to (N, H, W, 3) uint8 images (native size, not framed)."""
        return to_uint8(self.decode(latents))

    def _blank(self) -> np.ndarray:
        h, w = self.frame_size
        frame = np.empty((h, w, 3), np.uint8)
        frame[:] = FRAME_BACKGROUND
        return frame
