"""The ONNX Runtime backend: it agrees with eager torch, is built once and cached, and falls back in one line."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

# the TorchScript exporter's notes (pytest shows what the module's own filters hide: core/backends/onnx_runtime.py)
pytestmark = [pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export"),
              pytest.mark.filterwarnings("ignore:The feature will be removed"),
              pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")]

from latent_models import tiny_latent_model  # noqa: E402
from tolerance import assert_same_picture  # noqa: E402

from playground.core import backends  # noqa: E402
from playground.core.backends import builds  # noqa: E402
from playground.core.backends import choose_backend, forget_builds  # noqa: E402
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel  # noqa: E402
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel  # noqa: E402
from playground.core.text2img.sampling import GuidedSettings, generate  # noqa: E402

UNET = dict(base_channels=8, channel_mults=(1, 2), attention_resolutions=(16,), num_train_timesteps=100)


def _noisy_out(model: torch.nn.Module) -> torch.nn.Module:
    torch.nn.init.normal_(model.out.weight, std=0.05)  # an untrained U-Net's zero output would agree trivially
    return model.eval()


@pytest.fixture(autouse=True)
def fresh_builds():
    forget_builds()
    yield
    forget_builds()


@pytest.fixture(scope="module")
def unet() -> TextToImageModel:
    torch.manual_seed(0)
    return _noisy_out(TextToImageModel(Text2ImgConfig(**UNET, text_dim=16, text_layers=1, cond_dim=16)))


@pytest.fixture(scope="module")
def dit() -> torch.nn.Module:
    return tiny_latent_model("dit").eval()


def _inputs(shape, batch, cond_dim=0, seed=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *shape), generator=g)
    t = torch.randint(0, 100, (batch,), generator=g)
    return x, t, (torch.randn((batch, cond_dim), generator=g) if cond_dim else None)


def test_unet_and_dit_agree_with_eager_torch(unet, dit):
    torch.manual_seed(0)
    ddpm = _noisy_out(DiffusionModel(DDPMConfig(**UNET)))
    for model, shape, cond_dim in ((unet, (3, 32, 32), 16), (dit, tuple(dit.config.latent_shape), None),
                                   (ddpm, (3, 32, 32), 0)):
        choice = choose_backend(model, "onnx")
        assert (choice.name, choice.note) == ("onnx", None)
        assert choice.build.max_difference <= backends.TOLERANCE
        if cond_dim is None:  # a latent denoiser's condition is its embedding of a prompt (or the null one)
            cond_dim = model.embed(None, 1).shape[-1]
        for batch in (1, 4):
            x, t, cond = _inputs(shape, batch, cond_dim)
            with torch.inference_mode():
                expected = model(x, t, cond=cond)
                got = choice.model(x, t, cond=cond)
            assert got.shape == expected.shape
            assert float((got - expected).abs().max()) <= 1e-4
    with torch.inference_mode():  # no condition: the latent model's null one, computed as torch does
        x, t, _ = _inputs(dit.config.latent_shape, 2)
        assert float((choose_backend(dit, "onnx").model(x, t) - dit(x, t)).abs().max()) <= 1e-4


def test_the_wrapper_is_the_model_for_samplers_and_repeats_exactly(dit):
    choice = choose_backend(dit, "onnx")
    wrapped = choice.model
    assert wrapped.config is dit.config and wrapped.noise_schedule is dit.noise_schedule
    assert backends.unwrap(wrapped) is dit and hasattr(wrapped, "first_stage")
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, steps=4, clip_x0=False)
    first, second = generate(wrapped, settings, 2), generate(wrapped, settings, 2)
    np.testing.assert_array_equal(first, second)  # the same run twice on one machine: the same pixels
    # what the graph cannot take (gradients wanted) runs in torch
    x, t, _ = _inputs(dit.config.latent_shape, 1)
    x.requires_grad_(True)
    assert wrapped(x, t).grad_fn is not None


def test_the_export_is_cached_and_reused(unet):
    first = choose_backend(unet, "onnx").build
    assert first.exported and first.path.is_file()
    forget_builds()
    again = choose_backend(unet, "onnx")
    assert again.name == "onnx" and again.build.path == first.path
    assert again.build.from_cache and not again.build.exported


def test_a_corrupt_cache_file_falls_back_to_torch_in_one_line(unet):
    path = choose_backend(unet, "onnx").build.path
    forget_builds()
    path.write_bytes(b"not an onnx graph")
    choice = choose_backend(unet, "onnx")
    assert choice.name == "torch" and choice.model is unet
    assert "could not be loaded" in choice.note and "\n" not in choice.note
    assert not path.exists()  # removed: the next process exports it again
    forget_builds()
    assert choose_backend(unet, "onnx").name == "onnx"


def test_a_failed_export_or_a_mismatch_falls_back_to_torch(unet, monkeypatch):
    def broken(model, signature):
        raise RuntimeError("unsupported operator aten::frobnicate")

    monkeypatch.setattr(builds, "export_onnx", broken)
    choice = choose_backend(unet, "onnx")
    assert choice.name == "torch" and choice.model is unet
    assert choice.note == "backend: torch (the ONNX export failed (unsupported operator aten::frobnicate))"
    monkeypatch.setattr(backends, "AUTO_MIN_PARAMETERS", 0)  # as for a shipped-size network
    assert choose_backend(unet, "auto").note == choice.note  # auto says why too, once something failed
    monkeypatch.undo()
    forget_builds()
    monkeypatch.setattr(builds, "TOLERANCE", -1.0)  # nothing agrees that well: a mismatch
    choice = choose_backend(unet, "onnx")
    assert choice.name == "torch" and "differs from torch's" in choice.note
    assert not choice.build.path.exists()  # a graph that failed its check is not cached


def test_the_first_sample_never_waits_for_the_export(dit, monkeypatch):
    release = threading.Event()
    export = builds.export_onnx

    def slow_export(model, signature):
        release.wait(30)
        return export(model, signature)

    monkeypatch.setattr(builds, "export_onnx", slow_export)
    choice = choose_backend(dit, "onnx", wait=False)  # the app's way: never wait
    assert choice.name == "torch" and choice.model is dit and "being built" in choice.note
    settings = GuidedSettings(prompt="red", guidance_scale=2.0, steps=2, clip_x0=False)
    generate(choice.model, settings, 1)  # sampled in torch while the export waits
    release.set()
    assert choice.build.wait(60)
    assert choose_backend(dit, "onnx", wait=False).name == "onnx"


def test_torch_is_kept_where_no_backend_applies(unet, monkeypatch):
    assert choose_backend(unet, "torch").name == "torch"
    assert choose_backend(unet, "auto") == backends.BackendChoice(unet, "torch")  # too small to pay for an export
    monkeypatch.setattr(backends, "AUTO_MIN_PARAMETERS", 0)
    assert choose_backend(unet, "auto", wait=True).name == "onnx"
    vae_like = torch.nn.Linear(2, 2)
    assert choose_backend(vae_like, "auto") == backends.BackendChoice(vae_like, "torch")
    assert "no exported form" in choose_backend(vae_like, "onnx").note
    monkeypatch.setattr(backends, "runtime", lambda: None)
    assert choose_backend(unet, "auto") == backends.BackendChoice(unet, "torch")
    assert "onnxruntime is not installed" in choose_backend(unet, "onnx").note
    with pytest.raises(ValueError, match="unknown backend"):
        choose_backend(unet, "tensorrt")


def test_a_guided_batch_split_over_two_threads_agrees_and_repeats_exactly(unet, dit):
    from playground.core.backends.onnx_runtime import splits
    from playground.core.reproduce import torch_threads

    assert splits(2, 2) and splits(5, 4) and not splits(1, 2) and not splits(2, 1)
    runner = choose_backend(unet, "onnx").model.runner
    for batch in (2, 3, 4):  # a guided step of one image; odd batches split ceil(N/2) + the rest
        x, t, cond = _inputs((3, 32, 32), batch, 16, seed=batch)
        split = runner.run(x, t, cond, threads=2)
        whole = runner.run(x, t, cond, threads=2, split=False)
        with torch.inference_mode():
            expected = unet(x, t, cond=cond)
        assert split.shape == whole.shape == expected.shape
        assert float((split - whole).abs().max()) <= backends.TOLERANCE
        assert float((split - expected).abs().max()) <= backends.TOLERANCE
        assert torch.equal(runner.run(x, t, cond, threads=2), split)  # the same split every time: the same bits
    assert runner._second_half is not None
    # the wrapper splits only when torch may use two threads (the CLI), not with the GUI worker's one
    wrapped = choose_backend(dit, "onnx").model
    settings = GuidedSettings(prompt="red circle", guidance_scale=2.0, steps=3, clip_x0=False)
    with torch_threads(1):
        one = generate(wrapped, settings, 1)
    assert wrapped.runner._second_half is None
    with torch_threads(2):
        first, second = generate(wrapped, settings, 1), generate(wrapped, settings, 1)
    assert wrapped.runner._second_half is not None
    np.testing.assert_array_equal(first, second)
    assert_same_picture(first, one)  # other threads, other sessions: the same picture
