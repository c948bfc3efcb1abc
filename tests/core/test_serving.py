"""`playground serve` for real on 127.0.0.1, driven by the app's client (core/serving)."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from playground.core.checkpoints import load_checkpoint
from playground.core.diffusion.trajectory import SamplerSettings, run_trajectory, trace
from playground.core.serving.catalog import fingerprint
from playground.core.serving.client import Connection, RemoteError, ServerClient, ServerLost, parse_address
from playground.core.serving.remote import NotServed, remote_sample, remote_trace
from playground.core.serving.server import check_host
from serving_support import connect, opened, free_port, listening_sockets, run_server, tiny_serving_checkpoints
from tolerance import assert_same_picture

pytest.importorskip("litserve")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    with run_server(root, tiny_serving_checkpoints(root)) as server:
        yield server


@pytest.fixture(scope="module")
def connection(served) -> Connection:
    return connect(served)


def test_lists_the_checkpoints_it_serves_by_their_weights(served, connection):
    models = {m["id"]: m for m in connection.models}
    assert {"ddpm-tiny", "ldm-tiny", "vae-tiny", "sit-tiny"} <= set(models)
    ddpm = models["ddpm-tiny"]
    assert ddpm["family"] == "ddpm" and ddpm["source"] == "user"
    assert ddpm["sha256"] == fingerprint(served.folders["ddpm"] / "model.safetensors")
    assert "path" not in ddpm  # the server's files are its own business
    assert {"trajectory", "sample"} <= set(connection.info["jobs"])


@pytest.mark.parametrize("family", ["ddpm", "ldm"])
def test_a_streamed_trajectory_is_the_local_one(served, connection, family):
    model = opened(served, family)
    settings = SamplerSettings("ddpm", 12)
    seen = [t.count for t in remote_trace(connection, model, model.noise_schedule, settings, 5)]
    assert seen == list(range(1, 13))  # every step arrives as it is computed
    remote = run_remote(connection, model, settings, 5)
    local = run_trajectory(model, model.noise_schedule, settings, 5)
    assert remote.complete and remote.views == local.views and remote.recipe() == local.recipe()
    for view in local.views:
        for i in (0, 6, 11):
            assert_same_picture(remote.frame(view, i), local.frame(view, i))
    assert_same_picture(remote.final_image(), local.final_image())
    np.testing.assert_allclose(remote.states, local.states, atol=1e-4)
    np.testing.assert_allclose(remote.norms["x_t"], local.norms["x_t"], rtol=1e-4)
    # a branch of the cached run, on the server, is the local branch
    branch = run_remote(connection, model, settings, 9, branch_from=remote, branch_step=6)
    local_branch = list(trace(model, model.noise_schedule, settings, 9, branch_from=local, branch_step=6))[-1]
    assert branch.recipe() == local_branch.recipe() and branch.complete
    np.testing.assert_array_equal(branch.states[:6], remote.states[:6])  # the parent's steps, as they were
    assert_same_picture(branch.final_image(), local_branch.final_image())


def run_remote(connection, model, settings, seed, schedule=None, **kwargs):
    trajectory = None
    schedule = schedule if schedule is not None else model.noise_schedule
    for trajectory in remote_trace(connection, model, schedule, settings, seed, **kwargs):
        pass
    return trajectory


def test_stop_ends_the_server_run_after_the_step_it_is_on(served, connection):
    model = opened(served, "ddpm")
    settings = SamplerSettings("ddpm", 100)
    stop, counts, stopped_at = [False], [], None
    for trajectory in remote_trace(connection, model, model.noise_schedule, settings, 1, stopping=lambda: stop[0]):
        counts.append(trajectory.count)
        if trajectory.count == 3:
            stop[0], stopped_at = True, time.monotonic()
    assert counts[-1] < 100, "the server ran to the end after Stop"
    assert time.monotonic() - stopped_at < 5
    assert counts == list(range(1, counts[-1] + 1))  # the run so far, whole


def test_the_server_loop_stops_within_one_step():
    """In-process: a job that sees its flag after step k sends k steps and "stopped"."""
    from types import SimpleNamespace

    import torch

    from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
    from playground.core.serving.jobs import run_job

    torch.manual_seed(0)
    loaded = SimpleNamespace(model=DiffusionModel(DDPMConfig(base_channels=8, channel_mults=(1, 2),
                                                             attention_resolutions=(), num_train_timesteps=100)).eval())
    sent = []
    for msg in run_job("trajectory", lambda: loaded, {"sampler": {"kind": "ddpm", "steps": 50}, "seed": 0}, {},
                       lambda: len(sent) >= 4):
        sent.append(msg)
    assert [m["kind"] for m in sent] == ["progress"] * 4 + ["stopped", "end"]


def test_sample_runs_any_family_sampler_on_the_server(served, connection):
    images, recipes = remote_sample(connection, opened(served, "vae"), ["--n", "3"])
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    assert recipes[0]["family"] == "vae" and len(recipes) == 3
    with pytest.raises(RemoteError, match="--trajectory cannot be given"):
        remote_sample(connection, opened(served, "ddpm"), ["--steps", "2", "--trajectory", "/tmp/x.mp4"])
    with pytest.raises(RemoteError, match="--classifier cannot be given"):  # a path on the server
        remote_sample(connection, opened(served, "text2img"), ["--classifier", "/etc/passwd"])


def test_decode_is_the_local_decoder(served, connection):
    from playground.core.latent.sampling import decode
    from playground.core.serving.remote import remote_decode

    model = opened(served, "vae")
    z = np.random.default_rng(0).standard_normal((3, model.config.latent_dim)).astype(np.float32)
    remote = remote_decode(connection, model, z)
    assert remote.shape == (3, 32, 32, 3)
    for a, b in zip(remote, decode(model, z)):
        assert_same_picture(a, b)


def test_bad_requests_are_one_line_errors(served, connection):
    with pytest.raises(RemoteError, match="no model 'nope'"):
        list(connection.client.stream("trajectory", "nope", {}))
    with pytest.raises(RemoteError, match="unknown job"):
        list(connection.client.stream("paint", "ddpm-tiny", {}))
    import torch
    with pytest.raises(NotServed):  # a model the server lacks runs in the app
        next(remote_trace(connection, torch.nn.Linear(2, 2), opened(served, "ddpm").noise_schedule,
                          SamplerSettings("ddim", 2), 0))


def test_a_model_only_on_the_server_can_be_copied_here(served, connection, tmp_path):
    model = next(m for m in connection.models if m["id"] == "sit-tiny")
    weights = connection.client.download(model, tmp_path)
    assert weights.parent.name.startswith("sit-tiny-") and fingerprint(weights) == model["sha256"]
    assert load_checkpoint(weights.parent).family == "sit"
    assert connection.client.download(model, tmp_path) == weights  # there already: not copied again
    with pytest.raises(ServerLost, match="404"):
        connection.client.download(dict(model, id="nope"), tmp_path / "other")


def test_a_server_that_is_not_there_is_one_line():
    client = ServerClient(f"127.0.0.1:{free_port()}", connect_timeout=2)
    with pytest.raises(ServerLost, match=r"^lost the model server at 127\.0\.0\.1:\d+ \(.+\)$"):
        client.models()
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("http://a:1/x")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_nothing_listens_beyond_the_address_given(served):
    """The server and its LitServe worker listen on 127.0.0.1:PORT and nowhere else."""
    assert listening_sockets(served.process.pid) == {("127.0.0.1", served.port)}


def test_listens_only_where_told(capsys):
    assert check_host("127.0.0.1", False) == "127.0.0.1"
    with pytest.raises(ValueError, match="--allow-remote"):
        check_host("0.0.0.0", False)
    assert check_host("0.0.0.0", True) == "0.0.0.0"
    with pytest.raises(ValueError, match="listens on 127.0.0.1"):
        check_host("192.168.1.5", True)
    from playground.cli import main

    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("family", ["text2img", "ldm"])
def test_a_text_guided_run_streams_the_local_one(served, connection, family):
    from playground.core.serving.remote import remember_guided
    from playground.core.text2img.denoiser import GuidanceModels
    from playground.core.text2img.sampling import GuidedSettings, image_shape

    model = opened(served, family)
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, steps=6, seed=4)
    guided = GuidanceModels().guide(model, settings)
    remember_guided(guided.eps, model, settings)
    shape = image_shape(guided.base)
    run = settings.sampler_settings()
    local = run_trajectory(guided.eps, guided.base.noise_schedule, run, settings.seed, shape=shape)
    remote = run_remote(connection, guided.eps, run, settings.seed, guided.base.noise_schedule, shape=shape)
    assert remote.complete and remote.recipe() == local.recipe()
    assert_same_picture(remote.final_image(), local.final_image())
    np.testing.assert_allclose(remote.states, local.states, atol=1e-4)
