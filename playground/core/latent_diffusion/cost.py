"""What latent space buys: the cost of one denoising step of each kind of network, measured here.

For the pixel U-Net (`ddpm`, else `text2img`), the latent U-Net (`ldm`), the DiT and the SiT:
the numbers each denoises per image (3x32x32 = 3072 pixels against a 4x8x8 = 256-value latent),
the GFLOPs of one forward (torch.utils.flop_counter: 2 per multiply-add of every matmul,
convolution and attention), and the wall time of one forward at batch 1 and 2 (batch 2 is a
guided step: the unconditional and the conditional branch in one batch), the median of
`repeats` timed calls after a warm-up, on this machine with torch's current thread count.

A measurement is cached per checkpoint file (path, size, modification time) and setting, so a
window asking again costs nothing; a checkpoint rewritten by a training run is measured anew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..assets import ShippedCheckpoint, shipped_for
from ..checkpoints import LoadedModel
from ..device import model_device

# the networks compared, in display order: family -> what it is (the pixel U-Net: ddpm, else text2img)
COST_KINDS: dict[str, str] = {"ddpm": "pixel U-Net", "text2img": "pixel U-Net", "ldm": "latent U-Net",
                              "dit": "latent DiT", "sit": "latent SiT"}
PIXEL_FAMILIES: tuple[str, ...] = ("ddpm", "text2img")
LATENT_COST_FAMILIES: tuple[str, ...] = ("ldm", "dit", "sit")
REPEATS = 10


@dataclass(frozen=True)
class ForwardCost:
    """One network's cost per denoising step."""

    name: str          # the checkpoint
    family: str
    values: int        # numbers it denoises per image (C x H x W of x_t)
    parameters: int    # of the denoiser (a latent model's frozen autoencoder and prompt encoder excluded)
    gflops: float      # one forward of one image
    ms_batch1: float   # median wall time of one forward, batch 1
    ms_batch2: float   # batch 2: one guided step
    threads: int

    @property
    def kind(self) -> str:
        return COST_KINDS.get(self.family, self.family)


def count_flops(fn: Callable[..., object], *args, **kwargs) -> int:
    """Floating-point operations of `fn(*args, **kwargs)` as torch.utils.flop_counter counts them."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


def median_ms(fn: Callable[[], object], repeats: int = REPEATS, warmup: int = 2,
              on_repeat: Callable[[], None] | None = None) -> float:
    """The median wall time of `fn()` in milliseconds over `repeats` calls, after `warmup` untimed ones."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if on_repeat is not None:
            on_repeat()
    return float(np.median(times)) * 1000.0


def image_shape(model: nn.Module) -> tuple[int, int, int]:
    """The shape of x_t the network denoises: a latent denoiser's latent, a pixel U-Net's image."""
    config = model.config
    if hasattr(config, "latent_shape"):
        return tuple(config.latent_shape)
    return (config.in_channels, config.image_size, config.image_size)


def step_inputs(model: nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """x_t, t and the condition (the null prompt, for a text model) of one step at `batch`."""
    device = model_device(model)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *image_shape(model)), generator=generator).to(device)
    t = torch.full((batch,), model.noise_schedule.num_train_timesteps // 2, dtype=torch.int64, device=device)
    kwargs = {"cond": model.embed(None, batch).to(device)} if hasattr(model, "embed") else {}
    return x, t, kwargs


def denoiser_parameters(model: nn.Module) -> int:
    """Parameters of the network that runs every step (not a frozen first stage or a prompt encoder,
    which run once per image)."""
    skip = {id(p) for name in ("first_stage", "prompt_encoder") if hasattr(model, name)
            for p in getattr(model, name).parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def measure(loaded: LoadedModel, repeats: int = REPEATS, on_repeat: Callable[[], None] | None = None) -> ForwardCost:
    """Measure one checkpoint's step now (see the module docstring)."""
    model = loaded.model
    with torch.inference_mode():
        x1, t1, kw1 = step_inputs(model, 1)
        x2, t2, kw2 = step_inputs(model, 2)
    flops = count_flops(model, x1, t1, **kw1)
    with torch.inference_mode():
        ms1 = median_ms(lambda: model(x1, t1, **kw1), repeats, on_repeat=on_repeat)
        ms2 = median_ms(lambda: model(x2, t2, **kw2), repeats, on_repeat=on_repeat)
    return ForwardCost(loaded.name, loaded.family, int(np.prod(image_shape(model))), denoiser_parameters(model),
                       flops / 1e9, ms1, ms2, torch.get_num_threads())


_CACHE: dict[tuple, ForwardCost] = {}


def cache_key(loaded: LoadedModel, repeats: int) -> tuple:
    path = Path(loaded.path).resolve()
    stat = path.stat()
    device = str(model_device(loaded.model))
    return (str(path), stat.st_size, stat.st_mtime_ns, repeats, device, torch.get_num_threads())


def cached_measure(loaded: LoadedModel, repeats: int = REPEATS,
                   on_repeat: Callable[[], None] | None = None) -> ForwardCost:
    """`measure`, once per checkpoint file and setting (see the module docstring)."""
    key = cache_key(loaded, repeats)
    if key not in _CACHE:
        _CACHE[key] = measure(loaded, repeats, on_repeat)
    return _CACHE[key]


def is_cached(loaded: LoadedModel, repeats: int = REPEATS) -> bool:
    return cache_key(loaded, repeats) in _CACHE


def cost_checkpoints() -> list[ShippedCheckpoint]:
    """The shipped networks the table compares: the pixel U-Net (ddpm, else text2img), ldm, dit, sit."""
    pixel = next((c for c in map(shipped_for, PIXEL_FAMILIES) if c is not None), None)
    latent = [shipped_for(f) for f in LATENT_COST_FAMILIES]
    return [c for c in [pixel, *latent] if c is not None]


def cost_table(costs: list[ForwardCost]) -> str:
    """The measurements as a text table (for the command line and the window's copy)."""
    lines = [f"{'network':<14}{'checkpoint':<22}{'values':>7}{'params':>10}{'GFLOP':>8}{'ms b=1':>8}{'ms b=2':>8}"]
    for c in costs:
        lines.append(f"{c.kind:<14}{c.name[:21]:<22}{c.values:>7}{c.parameters:>10,}{c.gflops:>8.3f}"
                     f"{c.ms_batch1:>8.2f}{c.ms_batch2:>8.2f}")
    if costs:
        lines.append(f"(one forward per step, median of timed calls, {costs[0].threads} torch thread(s))")
    return "\n".join(lines)
