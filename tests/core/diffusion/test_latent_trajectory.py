"""A latent run's trajectory: its latents drawn as channel maps, decoded once per step, branchable like a pixel run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tolerance import assert_same_picture

from latent_models import tiny_latent_model
from playground.core.diffusion.flow import FlowSchedule
from playground.core.diffusion.guidance import ClassifierFreeGuidance
from playground.core.diffusion.latent_pictures import LATENT_DISPLAY_SIGMA, LatentPictures
from playground.core.diffusion.schedules import NoiseSchedule
from playground.core.diffusion.trajectory import (
    LATENT_VIEWS, VIEWS, SamplerSettings, run_trajectory, schedule_curves, trace,
)
from playground.core.diffusion.trajectory_pictures import frame_row


@pytest.fixture(scope="module")
def ldm() -> torch.nn.Module:
    return tiny_latent_model("ldm").eval()


def test_each_step_holds_the_latent_channels_and_the_decoded_pictures(ldm):
    run = run_trajectory(ldm, ldm.noise_schedule, SamplerSettings("ddim", 4, 0.5, clip_x0=False), 3)
    assert run.latent and run.views == LATENT_VIEWS and run.complete
    for view in LATENT_VIEWS:
        assert run.frames[view].shape == (4, 33, 33, 3) and run.frames[view].dtype == np.uint8
    pictures = run.pictures
    for i in range(run.count):
        latent = torch.from_numpy(run.states[i])
        tile = run.frame("x_t", i)
        for channel in range(4):  # a 2x2 tile of 16x16 maps (2 px a latent value), 1 px apart, grey
            r, c = divmod(channel, 2)
            block = tile[r * 17:r * 17 + 16, c * 17:c * 17 + 16]
            grey = np.clip((latent[channel].numpy() / LATENT_DISPLAY_SIGMA + 1) * 127.5, 0, 255)
            expected = np.repeat(np.repeat(grey, 2, 0), 2, 1)
            assert np.abs(block[..., 0].astype(float) - expected).max() <= 1.0
            assert (block[..., 0] == block[..., 2]).all()
        assert_same_picture(pictures.unframed(run.frame("decoded_x_t", i)), pictures.paint(latent[None])[0])
    # the sample is the final latent, decoded (the last step's x0 decoded shows it too)
    assert_same_picture(run.final_image(), to_pixels(ldm, torch.from_numpy(run.final)))
    assert_same_picture(run.x0_picture(run.count - 1), run.final_image())
    assert frame_row(run, 2, ("x_t", "pred_x0", "decoded_x0")).shape == ((33 + 4) * 8, (3 * 35 + 2) * 8, 3)


def to_pixels(model, latent: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        x = model.decode(latent[None])
    return ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def test_a_branch_with_the_runs_own_seed_replays_it_exactly(ldm):
    settings = SamplerSettings("ddim", 5, 1.0, clip_x0=False)
    run = run_trajectory(ldm, ldm.noise_schedule, settings, 7)
    replay = run_trajectory(ldm, ldm.noise_schedule, settings, 7, branch_from=run, branch_step=2)
    other = run_trajectory(ldm, ldm.noise_schedule, settings, 8, branch_from=run, branch_step=2)
    assert replay.latent and replay.pictures is run.pictures
    for view in LATENT_VIEWS:
        np.testing.assert_array_equal(replay.frames[view], run.frames[view])
        np.testing.assert_array_equal(other.frames[view][:2], run.frames[view][:2])  # step 2 draws the new seed's z
    np.testing.assert_array_equal(other.frames["x_t"][2], run.frames["x_t"][2])
    assert not np.array_equal(other.final, run.final)


def test_a_guided_function_is_drawn_by_its_models_pictures(ldm):
    guided = ClassifierFreeGuidance.for_prompt(ldm, "a red circle", 3.0)
    steps = list(trace(guided, ldm.noise_schedule, SamplerSettings("ddim", 2, clip_x0=False), 0))
    assert steps[-1].latent and steps[-1].frames["decoded_x0"].shape == (2, 33, 33, 3)


def test_a_pixel_run_keeps_its_four_image_views():
    from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel

    torch.manual_seed(0)
    model = DiffusionModel(DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(),
                                      num_train_timesteps=100)).eval()
    assert LatentPictures.of(model) is None
    run = run_trajectory(model, model.noise_schedule, SamplerSettings("ddim", 3), 0)
    assert not run.latent and run.views == VIEWS and run.frames["x_t"].shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(run.x0_picture(1), run.frame("pred_x0", 1))


@pytest.mark.parametrize("kind", ["euler", "heun", "sde"])
def test_a_flow_run_is_described_and_branched_by_its_solver(kind):
    sit = tiny_latent_model("sit").eval()
    settings = SamplerSettings(kind, 4, clip_x0=False)
    run = run_trajectory(sit, sit.noise_schedule, settings, 1)
    assert run.latent and run.complete and list(run.t) == [100, 75, 50, 25]
    assert settings.describe().startswith({"euler": "Euler", "heun": "Heun", "sde": "SDE"}[kind])
    assert settings.deterministic == (kind != "sde")  # the ODE solvers add no noise after x_T
    assert run.has_noise[:3].all() == (kind == "sde") and not run.has_noise[3]


def test_schedule_curves_of_a_flow_are_its_variance_preserving_twin():
    flow = schedule_curves(FlowSchedule(1000))
    assert len(flow["t"]) == 1001 and flow["alpha_bar"][0] == 1.0 and flow["alpha_bar"][-1] == 0.0
    assert (flow["beta"] > 0).all() and (flow["beta"] <= 1).all() and flow["beta"][-1] == 1.0
    rebuilt = np.cumprod(1 - flow["beta"][1:]) * flow["alpha_bar"][0]
    np.testing.assert_allclose(rebuilt[:-1], flow["alpha_bar"][1:-1], rtol=1e-5)
    ddpm = schedule_curves(NoiseSchedule.from_name("cosine", 1000))
    np.testing.assert_array_equal(ddpm["beta"], NoiseSchedule.from_name("cosine", 1000).betas.numpy())


def test_a_run_traced_without_decoding_decodes_its_steps_later_to_the_same_pictures(ldm):
    settings = SamplerSettings("ddim", 4, 0.5, clip_x0=False)
    eager = run_trajectory(ldm, ldm.noise_schedule, settings, 3)
    lazy = run_trajectory(ldm, ldm.noise_schedule, settings, 3, decode_each_step=False)
    assert lazy.missing_pictures == 4 and not lazy.frames["decoded_x0"].any()
    np.testing.assert_array_equal(lazy.final_image(), eager.final_image())  # the sample is decoded at once
    assert_same_picture(lazy.x0_picture(1), eager.x0_picture(1))  # one picture on demand
    lazy.decode_missing(batch=3)
    assert lazy.missing_pictures == 0
    for view in LATENT_VIEWS:  # decoded in batches of 3 against one at a time
        for i in range(4):
            assert_same_picture(lazy.frames[view][i], eager.frames[view][i])
