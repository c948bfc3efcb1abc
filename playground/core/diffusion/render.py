"""The pictures a diffusion model exports, drawn again from their recipes (`playground reproduce`).

- "sample": one image of a sampling run; image `index` of a batch of `n` when the CLI
  sampled a batch (the batch is sampled again: the same computation, the same pixels);
- "grid": n samples of a run, tiled;
- "frame": the views of one step of a single-image run (the Diffusion tab's frame export);
- "strip": x_t and predicted x0 at chosen steps of such a run, each column headed with its
  step and t (its strip export, `labelled_strip`);
- "forward": the forward process on a data image (`image`: "N" for item N of the shapes, or a
  file): x_t ~ q(x_t | x_0) at the timesteps `forward_t`, the noise drawn from `seed`, no network
  (the Forward tab's picture; a lesson's "noise, step by step").

A run is re-made from its sampler settings and seed; a branch (a run continued from
step k of a parent run with another seed) re-makes its parent first. The text-to-image
renderer draws its frames and strips with `trajectory_picture` and its guided model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import checks
from ..checkpoints import LoadedModel, load_checkpoint
from ..data import to_uint8
from ..device import model_device
from ..images import labelled_grid, make_grid, upscale
from ..provenance import HELPER_ROLES, RecipeError, RecipeFields, helper_checkpoint
from ..text2img.denoiser import make_denoiser, steps_with_clipped_eps
from ..text2img.sampling import GuidedSettings
from .init_noise import recipe_init_noise
from .sampling import EpsModel, sample
from .schedulers import FLOW_KINDS, SCHEDULER_KINDS, make_scheduler
from .schedules import NoiseSchedule
from .trajectory import VIEW_LABELS, SamplerSettings, Trajectory, run_trajectory
from .trajectory_cache import cached_trajectory, run_key
from .trajectory_pictures import frame_row

MAX_BRANCH_DEPTH = 32
STRIP_SCALE = 4


def step_label(trajectory: Trajectory, index: int) -> str:
    """'step 3 · t 959': a step as the window numbers it (1 to N), and its timestep."""
    return f"step {index + 1} · t {int(trajectory.t[index])}"


def labelled_strip(trajectory: Trajectory, steps: list[int], views: tuple[str, ...] = ("x_t", "pred_x0"),
                   scale: int = STRIP_SCALE) -> np.ndarray:
    """One row per view, one column per step (0-based indices), each column headed 'step k · t T'."""
    if not steps:
        raise ValueError("choose at least one step")
    bad = [s + 1 for s in steps if not 0 <= s < trajectory.count]
    if bad:
        raise ValueError(f"strip steps {bad} are outside the run's steps 1..{trajectory.count}")
    images = np.stack([np.stack([trajectory.frame(view, s) for s in steps]) for view in views])
    return labelled_grid(images, [step_label(trajectory, s) for s in steps], [VIEW_LABELS[v] for v in views],
                         scale=scale)


@dataclass(frozen=True)
class Run:
    """What samples a picture: the model function, its schedule, the image shape, the device, and
    whether the function is guided (a guided run's DDIM steps with the clipped x0's eps)."""

    model_fn: EpsModel
    schedule: NoiseSchedule
    shape: tuple[int, int, int]
    device: torch.device
    guided: bool = False


def sampler_settings(fields: RecipeFields, run: Run) -> SamplerSettings:
    """The sampler a recipe names, checked against the model's schedule."""
    flow = getattr(run.schedule, "name", "") == "flow"
    kind = fields.choice("sampler", FLOW_KINDS if flow else SCHEDULER_KINDS)
    steps = fields.integer("steps", 1, run.schedule.intervals if flow else run.schedule.num_train_timesteps)
    eta = fields.number("eta", 0.0, 1.0, default=0.0)
    if kind == "ddpm" and eta != 0.0:
        raise RecipeError(f"the recipe's 'eta' is a DDIM setting; for the DDPM sampler it must be 0, not {eta:g}")
    clip = fields.flag("clip_x0")
    return SamplerSettings(kind, steps, eta, clip, steps_with_clipped_eps(clip, run.guided))


def sample_images(fields: RecipeFields, run: Run, n: int) -> np.ndarray:
    """The n images (N, H, W, 3) uint8 of a run seeded `seed` (image i seeded seed + i; from the recipe's
    `init_noise` file when it names one)."""
    settings = sampler_settings(fields, run)
    variance = fields.choice("variance", ("posterior", "beta"), default="posterior")
    scheduler = make_scheduler(settings.kind, run.schedule, settings.steps, eta=settings.eta, variance=variance,
                               clip_x0=settings.clip_x0, use_clipped_model_output=settings.use_clipped_model_output)
    x_T = recipe_init_noise(fields, run.shape, n)  # a run from a given x_T (--init-noise), else the seeds' draw
    x = sample(run.model_fn, scheduler, n=n, seed=fields.seed(count=n), shape=run.shape, device=run.device,
               **({} if x_T is None else {"x_t": x_T}))
    return to_uint8(x)


def trajectory_of(fields: RecipeFields, run: Run, depth: int = 0) -> Trajectory:
    """The single-image run a frame or strip shows (a branch: its parent's run first)."""
    if depth > MAX_BRANCH_DEPTH:
        raise RecipeError(f"the recipe's branches nest deeper than {MAX_BRANCH_DEPTH} runs")
    seed = fields.seed()
    if fields.has("branch"):
        branch = fields.mapping("branch")
        parent = trajectory_of(branch.mapping("parent"), run, depth + 1)
        start = branch.integer("start_index", 0, parent.num_steps - 1)
        return run_trajectory(run.model_fn, run.schedule, parent.settings, seed, branch_from=parent,
                              branch_step=start, device=run.device)
    return run_trajectory(run.model_fn, run.schedule, sampler_settings(fields, run), seed, shape=run.shape,
                          device=run.device)


def trajectory_picture(fields: RecipeFields, run: Run, picture: str, checkpoint: Path | None = None) -> np.ndarray:
    """A "frame" (the chosen views of one step, side by side) or a "strip" (views by rows, steps by columns).
    `checkpoint`: the model's file, to draw the frames of one run from one computation (`trajectory_cache`)."""
    trajectory = cached_trajectory(run_key(fields.recipe, checkpoint), lambda: trajectory_of(fields, run))
    last = trajectory.num_steps - 1
    if picture == "frame":
        index = fields.integer("step_index", 0, last)
        _check_timesteps(fields, "t", [index], trajectory)
        return frame_row(trajectory, index, tuple(fields.names("views", trajectory.views)), fields.scale())
    steps = fields.integers("strip_step_indices", 0, last)
    _check_timesteps(fields, "strip_t", steps, trajectory)
    views = tuple(fields.names("views", trajectory.views, default=["x_t", "pred_x0"]))
    return labelled_strip(trajectory, steps, views, scale=fields.scale(default=STRIP_SCALE))


def _check_timesteps(fields: RecipeFields, key: str, indices: list[int], trajectory: Trajectory) -> None:
    """The timesteps a recipe records for its steps must be the run's (a hand-edit changes one, not both)."""
    if not fields.has(key):
        return
    expected = [int(trajectory.t[i]) for i in indices]
    found = fields.recipe[key] if isinstance(fields.recipe[key], list) else [fields.recipe[key]]
    if found != expected:
        raise RecipeError(f"the recipe's '{key}' {found} are not the timesteps of its steps {indices} "
                          f"({expected} in this run)")


# --- the DDPM's own pictures -----------------------------------------------------------------------


def ddpm_run(fields: RecipeFields, loaded: LoadedModel) -> Run:
    """The run of an unconditional DDPM, steered by the noisy classifier when the recipe says so."""
    model = loaded.model
    shape = (model.config.in_channels, model.config.image_size, model.config.image_size)
    device = model_device(model)
    scale = fields.number("classifier_scale", default=0.0)
    if scale == 0.0:
        return Run(model, model.noise_schedule, shape, device)
    prompt, start = fields.text("prompt", default=""), fields.number("guidance_start", default=0.0)
    stop = fields.number("guidance_stop", default=1.0)
    try:
        settings = GuidedSettings(prompt=prompt, classifier_scale=scale, base="ddpm", guidance_start=start,
                                  guidance_stop=stop).validate()
    except ValueError as exc:
        raise RecipeError(f"the recipe's classifier guidance: {exc}") from None
    classifier = load_checkpoint(helper_checkpoint(fields.recipe, "classifier"), device,
                                 families=(HELPER_ROLES["classifier"],))
    return Run(make_denoiser(model, settings, classifier.model), model.noise_schedule, shape, device, guided=True)


def forward_picture(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    """x_0 noised to each of the recipe's `forward_t`, side by side, each headed with t and the weight √ᾱ_t of x_0."""
    from ..latent.render import source_image  # "N" or a file, as the other recipes name an input image
    from .forward import noised_image

    schedule = loaded.model.noise_schedule
    ts = fields.integers("forward_t", 0, schedule.num_train_timesteps - 1)
    image = source_image(fields.text("image"), "shapes", loaded.model.config.image_size)
    seed = fields.seed()
    frames = np.stack([noised_image(schedule, image, t, seed) for t in ts])
    roots = schedule.alphas_cumprod[torch.tensor(ts)].sqrt().tolist()
    labels = [f"t {t} · signal {r:.2f}" for t, r in zip(ts, roots)]  # √ᾱ_t (the built-in font has no √ᾱ)
    return labelled_grid(frames[None], labels, ["x_t"], scale=fields.scale(default=STRIP_SCALE))


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a DDPM's recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", ("sample", "grid", "frame", "strip", "forward"))
    if picture == "forward":
        return forward_picture(fields, loaded)
    if picture == "grid":
        n, settings = fields.within("n", checks.sample_count), fields.mapping("grid_of")
        return upscale(make_grid(sample_images(settings, ddpm_run(settings, loaded), n)), fields.scale())
    run = ddpm_run(fields, loaded)
    if picture != "sample":
        return trajectory_picture(fields, run, picture, loaded.path)
    n, index = fields.batch_member()
    check_image_seed(fields, index)
    return upscale(sample_images(fields, run, n)[index], fields.scale(default=1))


def check_image_seed(fields: RecipeFields, index: int) -> None:
    """Image i of a run seeded s is seeded s + i; a recipe that says otherwise was edited by hand."""
    if fields.has("image_seed") and fields.recipe["image_seed"] != fields.seed() + index:
        raise RecipeError(f"the recipe's 'image_seed' {fields.recipe['image_seed']!r} is not its 'seed' + 'index' "
                          f"({fields.seed() + index}); change 'seed' to draw another image")
