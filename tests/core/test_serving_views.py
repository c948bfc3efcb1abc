"""The panels' view jobs (`core.serving.jobs_views`) on a real `playground serve` on 127.0.0.1: each is
the local call's result (the Forward tab's view, the Text-to-image grid and decomposition), and the
CFG-vs-CLIP comparison, run in-process with a tiny CLIP, is the panel's local picture and stops within one step."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from playground.core.checkpoints import load_checkpoint
from playground.core.diffusion.forward import forward_view
from playground.core.serving.client import Connection
from playground.core.serving.wire import unpack_arrays
from playground.core.serving.remote_views import remote_decompose, remote_forward_view, remote_guided_picture
from playground.core.text2img.clip_guidance import comparison_picture, comparison_steps
from playground.core.text2img.denoiser import GuidanceModels
from playground.core.text2img.render import guidance_grid_picture
from playground.core.text2img.sampling import GuidedSettings, decompose, grid_steps, pixels
from serving_support import connect, opened, run_server, tiny_serving_checkpoints
from tolerance import assert_same_picture

pytest.importorskip("litserve")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-views")
    with run_server(root, tiny_serving_checkpoints(root)) as server:
        yield server


@pytest.fixture(scope="module")
def connection(served) -> Connection:
    return connect(served)


def last(records):
    record = None
    for record in records:
        pass
    return record


def test_the_forward_view_is_the_local_one(served, connection):
    assert {"forward", "text2img_grid", "text2img_compare", "text2img_decompose"} <= set(connection.info["jobs"])
    model = opened(served, "ddpm")
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    local = forward_view(model, model.noise_schedule, image, 40, seed=3)
    remote = remote_forward_view(connection, model, image, 40, seed=3)
    assert remote.t == 40 and remote.log_snr == pytest.approx(local.log_snr)
    np.testing.assert_array_equal(remote.x0, local.x0)
    np.testing.assert_array_equal(remote.noise, local.noise)  # no network: the same draw exactly
    for name in ("pred_noise", "pred_x0"):
        assert_same_picture(getattr(remote, name), getattr(local, name))
    assert remote.noise_mse == pytest.approx(local.noise_mse, rel=1e-3)


def test_the_guidance_grid_is_the_local_one_with_previews(served, connection):
    model = opened(served, "text2img")
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, steps=5, seed=1)
    scales, seeds = [1.0, 3.0], [1, 2]
    steps = []
    picture = remote_guided_picture(connection, "grid", model, settings, seeds, scales=scales, axis="w",
                                    on_step=lambda done, total, p: steps.append((done, total)))
    assert steps == [(i, 5) for i in range(1, 6)]  # every step reported as it is computed
    record = last(grid_steps(model, settings, scales, seeds))
    assert_same_picture(picture, guidance_grid_picture(pixels(model, record.x_prev), scales, seeds, "w"))


def test_stop_ends_a_remote_grid_after_the_step_it_is_on(served, connection):
    model = opened(served, "text2img")
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, steps=100, seed=1)
    steps = []
    picture = remote_guided_picture(connection, "grid", model, settings, [1, 2], scales=[1.0, 3.0],
                                    on_step=lambda done, total, p: steps.append(done), stopping=lambda: len(steps) >= 3)
    assert picture is None and 3 <= len(steps) < 100
    assert steps == list(range(1, len(steps) + 1))


def test_the_decomposition_is_the_local_one(served, connection):
    model = opened(served, "text2img")
    settings = GuidedSettings(prompt="blue square", guidance_scale=3.0, steps=5, seed=2)
    x_t = torch.randn((1, 3, 32, 32), generator=torch.Generator().manual_seed(0))
    local = decompose(model, settings, x_t, 50, 2)
    remote = remote_decompose(connection, model, settings, x_t.numpy(), 50, 2)
    assert (remote.index, remote.t, remote.guidance_scale) == (local.index, local.t, local.guidance_scale)
    for name in ("uncond", "cond", "difference", "guided"):
        assert_same_picture(getattr(remote, name), getattr(local, name))


def test_the_cfg_vs_clip_comparison_job_is_the_local_picture_and_stops(served, monkeypatch):
    """In-process (the test server has no shipped CLIP): the job with a tiny CLIP as the server's helper."""
    from playground.core.serving import jobs_views
    from playground.core.serving.jobs import run_job
    from token_models import tiny_clip

    model = load_checkpoint(served.folders["text2img"]).model
    helpers = GuidanceModels(find=lambda family: pytest.fail(f"loaded a shipped {family}"))
    helpers._loaded["clip"] = SimpleNamespace(model=tiny_clip().requires_grad_(False))
    monkeypatch.setattr(jobs_views, "guidance_models", lambda _model: helpers)
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, clip_scale=100.0, steps=4, seed=1)
    args = {"settings": settings.__dict__, "seeds": [1]}
    sent = list(run_job("text2img_compare", lambda: SimpleNamespace(model=model), args, {}, lambda: False))
    assert [m["kind"] for m in sent] == ["progress"] * 4 + ["result", "end"]
    record = last(comparison_steps(model, settings, [1], helpers.clip(settings)))
    assert_same_picture(unpack_arrays(sent[-2]["arrays"])["picture"], comparison_picture(record.x_prev, settings, [1]))
    stopped: list[dict] = []
    for msg in run_job("text2img_compare", lambda: SimpleNamespace(model=model), args, {}, lambda: len(stopped) >= 2):
        stopped.append(msg)  # Stop once two steps are sent: the job ends before the third
    assert [m["kind"] for m in stopped] == ["progress", "progress", "stopped", "end"]


@pytest.mark.parametrize("family, sampler", [("dit", "ddim"), ("sit", "heun")])
def test_a_flow_comparison_path_is_the_local_one_and_stops(served, connection, family, sampler):
    from playground.core.latent_diffusion.comparison import sampler_path
    from playground.core.serving.remote_views import remote_sampler_path

    model = opened(served, family)
    ticks = []
    remote = remote_sampler_path(connection, model, sampler, 6, 3, on_step=lambda: ticks.append(1))
    local = sampler_path(model, sampler, 6, 3)
    assert len(ticks) == 6 and (remote.sampler, remote.family, remote.steps) == (local.sampler, local.family, 6)
    assert remote.timesteps == local.timesteps and remote.evaluations == local.evaluations
    np.testing.assert_allclose(remote.levels, local.levels, rtol=1e-6)
    np.testing.assert_allclose(remote.latents, local.latents, atol=1e-4)
    assert_same_picture(remote.image, local.image)
    seen = []
    stopped = remote_sampler_path(connection, model, sampler, 100, 3, on_step=lambda: seen.append(1),
                                  stopping=lambda: len(seen) >= 3)
    assert stopped is None and 3 <= len(seen) < 100


def test_the_score_job_is_the_local_measurement_streamed_and_stops(served, monkeypatch, tmp_path):
    """In-process (the test server has no shipped attribute classifier to judge with): the Compare panel's job."""
    from compare_models import use_small_comparison

    from playground.core.compare.report import FamilyScores, score_checkpoint
    from playground.core.serving.jobs import run_job

    use_small_comparison(monkeypatch, tmp_path)
    loaded = load_checkpoint(served.folders["vae"])
    sent = list(run_job("score", lambda: loaded, {"n": 6, "seed": 0, "cache": False}, {}, lambda: False))
    kinds = [m["kind"] for m in sent]
    assert kinds[-2:] == ["result", "end"] and kinds.count("progress") >= 2, kinds
    done = [m["done"] for m in sent if m["kind"] == "progress"]
    assert done == sorted(done) and done[-1] == sent[0]["total"]
    remote = FamilyScores.from_json(sent[-2]["meta"]["scores"])
    local = score_checkpoint(served.folders["vae"], n=6, seed=0, cache=False)
    assert (remote.sha256, remote.n, remote.family) == (local.sha256, 6, local.family)
    for name in ("clean", "drawn", "combinations", "entropy", "bits_per_dim", "memorisation"):
        assert getattr(remote, name) == pytest.approx(getattr(local, name), rel=1e-3, abs=1e-6, nan_ok=True), name
    stopped: list[dict] = []
    for msg in run_job("score", lambda: loaded, {"n": 6, "seed": 1, "cache": False}, {}, lambda: len(stopped) >= 1):
        stopped.append(msg)
    assert [m["kind"] for m in stopped][-2:] == ["stopped", "end"]


def test_a_run_needing_a_helper_the_server_lacks_is_run_here(served, connection, tmp_path):
    """The test server ships no CLIP, classifier or judge: those runs are NotServed (the app runs them)."""
    from playground.core.serving.remote import NotServed
    from playground.core.serving.remote_views import remote_score

    model = opened(served, "text2img")
    with pytest.raises(NotServed, match="clip"):
        remote_guided_picture(connection, "compare", model, GuidedSettings(prompt="red circle", clip_scale=100.0,
                                                                           steps=2), [1])
    with pytest.raises(NotServed, match="noisy-classifier"):
        remote_decompose(connection, model, GuidedSettings(prompt="red circle", classifier_scale=2.0, steps=2),
                         np.zeros((1, 3, 32, 32), np.float32), 10)
    with pytest.raises(NotServed, match="classifier"):
        remote_score(connection, served.folders["vae"], 4, 0)
    with pytest.raises(NotServed):  # weights the server does not have
        (tmp_path / "w.safetensors").write_bytes(b"not these")
        remote_score(connection, tmp_path / "w.safetensors", 4, 0)
