"""Device choice and seeding: CUDA if present, else MPS, else CPU, always overridable."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(requested: str | None = "auto") -> torch.device:
    """The device to run on; `requested` overrides the automatic choice.

    Asking for a device that is not there is an error rather than a silent fallback, so
    a benchmark never reports CPU numbers under a CUDA label.
    """
    requested = (requested or "auto").lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise ValueError("--device mps was asked for, but this machine has no MPS")
    try:
        return torch.device(requested)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {requested!r}; use one of {', '.join(DEVICE_CHOICES)}") from exc


def model_device(model: object) -> torch.device:
    """The device a model's weights live on; the CPU for a plain function or a model without weights."""
    if isinstance(model, nn.Module):
        for tensor in model.parameters():
            return tensor.device
        for tensor in model.buffers():
            return tensor.device
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run repeats on the same device."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seeded_normal(shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal noise drawn on the CPU from `seed`, then moved to `device`.

    Drawing on the CPU makes a seed mean the same latent on every device.
    """
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator).to(device)


def describe_device(device: torch.device) -> str:
    """A short label for the status bar and `playground info`."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
