"""Starting a conditional diffusion model from a trained unconditional one, or from a coarser text-to-image one.

On two CPU cores a text-to-image model trained from scratch spends most of its hours
learning to draw shapes at all, which the shipped unconditional DDPM already knows. Its
U-Net is the same network minus the condition paths, so those weights carry over. The
pooled path starts at zero (the last layer of the condition projection, as ControlNet's
zero convolutions do); the stem's new input channels (coordinates, the prompt's layout
map) keep their random initialisation. Zeroing those too starves the layout map of
gradient (its values reach the loss only through the stem's weights for them): after
600 steps of such a run the prompt still changed no prediction in the fifth digit.

A text-to-image checkpoint can seed one whose layout map is finer (say 16x16 cells where
it had 8x8): everything is copied and the layout layer's weights are resampled to the
new grid, so the model starts drawing what it drew and training only adds detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoints import CheckpointError, load_checkpoint


@dataclass(frozen=True)
class WarmStart:
    """What a warm start copied, for the training log."""

    source: str
    copied: int      # tensors copied whole
    widened: int     # tensors copied into a wider one (the stem: its new input channels kept)
    new: int         # tensors of the condition paths, left as initialised or zeroed


def warm_start_from_unconditional(model: nn.Module, source: str | Path) -> WarmStart:
    """Copy a DDPM checkpoint's U-Net into `model` (a text-to-image model with the same U-Net)."""
    loaded = load_checkpoint(source)
    if loaded.meta.family != "ddpm":
        raise CheckpointError(f"{loaded.path}: a warm start needs an unconditional ddpm checkpoint, "
                              f"not a {loaded.meta.family}")
    _check_same_process(loaded.path, loaded.model.config, model.config)
    if getattr(loaded.model.config, "coord_channels", False) and not model.config.coord_channels:
        raise CheckpointError(f"{loaded.path}: that DDPM reads coordinate channels; turn them on here too")
    theirs, ours = loaded.model.state_dict(), model.state_dict()
    if missing := next((name for name in theirs if name not in ours), None):
        raise CheckpointError(f"{loaded.path}: its U-Net has a tensor ({missing}) this model lacks; "
                              "warm starts need the same base channels, levels and attention")

    def widen_stem(name: str, tensor: torch.Tensor, target: torch.Tensor) -> bool:
        if name != "stem.weight" or target.shape[1] <= tensor.shape[1] or target.shape[0] != tensor.shape[0]:
            return False
        target[:, : tensor.shape[1]].copy_(tensor)  # the new input channels keep their random values
        return True

    with torch.no_grad():
        copied, widened = _copy_weights(loaded.path, theirs, ours, widen_stem, "U-Net")
        last = getattr(model, "cond_proj", None)
        if isinstance(last, nn.Sequential):
            nn.init.zeros_(last[-1].weight)
            nn.init.zeros_(last[-1].bias)
    return WarmStart(str(loaded.path), copied, widened, len(ours) - copied - widened)


def warm_start_from_text2img(model: nn.Module, source: str | Path) -> WarmStart:
    """Copy a text-to-image checkpoint into `model`, resampling its layout map to `model`'s grid."""
    loaded = load_checkpoint(source)
    if loaded.meta.family != "text2img":
        raise CheckpointError(f"{loaded.path}: expected a text2img checkpoint, not a {loaded.meta.family}")
    theirs, ours = loaded.model.state_dict(), model.state_dict()
    if set(theirs) != set(ours):
        raise CheckpointError(f"{loaded.path}: its network differs from this one beyond the layout grid "
                              "(warm starts need the same U-Net, prompt encoder and layout channels)")
    ours_config, theirs_config = model.config, loaded.model.config
    _check_same_process(loaded.path, theirs_config, ours_config)
    if theirs_config.layout_size > ours_config.layout_size:
        raise CheckpointError(f"{loaded.path}: its layout map ({theirs_config.layout_size}x{theirs_config.layout_size}) "
                              f"is finer than this one's ({ours_config.layout_size}x{ours_config.layout_size}); "
                              "a warm start only refines the grid")
    k = ours_config.layout_channels

    def resample_layout(name: str, tensor: torch.Tensor, target: torch.Tensor) -> bool:
        if name not in ("layout.weight", "layout.bias") or k != theirs_config.layout_channels:
            return False
        target.copy_(_resample_layout(tensor, k, theirs_config.layout_size, ours_config.layout_size))
        return True

    with torch.no_grad():
        copied, widened = _copy_weights(loaded.path, theirs, ours, resample_layout, "network")
    return WarmStart(str(loaded.path), copied, widened, 0)


def warm_start(model: nn.Module, source: str | Path) -> WarmStart:
    """`--init-from`: an unconditional DDPM or a text-to-image checkpoint, by the family it holds."""
    from ..checkpoints import read_meta, resolve_paths

    family = read_meta(resolve_paths(source)[0]).family
    if family == "text2img":
        return warm_start_from_text2img(model, source)
    return warm_start_from_unconditional(model, source)


def _resample_layout(tensor: torch.Tensor, channels: int, size: int, new_size: int) -> torch.Tensor:
    """A layout layer's weight (channels * size^2, D) or bias (channels * size^2,) on a new_size grid, bilinearly."""
    trailing = tensor.shape[1:]
    grid = tensor.reshape(channels, size, size, -1).permute(3, 0, 1, 2)           # (D, k, s, s)
    grid = F.interpolate(grid.float(), size=(new_size, new_size), mode="bilinear", align_corners=False)
    return grid.permute(1, 2, 3, 0).reshape(channels * new_size**2, *trailing).to(tensor.dtype)


def _copy_weights(path: Path, theirs: dict[str, torch.Tensor], ours: dict[str, torch.Tensor],
                  adapt: Callable[[str, torch.Tensor, torch.Tensor], bool], what: str) -> tuple[int, int]:
    """Copy every tensor of `theirs` into `ours`: whole where the shapes agree, else by `adapt`
    (which returns False where it does not apply). Returns (copied whole, adapted)."""
    copied = adapted = 0
    for name, tensor in theirs.items():
        target = ours[name]
        if target.shape == tensor.shape:
            target.copy_(tensor)
            copied += 1
        elif adapt(name, tensor, target):
            adapted += 1
        else:
            raise CheckpointError(f"{path}: {name} is {tuple(tensor.shape)} there but "
                                  f"{tuple(target.shape)} here; warm starts need the same {what}")
    return copied, adapted


def _check_same_process(path: Path, theirs, ours) -> None:
    """The weights only mean the same thing under the same noise process and image format."""
    for name in ("schedule", "num_train_timesteps", "prediction", "image_size", "in_channels"):
        if getattr(theirs, name) != getattr(ours, name):
            raise CheckpointError(f"{path}: its {name} is {getattr(theirs, name)!r}, this model's "
                                  f"{getattr(ours, name)!r}; a warm start needs the same")
