"""What a file given to the window is (a checkpoint, an exported PNG, neither) and why one does
not open, in words that name the file: never a bare exception name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..core.checkpoints import WEIGHTS_NAME
from ..core.diffusers_io.folder import is_diffusers_folder

CHECKPOINT_SUFFIXES = (".safetensors", ".json")


def file_kind(path: Path) -> Literal["checkpoint", "png", "other"]:
    """What a dropped or opened path is meant to be, by its name (its content is checked on opening)."""
    if path.suffix.lower() in CHECKPOINT_SUFFIXES or (path.is_dir() and (path / WEIGHTS_NAME).exists()):
        return "checkpoint"
    if is_diffusers_folder(path):  # a diffusers pipeline (model_index.json beside its parts)
        return "checkpoint"
    return "png" if path.suffix.lower() == ".png" and not path.is_dir() else "other"


def not_openable(path: Path) -> str:
    """Why a dropped path that is neither a PNG nor a checkpoint cannot be opened."""
    what = f"a folder without a {WEIGHTS_NAME}" if path.is_dir() else "not a PNG or a checkpoint"
    return (f"cannot open {path.name}: {what}. Drop a PNG exported by playground, a checkpoint "
            f"(.safetensors or .json), a folder holding {WEIGHTS_NAME} or a diffusers pipeline folder "
            f"(model_index.json).")


def not_a_checkpoint(path: str | Path, exc: Exception) -> str:
    """Why `path` did not open as a checkpoint, naming the file."""
    path = Path(path)
    if not path.exists():
        return f"{path}: no such file or folder."
    if path.is_dir() and not (path / WEIGHTS_NAME).exists() and not is_diffusers_folder(path):
        return f"{path} is a folder without a {WEIGHTS_NAME}: not a checkpoint folder."
    if path.is_file() and path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        return (f"{path.name} is not a checkpoint: a checkpoint is a .safetensors file with its .json "
                f"beside it, or a folder holding both ({path}).")
    return str(exc).rstrip(".") + "."
