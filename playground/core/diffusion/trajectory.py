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

A latent run (ldm, dit, sit: x_t is an autoencoder's latent) is drawn by its
`LatentPictures`: the four latent views as tiles of channel maps, and two more views, the
images the first stage decodes from the predicted x0 and from x_t (`LATENT_VIEWS`). They
are decoded once, as each step arrives (where the run is sampled), so showing a cached
step again costs no model call. For the 4x8x8 latents that is 2 KiB of state and 6 frames
of 33x33 a step, about as much as a pixel run. Decoding two 32x32 pictures costs more than
a step of the denoiser (0.42 GFLOP against 0.15 for ldm, 0.06 for dit), so a run that only
wants its sample (a guidance slider's render) is traced with `decode_each_step=False` and
decodes its steps later, in one go, if they are ever shown (`decode_missing`).

`trace` is `sample_steps` that fills a trajectory as it goes and yields it after every
step, so a caller shows previews and stops between steps just as with `sample_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
import torch

from ..data import to_uint8
from .latent_pictures import LatentPictures
from .sampling import EpsModel, StepRecord, sample_steps
from .schedulers import Scheduler, SchedulerKind, make_scheduler
from .schedules import NoiseSchedule

View = Literal["x_t", "pred_noise", "pred_x0", "noise"]
VIEWS: tuple[str, ...] = ("x_t", "pred_noise", "pred_x0", "noise")
LATENT_VIEWS: tuple[str, ...] = VIEWS + ("decoded_x0", "decoded_x_t")  # a latent run's: its latents, and decoded
VIEW_LABELS: dict[str, str] = {"x_t": "x_t", "pred_noise": "predicted noise", "pred_x0": "predicted x0",
                               "noise": "injected noise", "decoded_x0": "decoded x0", "decoded_x_t": "decoded x_t"}
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
        """DDIM with eta 0 and the flow's ODE solvers (Euler, Heun) add no noise after x_T, so a new
        seed cannot change their later steps."""
        return (self.kind == "ddim" and self.eta == 0.0) or self.kind in ("euler", "heun")

    def describe(self) -> str:
        if self.kind in SOLVER_NAMES:  # a flow: nothing is clipped, no eta
            return f"{SOLVER_NAMES[self.kind]}, {self.steps} steps"
        clip = "" if self.clip_x0 else ", x0 not clipped"
        if self.kind == "ddpm":
            return f"DDPM, {self.steps} steps{clip}"
        return f"DDIM, {self.steps} steps, eta {self.eta:g}{clip}"


SOLVER_NAMES = {"euler": "Euler (flow ODE)", "heun": "Heun (flow ODE)", "sde": "SDE (flow)"}


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
                 schedule: NoiseSchedule, branch: BranchPoint | None = None, pictures: LatentPictures | None = None,
                 decode_each_step: bool = True):
        """`pictures`: how a latent run's steps are drawn (None: x_t is an image in [-1, 1]);
        `decode_each_step`: decode a latent step's pictures as it arrives (else: `decode_missing`)."""
        c, h, w = shape
        n = len(timesteps)
        self.settings = settings
        self.seed = int(seed)
        self.branch = branch
        self.pictures = pictures
        self.schedule_name = schedule.name
        self.shape = (c, h, w)
        self.t = np.asarray(timesteps, np.int64).copy()
        self.t_prev = np.concatenate([self.t[1:], [-1]])
        self.schedule_alpha_bar = schedule.alphas_cumprod  # (T,): each step's noise level (`alpha_bar`)
        self.views = VIEWS if pictures is None else LATENT_VIEWS
        fh, fw = (h, w) if pictures is None else pictures.frame_size
        self.frames: dict[str, np.ndarray] = {view: np.zeros((n, fh, fw, 3), np.uint8) for view in self.views}
        self.states = np.zeros((n, c, h, w), np.float32)     # x_t, to branch from
        self.noise_std = np.zeros(n, np.float32)
        self.has_noise = np.zeros(n, bool)
        self.norms: dict[str, np.ndarray] = {view: np.full(n, np.nan, np.float32) for view in ("x_t", "pred_noise", "pred_x0")}
        self.final: np.ndarray | None = None                  # (C, H, W) float32 x_0 once complete
        self.final_picture: np.ndarray | None = None          # (H, W, 3) uint8: x_0 as an image (decoded)
        self.count = 0
        self.decode_each_step = decode_each_step
        self.x0_states = np.zeros((n, c, h, w) if pictures is not None else (0,), np.float32)  # a latent run's x0
        self.decoded = np.zeros(n if pictures is not None else 0, bool)  # whose pictures are decoded

    @classmethod
    def for_run(cls, settings: SamplerSettings, seed: int, scheduler: Scheduler, shape: tuple[int, int, int],
                branch: BranchPoint | None = None, pictures: LatentPictures | None = None,
                decode_each_step: bool = True) -> "Trajectory":
        return cls(settings, seed, scheduler.timesteps.numpy(), shape, scheduler.schedule, branch, pictures,
                   decode_each_step)

    @property
    def latent(self) -> bool:
        """Whether x_t is a latent (its frames are channel maps, and images decoded from it)."""
        return self.pictures is not None

    # --- filling ---------------------------------------------------------------------------------

    def append(self, record: StepRecord) -> None:
        """Store one step of a single-image run (records must come in order)."""
        i = record.index
        if i != self.count:
            raise ValueError(f"expected step {self.count}, got step {i}")
        x_t, eps, x0 = record.x_t[0], record.pred_noise[0], record.pred_x0[0]
        self.states[i] = x_t.numpy()
        if self.pictures is None:
            self.frames["x_t"][i] = image_to_uint8(x_t)
            self.frames["pred_noise"][i] = noise_to_uint8(eps)
            self.frames["pred_x0"][i] = image_to_uint8(x0)
            if record.is_last:
                self.final_picture = image_to_uint8(record.x_prev[0])
        else:
            self._append_latent(record)
        if record.noise is not None:
            noise = record.noise[0]
            self.frames["noise"][i] = noise_to_uint8(noise) if self.pictures is None else self.pictures.channels(noise)
            self.has_noise[i] = True
        self.noise_std[i] = record.noise_std
        d = x_t.numel()
        for view, value in (("x_t", x_t), ("pred_noise", eps), ("pred_x0", x0)):
            self.norms[view][i] = float(value.norm()) / d ** 0.5
        self.count = i + 1
        if record.is_last:
            self.final = record.x_prev[0].numpy().copy()

    def _append_latent(self, record: StepRecord) -> None:
        """A latent step: its latents as channel maps, and (now, or later) its x0 and x_t decoded; the sample, last."""
        i = record.index
        self.pictures.draw_latents(self.frames, i, {"x_t": record.x_t[0], "pred_noise": record.pred_noise[0],
                                                    "pred_x0": record.pred_x0[0]})
        self.x0_states[i] = record.pred_x0[0].numpy()
        if self.decode_each_step:
            self._decode(np.array([i]))
        if record.is_last:
            self.final_picture = self.pictures.paint(record.x_prev[:1])[0]

    def _decode(self, indices: np.ndarray) -> None:
        self.pictures.draw_decoded(self.frames, indices, self.x0_states[indices], self.states[indices])
        self.decoded[indices] = True

    def decode_missing(self, batch: int = 16) -> None:
        """Decode the pictures of every step not decoded yet (a run traced with `decode_each_step=False`),
        `batch` steps at a time. A model call: make it where the run was sampled (a worker)."""
        missing = np.flatnonzero(~self.decoded[:self.count]) if self.latent else np.zeros(0, np.int64)
        for start in range(0, len(missing), batch):
            self._decode(missing[start:start + batch])

    @property
    def missing_pictures(self) -> int:
        """How many steps still lack their decoded pictures (0 for a pixel run)."""
        return int((~self.decoded[:self.count]).sum()) if self.latent else 0

    def copy_prefix(self, parent: "Trajectory", steps: int) -> None:
        """Take the first `steps` steps from `parent` (a branch shares them)."""
        if parent.count < steps:
            raise ValueError(f"the parent run has {parent.count} steps, fewer than {steps}")
        for view in self.views:
            self.frames[view][:steps] = parent.frames[view][:steps]
        for view in self.norms:
            self.norms[view][:steps] = parent.norms[view][:steps]
        self.states[:steps] = parent.states[:steps]
        if self.latent:
            self.x0_states[:steps] = parent.x0_states[:steps]
            self.decoded[:steps] = parent.decoded[:steps]
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
        arrays = [*self.frames.values(), self.states, self.x0_states, self.decoded, self.noise_std, self.has_noise,
                  *self.norms.values(), self.t, self.t_prev]
        finals = [a for a in (self.final, self.final_picture) if a is not None]
        return sum(a.nbytes for a in arrays + finals)

    @property
    def alpha_bar(self) -> np.ndarray:
        """alpha-bar at each step's t (how much of x_t is signal: its noise level)."""
        return self.schedule_alpha_bar.double().numpy()[self.t]

    def frame(self, view: str, index: int) -> np.ndarray:
        """The (H, W, 3) uint8 image of `view` at step `index` (a view into the cache)."""
        return self.frames[view][index]

    def x0_picture(self, index: int) -> np.ndarray:
        """Step `index`'s predicted x0 as an image at the model's resolution (a latent run's decoded)."""
        if self.pictures is None:
            return self.frame("pred_x0", index)
        if not self.decoded[index]:  # a run that decodes later: this one picture now
            return self.pictures.paint(torch.from_numpy(self.x0_states[index:index + 1]))[0]
        return self.pictures.unframed(self.frame("decoded_x0", index))

    def final_image(self) -> np.ndarray:
        """The sample as an (H, W, 3) uint8 image (a latent run's decoded by its first stage)."""
        if self.final_picture is None:
            raise ValueError("the run has not finished")
        return self.final_picture

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
          branch_from: Trajectory | None = None, branch_step: int = 0,
          pictures: LatentPictures | None = None, decode_each_step: bool = True) -> Iterator[Trajectory]:
    """Sample one image step by step, yielding its (growing) trajectory after every step.

    With `branch_from`, the run takes that run's steps before `branch_step` as they are and
    continues from its x_t at `branch_step` with `seed`'s noise for the remaining steps:
    the parent's seed replays the parent, another seed shows what was still undecided.
    A latent denoiser's run (the model, or a guided function around one) is drawn by its
    `LatentPictures` (found from the model when `pictures` is None), each step decoded as it
    arrives unless `decode_each_step` is False (see `Trajectory.decode_missing`).
    """
    if branch_from is not None:
        if not 0 <= branch_step < branch_from.count:
            raise ValueError(f"branch step must be between 0 and {branch_from.count - 1}, not {branch_step}")
        settings = branch_from.settings
        shape = branch_from.shape
        pictures = branch_from.pictures
    elif pictures is None:
        pictures = LatentPictures.of(model)
    scheduler = settings.make(schedule)
    if shape is None:
        config = getattr(model, "config")
        shape = tuple(config.latent_shape) if hasattr(config, "latent_shape") else (config.in_channels, config.image_size, config.image_size)
    if branch_from is None:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape, pictures=pictures,
                                        decode_each_step=decode_each_step)
        steps = sample_steps(model, scheduler, seed=seed, shape=shape, device=device)
    else:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape, BranchPoint(branch_from.recipe(), branch_step),
                                        pictures, decode_each_step)
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


def schedule_curves(schedule: NoiseSchedule) -> dict[str, np.ndarray]:
    """beta_t, alpha-bar_t and log SNR(t) for t = 0..T-1 as NumPy (what the plots draw).

    A flow has no betas of its own: its alpha-bar is the variance-preserving process of the same
    SNR (`FlowSchedule.alphas_cumprod`), and beta_t = 1 - alpha-bar_t / alpha-bar_{t-1} is that
    process's (floored at 1e-8, where alpha-bar stays 1, for the log-scaled plot)."""
    alpha_bar = schedule.alphas_cumprod.numpy().astype(np.float64)
    betas = getattr(schedule, "betas", None)
    if betas is not None:
        beta = betas.numpy().astype(np.float64)
    else:
        previous = np.concatenate([[1.0], alpha_bar[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.clip(1.0 - np.where(previous > 0, alpha_bar / previous, 0.0), 1e-8, 1.0)
    return {"t": np.arange(schedule.num_train_timesteps), "beta": beta, "alpha_bar": alpha_bar,
            "log_snr": schedule.log_snr().numpy().astype(np.float64)}
