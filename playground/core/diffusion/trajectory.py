"""A sampling run kept for replay: every step as display images, its numbers, and its x_t.

The step-by-step view scrubs, animates, branches and exports a finished run without
calling the model again, so a run is cached as a `Trajectory`. Keeping the raw
`StepRecord`s would cost 4 float32 tensors per step (47 MiB for DDPM-1000 at 32x32);
a trajectory keeps instead, per step:

- the four views (x_t, predicted noise, predicted x0, injected noise) as uint8 images,
  which is what the screen, the GIF and the PNG strip show;
- x_t as float32, the state a branch restarts from (exactly: branching at step k with
  the run's own seed replays the run bit for bit, see `sampling.sample_steps`);
- the numbers the plots need: t, sigma_t and the norms of x_t, predicted noise and x0.

For (3, 32, 32) images that is 12 KiB + 4 x 3 KiB = 24 KiB a step: DDPM-1000 takes about
24 MiB, DDIM-50 about 1.2 MiB (`Trajectory.nbytes` counts it). One image per run: this
is the view of a single sample, not of a batch.

`trace` is `sample_steps` that fills a trajectory as it goes and yields it after every
step, so a caller shows previews and stops between steps just as with `sample_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import torch

from ..data import to_uint8
from ..images import make_grid, save_gif, upscale
from .sampling import EpsModel, StepRecord, sample_steps
from .schedulers import Scheduler, SchedulerKind, make_scheduler
from .schedules import NoiseSchedule

View = Literal["x_t", "pred_noise", "pred_x0", "noise"]
VIEWS: tuple[str, ...] = ("x_t", "pred_noise", "pred_x0", "noise")
NOISE_VIEWS: frozenset[str] = frozenset({"pred_noise", "noise"})
NOISE_DISPLAY_SIGMA = 2.0  # noise images map [-2, 2] (two standard deviations) to 0..255


def image_to_uint8(x: torch.Tensor) -> np.ndarray:
    """One image (C, H, W) in [-1, 1] to (H, W, 3) uint8, clipping what lies outside."""
    return to_uint8(x[None])[0]


def noise_to_uint8(z: torch.Tensor) -> np.ndarray:
    """One noise image (C, H, W), roughly N(0, I), to (H, W, 3) uint8 showing +-2 sigma."""
    return to_uint8(z[None] / NOISE_DISPLAY_SIGMA)[0]


@dataclass(frozen=True)
class SamplerSettings:
    """Which sampler runs a trajectory: DDPM (ancestral) or DDIM with `steps` and `eta`.

    `clip_x0` clips the predicted x0 to [-1, 1] before each update (diffusers' clip_sample,
    improved-diffusion's clip_denoised, both on by default). Without it a run that starts at
    t = T-1 of the cosine schedule, where alpha-bar is about 2e-9, divides the model's error
    by sqrt(alpha-bar) ~ 5e-5 and DDPM's x_t grows without bound.

    `use_clipped_model_output` has DDIM step with the eps the clipped x0 implies, which
    guided runs need (see DDIMScheduler); off here, as in diffusers, for the plain model.
    """

    kind: SchedulerKind
    steps: int
    eta: float = 0.0
    clip_x0: bool = True
    use_clipped_model_output: bool = False

    def make(self, schedule: NoiseSchedule) -> Scheduler:
        return make_scheduler(self.kind, schedule, self.steps, eta=self.eta, clip_x0=self.clip_x0,
                              use_clipped_model_output=self.use_clipped_model_output)

    @property
    def deterministic(self) -> bool:
        """DDIM with eta 0 adds no noise after x_T, so a new seed cannot change its later steps."""
        return self.kind == "ddim" and self.eta == 0.0

    def describe(self) -> str:
        clip = "" if self.clip_x0 else ", x0 not clipped"
        if self.kind == "ddpm":
            return f"DDPM, {self.steps} steps{clip}"
        return f"DDIM, {self.steps} steps, eta {self.eta:g}{clip}"


@dataclass(frozen=True)
class BranchPoint:
    """Where a branch left its parent run: it restarts from the parent's x_t at step index
    `start_index` (0-based, as `sample_steps` counts), so the steps before it are the parent's.
    `parent` is the parent's recipe (itself a branch's, for a branch of a branch)."""

    parent: dict
    start_index: int

    @property
    def parent_seed(self) -> int:
        return int(self.parent["seed"])


class Trajectory:
    """Every step of one sampled image, preallocated for the run's number of steps.

    Step i goes from x_t at `t[i]` to x at `t_prev[i]`; the last step's predicted x0 is
    the sample (both DDPM and DDIM land exactly on it), `final` is that sample's floats.
    """

    def __init__(self, settings: SamplerSettings, seed: int, timesteps: np.ndarray, shape: tuple[int, int, int],
                 schedule: NoiseSchedule, branch: BranchPoint | None = None):
        c, h, w = shape
        n = len(timesteps)
        self.settings = settings
        self.seed = int(seed)
        self.branch = branch
        self.schedule_name = schedule.name
        self.shape = (c, h, w)
        self.t = np.asarray(timesteps, np.int64).copy()
        self.t_prev = np.concatenate([self.t[1:], [-1]])
        self.frames: dict[str, np.ndarray] = {view: np.zeros((n, h, w, 3), np.uint8) for view in VIEWS}
        self.states = np.zeros((n, c, h, w), np.float32)     # x_t, to branch from
        self.noise_std = np.zeros(n, np.float32)
        self.has_noise = np.zeros(n, bool)
        self.norms: dict[str, np.ndarray] = {view: np.full(n, np.nan, np.float32) for view in ("x_t", "pred_noise", "pred_x0")}
        self.final: np.ndarray | None = None                  # (C, H, W) float32 x_0 once complete
        self.count = 0

    @classmethod
    def for_run(cls, settings: SamplerSettings, seed: int, scheduler: Scheduler, shape: tuple[int, int, int],
                branch: BranchPoint | None = None) -> "Trajectory":
        return cls(settings, seed, scheduler.timesteps.numpy(), shape, scheduler.schedule, branch)

    # --- filling ---------------------------------------------------------------------------------

    def append(self, record: StepRecord) -> None:
        """Store one step of a single-image run (records must come in order)."""
        i = record.index
        if i != self.count:
            raise ValueError(f"expected step {self.count}, got step {i}")
        x_t, eps, x0 = record.x_t[0], record.pred_noise[0], record.pred_x0[0]
        self.frames["x_t"][i] = image_to_uint8(x_t)
        self.frames["pred_noise"][i] = noise_to_uint8(eps)
        self.frames["pred_x0"][i] = image_to_uint8(x0)
        if record.noise is not None:
            self.frames["noise"][i] = noise_to_uint8(record.noise[0])
            self.has_noise[i] = True
        self.states[i] = x_t.numpy()
        self.noise_std[i] = record.noise_std
        d = x_t.numel()
        for view, value in (("x_t", x_t), ("pred_noise", eps), ("pred_x0", x0)):
            self.norms[view][i] = float(value.norm()) / d ** 0.5
        self.count = i + 1
        if record.is_last:
            self.final = record.x_prev[0].numpy().copy()

    def copy_prefix(self, parent: "Trajectory", steps: int) -> None:
        """Take the first `steps` steps from `parent` (a branch shares them)."""
        if parent.count < steps:
            raise ValueError(f"the parent run has {parent.count} steps, fewer than {steps}")
        for view in VIEWS:
            self.frames[view][:steps] = parent.frames[view][:steps]
        for view in self.norms:
            self.norms[view][:steps] = parent.norms[view][:steps]
        self.states[:steps] = parent.states[:steps]
        self.noise_std[:steps] = parent.noise_std[:steps]
        self.has_noise[:steps] = parent.has_noise[:steps]
        self.count = steps

    # --- reading -----------------------------------------------------------------------------------

    @property
    def num_steps(self) -> int:
        return len(self.t)

    @property
    def complete(self) -> bool:
        return self.count == self.num_steps

    @property
    def nbytes(self) -> int:
        """Memory the cached run holds (images, states and numbers)."""
        arrays = [*self.frames.values(), self.states, self.noise_std, self.has_noise, *self.norms.values(), self.t, self.t_prev]
        return sum(a.nbytes for a in arrays) + (self.final.nbytes if self.final is not None else 0)

    def frame(self, view: str, index: int) -> np.ndarray:
        """The (H, W, 3) uint8 image of `view` at step `index` (a view into the cache)."""
        return self.frames[view][index]

    def final_image(self) -> np.ndarray:
        if self.final is None:
            raise ValueError("the run has not finished")
        return image_to_uint8(torch.from_numpy(self.final))

    def describe(self) -> str:
        text = f"{self.settings.describe()}, seed {self.seed}"
        if self.branch is not None:
            text += f" (branch of seed {self.branch.parent_seed} from step {self.branch.start_index + 1})"
        return text

    def recipe(self) -> dict:
        """How to re-create this run (JSON-ready)."""
        recipe = {
            "sampler": self.settings.kind, "steps": self.settings.steps, "eta": self.settings.eta,
            "clip_x0": self.settings.clip_x0, "seed": self.seed, "schedule": self.schedule_name,
        }
        if self.branch is not None:
            recipe["branch"] = {"start_index": self.branch.start_index, "parent": self.branch.parent}
        return recipe

    def nearest_step(self, t: int) -> int:
        """The step whose timestep is closest to t."""
        return int(np.argmin(np.abs(self.t - int(t))))


def trace(model: EpsModel, schedule: NoiseSchedule, settings: SamplerSettings, seed: int, *,
          shape: tuple[int, int, int] | None = None, device: torch.device | str | None = None,
          branch_from: Trajectory | None = None, branch_step: int = 0) -> Iterator[Trajectory]:
    """Sample one image step by step, yielding its (growing) trajectory after every step.

    With `branch_from`, the run takes that run's steps before `branch_step` as they are and
    continues from its x_t at `branch_step` with `seed`'s noise for the remaining steps:
    the parent's seed replays the parent, another seed shows what was still undecided.
    """
    if branch_from is not None:
        if not 0 <= branch_step < branch_from.count:
            raise ValueError(f"branch step must be between 0 and {branch_from.count - 1}, not {branch_step}")
        settings = branch_from.settings
        shape = branch_from.shape
    scheduler = settings.make(schedule)
    if shape is None:
        config = getattr(model, "config")
        shape = tuple(config.latent_shape) if hasattr(config, "latent_shape") else (config.in_channels, config.image_size, config.image_size)
    if branch_from is None:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape)
        steps = sample_steps(model, scheduler, seed=seed, shape=shape, device=device)
    else:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape, BranchPoint(branch_from.recipe(), branch_step))
        trajectory.copy_prefix(branch_from, branch_step)
        start = torch.from_numpy(branch_from.states[branch_step][None].copy())
        steps = sample_steps(model, scheduler, seed=seed, x_t=start, start_index=branch_step, device=device)
    for record in steps:
        trajectory.append(record)
        yield trajectory


def run_trajectory(model: EpsModel, schedule: NoiseSchedule, settings: SamplerSettings, seed: int, **kwargs) -> Trajectory:
    """The finished trajectory of `trace` (same arguments)."""
    trajectory = None
    for trajectory in trace(model, schedule, settings, seed, **kwargs):
        pass
    if trajectory is None:
        raise ValueError("the sampler has no steps")
    return trajectory


# --- pictures of a run: a frame, a strip of chosen steps, the frames of an animation -------------------


def evenly_spaced_steps(num_steps: int, count: int) -> list[int]:
    """`count` step indices from the first to the last, evenly spread (all of them if fewer)."""
    if num_steps <= 0:
        return []
    count = max(1, min(count, num_steps))
    return sorted({int(round(i)) for i in np.linspace(0, num_steps - 1, count)})


def frame_row(trajectory: Trajectory, index: int, views: tuple[str, ...] = ("x_t", "pred_noise", "pred_x0"),
              scale: int = 8, padding: int = 2) -> np.ndarray:
    """The chosen views of one step side by side, upscaled (the frame the screen shows)."""
    images = np.stack([trajectory.frame(view, index) for view in views])
    return upscale(make_grid(images, columns=len(views), padding=padding), scale)


def trajectory_strip(trajectory: Trajectory, steps: list[int], views: tuple[str, ...] = ("x_t", "pred_x0"),
                     scale: int = 4, padding: int = 2) -> np.ndarray:
    """One row per view, one column per chosen step: how the image forms, on one slide."""
    if not steps:
        raise ValueError("choose at least one step")
    bad = [s for s in steps if not 0 <= s < trajectory.count]
    if bad:
        raise ValueError(f"steps {bad} are outside the run's 0..{trajectory.count - 1}")
    images = np.stack([trajectory.frame(view, s) for view in views for s in steps])
    return upscale(make_grid(images, columns=len(steps), padding=padding), scale)


def animation_frames(trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"), max_frames: int = 150,
                     scale: int = 4) -> tuple[list[np.ndarray], list[int]]:
    """Frames for an animation of the run (at most `max_frames`, evenly spaced, last step included).

    Returns the frames and the step each one shows.
    """
    steps = evenly_spaced_steps(trajectory.count, max_frames)
    return [frame_row(trajectory, s, views, scale) for s in steps], steps


def schedule_curves(schedule: NoiseSchedule) -> dict[str, np.ndarray]:
    """beta_t, alpha-bar_t and log SNR(t) for t = 0..T-1 as NumPy (what the plots draw)."""
    return {
        "t": np.arange(schedule.num_train_timesteps),
        "beta": schedule.betas.numpy().astype(np.float64),
        "alpha_bar": schedule.alphas_cumprod.numpy().astype(np.float64),
        "log_snr": schedule.log_snr().numpy().astype(np.float64),
    }


def save_animation(path: str | Path, trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"),
                   max_frames: int = 150, scale: int = 4, duration_ms: int = 60, hold_last_ms: int = 1500,
                   recipe: dict | None = None) -> Path:
    """Write the run as a looping animated GIF, holding the last frame; the recipe goes in its comment."""
    frames, steps = animation_frames(trajectory, views, max_frames, scale)
    if not frames:
        raise ValueError("the run has no steps yet")
    recipe = dict(recipe if recipe is not None else trajectory.recipe(), views=list(views), frame_step_indices=steps)
    return save_gif(path, frames, [duration_ms] * (len(frames) - 1) + [hold_last_ms], recipe)


