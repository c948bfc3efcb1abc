"""The user's cache folder ($XDG_CACHE_HOME/playground/<kind>) and arrays kept there.

What is cached can always be computed again: a cache that cannot be read is recomputed, one
that cannot be written (a read-only home) is skipped, and every write is atomic (a temporary
file renamed into place), so two processes never read half a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np


def user_cache_dir(kind: str) -> Path:
    """$XDG_CACHE_HOME/playground/<kind> (~/.cache when XDG_CACHE_HOME is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "playground" / kind


def cached_array(folder: Path, name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
    """folder/name.npy if it can be read, else `make()` (stored there when the folder is writable)."""
    path = folder / f"{name}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass
    array = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temp, array)
        os.replace(temp, path)
    except OSError:
        pass  # a read-only home: computed again next time
    return array


def store_text(path: Path, text: str) -> None:
    """Write a cache file atomically; a folder that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(text)
        os.replace(temp, path)
    except OSError:
        pass
