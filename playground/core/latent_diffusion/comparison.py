"""Flow vs diffusion: the same initial noise through DDPM, DDIM (the `dit`, a noise predictor on a
DDPM schedule) and the flow ODE (the `sit`: Euler, Heun), and how straight each path is.

Same noise: x_T of DDPM/DDIM and x_1 of the flow are both the first N(0, I) draw of the seed's
noise stream (`diffusion.sampling.NoiseStream`), so every sampler starts from the very same latent.

The paths are compared on one axis, the noise level

    sigma = sqrt(1 - alpha-bar) / (sqrt(alpha-bar) + sqrt(1 - alpha-bar)),

which is the flow's own time s (its `alphas_cumprod` is the variance-preserving process of equal
signal-to-noise ratio) and, for the DDPM schedule, the s of the flow with the same SNR: 1 is pure
noise, 0 the sample.

Straightness (rectified flow, Liu et al. 2023, sec. 2.2): the straight-line distance from x_T to
x_0 over the length of the path the sampler walked, over the whole latent; 1 is a straight line.
A straight path is why a flow survives few steps: Euler's one step is exact on a straight line.
Per latent value, `chord_deviation` is the largest distance of the value's path from the chord
between its ends, drawn linearly in the noise level (0 for a value moving at constant speed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..checkpoints import LoadedModel
from ..data import to_uint8
from ..device import model_device
from ..diffusion.guidance import ClassifierFreeGuidance
from ..diffusion.sampling import EpsModel, initial_noise, sample_steps
from ..diffusion.schedulers import TimestepSpacing, make_scheduler
from ..images import labelled_grid
from ..provenance import helper_header, picture_recipe

# the compared samplers, in display order, and the family whose model each runs
SAMPLER_FAMILIES: dict[str, str] = {"ddpm": "dit", "ddim": "dit", "euler": "sit", "heun": "sit"}
SAMPLER_NAMES: dict[str, str] = {"ddpm": "DDPM", "ddim": "DDIM", "euler": "Euler (flow)", "heun": "Heun (flow)"}
DIFFUSION_SAMPLERS: tuple[str, ...] = ("ddpm", "ddim")
SPACINGS: tuple[str, ...] = ("leading", "trailing")
SWEEP_STEPS: tuple[int, ...] = (1, 2, 5, 10, 20, 50)
MAX_STEPS = 100

OnStep = Callable[[], None]


def noise_level(alphas_cumprod: torch.Tensor, t: int) -> float:
    """sigma of the module docstring at timestep t (0 after the last step, t = -1)."""
    if t < 0:
        return 0.0
    a = float(alphas_cumprod[int(t)])
    signal, noise = a ** 0.5, max(1.0 - a, 0.0) ** 0.5
    return noise / (signal + noise)


def straightness(path: np.ndarray) -> float:
    """|x_0 - x_T| / (sum of |x_{k+1} - x_k|) over the whole latent, for a path (K+1, ...): 1 = straight."""
    flat = np.asarray(path, np.float64).reshape(len(path), -1)
    length = float(np.linalg.norm(np.diff(flat, axis=0), axis=1).sum())
    if length == 0.0:
        return 1.0
    return float(np.linalg.norm(flat[-1] - flat[0])) / length


def chord_deviation(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per value, the largest |x(sigma) - chord(sigma)|, the chord joining the path's ends linearly in
    the noise level. `values` (K+1, ...) along the path, `levels` (K+1,) its noise levels."""
    values = np.asarray(values, np.float64)
    levels = np.asarray(levels, np.float64)
    span = levels[0] - levels[-1]
    w = (levels[0] - levels) / span if span else np.linspace(0.0, 1.0, len(levels))
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    chord = values[0] + w * (values[-1] - values[0])
    return np.abs(values - chord).max(axis=0)


@dataclass(frozen=True)
class SamplerPath:
    """One sampler's walk from the shared x_T to its sample."""

    sampler: str
    family: str
    steps: int
    timesteps: tuple[int, ...]   # t of each point; the last is -1 (the sample)
    levels: np.ndarray           # (K+1,) noise level of each point, 1 .. 0
    latents: np.ndarray          # (K+1, C, H, W) float32: x_T, ..., x_0
    image: np.ndarray            # (H, W, 3) uint8: x_0 decoded by the model's autoencoder
    evaluations: int             # network forwards the run took (Heun: two per step but the last)

    @property
    def straightness(self) -> float:
        return straightness(self.latents)

    @property
    def name(self) -> str:
        return SAMPLER_NAMES.get(self.sampler, self.sampler)

    def value_path(self, channel: int, row: int, col: int) -> np.ndarray:
        """(K+1,) the path of one latent value."""
        return self.latents[:, channel, row, col]

    def deviation(self, channel: int, row: int, col: int) -> float:
        return float(chord_deviation(self.value_path(channel, row, col), self.levels))


def guided(model: nn.Module, prompt: str = "", guidance_scale: float = 1.0) -> EpsModel:
    """The model function a sampler calls: the plain model for no prompt (its null condition),
    classifier-free guidance toward `prompt` at w otherwise."""
    if not prompt:
        return model
    return ClassifierFreeGuidance.for_prompt(model, prompt, guidance_scale)


def sampler_path(model: nn.Module, sampler: str, steps: int, seed: int, *, prompt: str = "",
                 guidance_scale: float = 1.0, spacing: TimestepSpacing = "leading",
                 on_step: OnStep | None = None) -> SamplerPath:
    """Run `sampler` for `steps` steps from the seed's x_T and keep every x_t (latents: never clipped).

    `spacing` places DDPM/DDIM's steps (the flow's are always 1 .. 0 evenly). "leading" (diffusers' and
    the app's samplers' default) starts n steps at t = (n - 1) T / n: x_T stands in for a less noisy
    x_t, and one step is a step at t = 0 that returns x_T as the sample (Lin et al. 2024, "Common
    diffusion noise schedules and sample steps are flawed"). "trailing" starts at t = T - 1, pure noise
    as for the flow; but there the cosine schedule's sqrt(alpha-bar) is ~5e-5, and an epsilon model's
    x0 = (x_t - sqrt(1 - alpha-bar) eps) / sqrt(alpha-bar) multiplies its error by ~2e4: the shipped
    dit's unclipped latents blow up at every step count (the fix is a zero-terminal-SNR schedule with
    velocity prediction: the flow is one).
    """
    scheduler = make_scheduler(sampler, model.noise_schedule, steps)
    if sampler in DIFFUSION_SAMPLERS and scheduler.spacing != spacing:
        scheduler.spacing = spacing
        scheduler.set_timesteps(steps)
    fn = guided(model, prompt, guidance_scale)
    latents, timesteps, last = [], [], None
    for record in sample_steps(fn, scheduler, n=1, seed=seed):
        latents.append(record.x_t[0].numpy())
        timesteps.append(record.t)
        last = record
        if on_step is not None:
            on_step()
    latents.append(last.x_prev[0].numpy())
    timesteps.append(-1)
    alphas = scheduler.alphas_cumprod
    with torch.inference_mode():
        image = to_uint8(model.decode(last.x_prev.to(model_device(model))))[0]
    evaluations = steps + (steps - 1 if getattr(scheduler, "needs_model", False) else 0)
    return SamplerPath(sampler, SAMPLER_FAMILIES.get(sampler, ""), steps, tuple(timesteps),
                       np.array([noise_level(alphas, t) for t in timesteps], np.float32),
                       np.stack(latents).astype(np.float32), image, evaluations)


def compare(models: dict[str, nn.Module], steps: int, seed: int, *, samplers: Iterable[str] = SAMPLER_FAMILIES,
            prompt: str = "", guidance_scale: float = 1.0, spacing: TimestepSpacing = "leading",
            on_step: OnStep | None = None) -> list[SamplerPath]:
    """Every sampler whose family is in `models` ({"dit": ..., "sit": ...}), `steps` steps each, one seed."""
    return [sampler_path(models[SAMPLER_FAMILIES[s]], s, steps, seed, prompt=prompt, guidance_scale=guidance_scale,
                         spacing=spacing, on_step=on_step)
            for s in samplers if SAMPLER_FAMILIES[s] in models]


def steps_sweep(models: dict[str, nn.Module], steps_list: Sequence[int], seed: int,
                **kwargs) -> dict[int, list[SamplerPath]]:
    """`compare` at each number of steps: steps -> the samplers' paths (one final sample each)."""
    return {int(n): compare(models, int(n), seed, **kwargs) for n in steps_list}


def sweep_steps_total(steps_list: Sequence[int], samplers: Iterable[str] = SAMPLER_FAMILIES) -> int:
    """The sampler steps a sweep runs (for a progress bar)."""
    return sum(int(n) for n in steps_list) * len(list(samplers))


def sweep_picture(sweep: dict[int, list[SamplerPath]], scale: int = 4) -> np.ndarray:
    """The final samples as a table: one row per sampler, one column per number of steps."""
    steps = sorted(sweep)
    rows = [p.sampler for p in sweep[steps[0]]]
    images = np.stack([np.stack([next(p for p in sweep[n] if p.sampler == s).image for n in steps]) for s in rows])
    labels = [f"{SAMPLER_NAMES[s]} ({SAMPLER_FAMILIES[s]})" for s in rows]
    return labelled_grid(images, [f"{n} step{'s' if n > 1 else ''}" for n in steps], labels, scale=scale)


def straightness_table(sweep: dict[int, list[SamplerPath]]) -> str:
    """The straightness of every run as text: samplers down, steps across."""
    steps = sorted(sweep)
    lines = ["straightness |x_0 - x_T| / path length (1 = a straight line)",
             f"{'sampler':<14}" + "".join(f"{n:>8}" for n in steps)]
    for s in [p.sampler for p in sweep[steps[0]]]:
        values = [next(p for p in sweep[n] if p.sampler == s).straightness for n in steps]
        lines.append(f"{SAMPLER_NAMES[s]:<14}" + "".join(f"{v:>8.3f}" for v in values))
    return "\n".join(lines)


def sweep_recipe(loaded: dict[str, LoadedModel], sweep: dict[int, list[SamplerPath]], *, seed: int, prompt: str,
                 guidance_scale: float, spacing: str, scale: int) -> dict:
    """The recipe of a `sweep_picture`: the sit's header (else the dit's), the dit as a second network."""
    main = loaded.get("sit") or loaded["dit"]
    helpers = helper_header("dit", loaded["dit"]) if main.family == "sit" and "dit" in loaded else {}
    steps = sorted(sweep)
    samplers = [p.sampler for p in sweep[steps[0]]]
    straight = {s: [next(p for p in sweep[n] if p.sampler == s).straightness for n in steps] for s in samplers}
    return picture_recipe(main, "flow-compare", seed=int(seed), steps=steps, samplers=samplers, prompt=prompt,
                          guidance_scale=float(guidance_scale), spacing=spacing, scale=int(scale),
                          straightness=straight, **helpers)


def shared_noise(model: nn.Module, seed: int) -> np.ndarray:
    """x_T (C, H, W) every sampler starts from: the seed's first draw."""
    return initial_noise(1, tuple(model.config.latent_shape), seed)[0].numpy()

