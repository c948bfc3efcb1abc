"""The checkpoints shipped in the repository's `assets/` folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import CheckpointError, CheckpointMeta, WEIGHTS_NAME, read_meta

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


def default_checkpoint(family: str) -> Path:
    name = DEFAULT_CHECKPOINTS.get(family)
    if name is None:
        raise CheckpointError(f"no shipped checkpoint for family {family!r}; pass --checkpoint FILE")
    path = assets_dir() / name / WEIGHTS_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: the shipped {family} checkpoint is missing; re-create it with the command in README.md")
    return path
