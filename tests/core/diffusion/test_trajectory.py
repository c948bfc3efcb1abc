"""Cached runs for the step-by-step view: what a trajectory keeps, branching, pictures, the forward view."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.data import to_uint8
from playground.core.diffusion.forward import forward_view, noised_image
from playground.core.diffusion.sampling import sample_steps
from playground.core.diffusion.schedules import NoiseSchedule
from playground.core.images import read_gif_recipe
from playground.core.diffusion.trajectory import VIEWS, SamplerSettings, Trajectory, run_trajectory, trace
from playground.core.diffusion.trajectory_pictures import (
    animation_frames, evenly_spaced_steps, frame_row, save_animation, trajectory_strip,
)

SHAPE = (3, 8, 8)
SCHEDULE = NoiseSchedule.from_name("cosine", 100)


def eps_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A cheap deterministic stand-in for eps_theta, dependent on x and t."""
    return 0.7 * x * (t.float().reshape(-1, 1, 1, 1) / 100) + 0.1 * torch.sin(3 * x)


def traj(settings: SamplerSettings, seed: int = 0, **kwargs) -> Trajectory:
    return run_trajectory(eps_model, SCHEDULE, settings, seed, shape=SHAPE, **kwargs)


def test_a_trajectory_keeps_every_step_of_the_records():
    settings = SamplerSettings("ddim", 10, 0.5)
    records = list(sample_steps(eps_model, settings.make(SCHEDULE), seed=4, shape=SHAPE))
    trajectory = traj(settings, seed=4)
    assert trajectory.complete and trajectory.num_steps == 10
    np.testing.assert_array_equal(trajectory.t, [r.t for r in records])
    for i, r in enumerate(records):
        np.testing.assert_array_equal(trajectory.frame("x_t", i), to_uint8(r.x_t)[0])
        np.testing.assert_array_equal(trajectory.frame("pred_x0", i), to_uint8(r.pred_x0)[0])
        np.testing.assert_array_equal(trajectory.frame("pred_noise", i), to_uint8(r.pred_noise / 2)[0])
        np.testing.assert_array_equal(trajectory.states[i], r.x_t[0].numpy())
        assert trajectory.has_noise[i] == (r.noise is not None)
        assert trajectory.norms["x_t"][i] == pytest.approx(float(r.x_t.norm()) / r.x_t.numel() ** 0.5)
    np.testing.assert_array_equal(trajectory.final, records[-1].x_prev[0].numpy())


def test_memory_is_the_stated_bound():
    """24 KiB a step at 32x32: x_t as float32 and four uint8 views (plus a few numbers)."""
    ddpm = Trajectory(SamplerSettings("ddpm", 1000), 0, np.arange(1000)[::-1], (3, 32, 32), SCHEDULE)
    per_step = 3 * 32 * 32 * (4 + 4)
    assert per_step * 1000 <= ddpm.nbytes < per_step * 1000 * 1.01
    assert ddpm.nbytes < 24 * 2**20


def test_branching_with_the_parents_seed_replays_it_and_another_seed_diverges():
    settings = SamplerSettings("ddpm", 100)
    parent = traj(settings, seed=1)
    replay = traj(settings, seed=1, branch_from=parent, branch_step=30)
    for view in VIEWS:
        np.testing.assert_array_equal(replay.frames[view], parent.frames[view])
    np.testing.assert_array_equal(replay.final, parent.final)
    other = traj(settings, seed=2, branch_from=parent, branch_step=30)
    for view in VIEWS:
        np.testing.assert_array_equal(other.frames[view][:30], parent.frames[view][:30])
    np.testing.assert_array_equal(other.states[30], parent.states[30])
    assert not np.array_equal(other.states[31], parent.states[31])
    assert other.recipe()["branch"] == {"start_index": 30, "parent": parent.recipe()}
    assert other.branch.parent_seed == 1
    with pytest.raises(ValueError):
        traj(settings, seed=2, branch_from=parent, branch_step=100)


def test_trace_yields_the_growing_trajectory_and_can_stop():
    counts = []
    for trajectory in trace(eps_model, SCHEDULE, SamplerSettings("ddim", 8), 0, shape=SHAPE):
        counts.append(trajectory.count)
        if trajectory.count == 3:
            break
    assert counts == [1, 2, 3] and not trajectory.complete


def test_pictures_of_a_run(tmp_path):
    trajectory = traj(SamplerSettings("ddim", 12, 1.0), seed=5)
    assert evenly_spaced_steps(12, 4) == [0, 4, 7, 11]
    assert evenly_spaced_steps(3, 10) == [0, 1, 2]
    row = frame_row(trajectory, 2, ("x_t", "pred_x0"), scale=2, padding=1)
    assert row.shape == ((8 + 2) * 2, (2 * 9 + 1) * 2, 3)
    np.testing.assert_array_equal(row[2:18:2, 2:18:2], trajectory.frame("x_t", 2))
    strip = trajectory_strip(trajectory, [0, 5, 11], ("x_t", "pred_x0"), scale=1, padding=2)
    assert strip.shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    np.testing.assert_array_equal(strip[12:20, 22:30], trajectory.frame("pred_x0", 11))
    with pytest.raises(ValueError):
        trajectory_strip(trajectory, [12])
    frames, steps = animation_frames(trajectory, max_frames=5)
    assert steps[0] == 0 and steps[-1] == 11 and len(frames) == len(steps) == 5
    path = save_animation(tmp_path / "run.gif", trajectory, max_frames=5, recipe={"seed": 5})
    assert read_gif_recipe(path) == {"seed": 5, "views": ["x_t", "pred_x0"], "frame_step_indices": steps}


def test_the_forward_view_noises_and_asks_the_model():
    image = np.zeros((8, 8, 3), np.uint8)
    image[2:6, 2:6] = (255, 0, 0)
    calls = []

    def model(x, t):
        calls.append(int(t[0]))
        return eps_model(x, t)

    view = forward_view(model, SCHEDULE, image, 40, seed=3)
    assert calls == [40]
    np.testing.assert_array_equal(view.x_t, noised_image(SCHEDULE, image, 40, seed=3))
    np.testing.assert_array_equal(view.x0, image)
    ab = float(SCHEDULE.alphas_cumprod[40])
    assert view.sqrt_alpha_bar == pytest.approx(ab ** 0.5) and view.sqrt_one_minus_alpha_bar == pytest.approx((1 - ab) ** 0.5)
    early, late = noised_image(SCHEDULE, image, 1, 3), noised_image(SCHEDULE, image, 99, 3)
    assert np.abs(early.astype(int) - image).mean() < np.abs(late.astype(int) - image).mean()
