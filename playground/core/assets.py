"""The checkpoints shipped in the repository's `assets/` folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import WEIGHTS_NAME, CheckpointError, CheckpointMeta, LoadedModel, load_checkpoint, read_meta

# Which shipped checkpoint a family uses when no --checkpoint is given.
DEFAULT_CHECKPOINTS = {
    "vae": "vae-shapes",
    "ae": "ae-shapes",
    "classifier": "classifier-shapes",
    "ddpm": "ddpm-shapes",
    "vqvae": "vqvae-shapes",
    "gan": "gan-shapes",
    "text2img": "text2img-shapes",
    "noisy-classifier": "noisy-classifier-shapes",
    "autoencoder-kl": "autoencoder-kl-shapes",
    "ldm": "ldm-shapes",
    "dit": "dit-shapes",
    "sit": "sit-shapes",
    "vqgan": "vqgan-shapes",
    "dalle": "dalle-shapes",
    "clip": "clip-shapes",
    "dae": "dae-shapes",
}


def assets_dir() -> Path:
    """`$PLAYGROUND_ASSETS`, else the repository's assets/ next to the package."""
    env = os.environ.get("PLAYGROUND_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets"


@dataclass(frozen=True)
class ShippedCheckpoint:
    name: str
    path: Path
    meta: CheckpointMeta


def list_shipped() -> list[ShippedCheckpoint]:
    """Every valid checkpoint folder under assets/, sorted by name (broken ones are skipped)."""
    root = assets_dir()
    found = []
    for folder in sorted(p for p in root.glob("*") if (p / WEIGHTS_NAME).exists()):
        try:
            found.append(ShippedCheckpoint(folder.name, folder / WEIGHTS_NAME, read_meta(folder)))
        except CheckpointError:
            continue
    return found


def shipped_for(family: str) -> ShippedCheckpoint | None:
    """The shipped checkpoint a family opens with: its default, else the first of that family, else None.

    The one policy for "which shipped model" (the CLI's defaults, the GUI's start-up model,
    the helper models a guided run loads, `reproduce`'s fallback).
    """
    candidates = [c for c in list_shipped() if c.meta.family == family]
    candidates.sort(key=lambda c: c.name != DEFAULT_CHECKPOINTS.get(family))  # stable: the default first
    return candidates[0] if candidates else None


def shipped_named(name: str) -> ShippedCheckpoint | None:
    """The shipped checkpoint called `name` (its folder under assets/), or None."""
    return next((c for c in list_shipped() if c.name == name), None)


def default_checkpoint(family: str) -> Path:
    """The weights `shipped_for(family)` picks; CheckpointError saying what to do when there are none."""
    shipped = shipped_for(family)
    if shipped is not None:
        return shipped.path
    name = DEFAULT_CHECKPOINTS.get(family)
    if name is None:
        raise CheckpointError(f"no shipped checkpoint for family {family!r}; pass --checkpoint FILE")
    raise CheckpointError(f"{assets_dir() / name / WEIGHTS_NAME}: the shipped {family} checkpoint is missing; "
                          "re-create it with the command in README.md")


def open_model(checkpoint: str | Path | None, families: tuple[str, ...], device: torch.device | str = "cpu") -> LoadedModel:
    """The checkpoint a command names (else the shipped default of `families[0]`), refused with a
    one-line CheckpointError when it holds a model of another family."""
    path = Path(checkpoint) if checkpoint else default_checkpoint(families[0])
    return load_checkpoint(path, device, families=families)
