"""Where exported models live on disk, and the key that names each one.

A file is named by the SHA-256 of everything that decides its contents: the weights (every
tensor of the state dict, with its name, dtype and shape), the network's class, the input
shapes it was exported for, and the versions of torch, the exporter's opset and the
runtime. Changing any of them names another file, so a stale export is never loaded;
old files are simply left behind (delete the folder to reclaim the space).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

import torch
from torch import nn


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/playground/backends (~/.cache/playground/backends without it)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "playground" / "backends"


_digests: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], str]]" = weakref.WeakKeyDictionary()


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a module's state dict: names, dtypes, shapes and bytes, in name order.

    Remembered per module until a weight changes in place (its tensor's version counter moves):
    the app asks before every run, and hashing a latent model with its autoencoder takes ~20 ms."""
    try:
        versions = tuple(tensor._version for tensor in model.state_dict().values())
    except RuntimeError:  # an inference-mode tensor has no version counter: hash every time
        return _digest(model)
    known = _digests.get(model)
    if known is None or known[0] != versions:
        known = _digests[model] = (versions, _digest(model))
    return known[1]


def _digest(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def cache_key(weights: str, **parts: Any) -> str:
    """The file stem for an export: the weights' digest and every other part, hashed together."""
    text = weights + "|" + "|".join(f"{k}={parts[k]}" for k in sorted(parts))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
