"""CLIP guidance for diffusion: the shift on a known case, s = 0 is the unguided run, CFG + CLIP combine,
the unconditional DDPM is steered, and the CLI's PNG recipe reproduces the same pixels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from playground.cli import main
from playground.core.assets import shipped_for
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.diffusion.guidance import ClassifierFreeGuidance, GuidanceSchedule
from playground.core.images import read_recipe
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.text2img.clip_guidance import ClipGuidance, clip_guided
from playground.core.text2img.denoiser import GuidanceModels, make_denoiser
from playground.core.text2img.sampling import GuidedSettings, generate
from token_models import tiny_clip

T = 100
PROMPT = "a large red circle at the top left"


def _noisy_out(model: nn.Module) -> nn.Module:
    torch.nn.init.normal_(model.out.weight, std=0.05)  # an untrained U-Net predicts zeros otherwise
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def text2img() -> TextToImageModel:
    torch.manual_seed(0)
    return _noisy_out(TextToImageModel(Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(),
                                                      text_dim=16, text_layers=1, cond_dim=16, num_train_timesteps=T)))


@pytest.fixture(scope="module")
def ddpm() -> DiffusionModel:
    torch.manual_seed(1)
    return _noisy_out(DiffusionModel(DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(),
                                                num_train_timesteps=T)))


@pytest.fixture(scope="module")
def clip() -> nn.Module:
    return tiny_clip().requires_grad_(False)


class LinearClip(nn.Module):
    """A stand-in CLIP whose image embedding is linear, E_I(x) = W x, so cos becomes x . (W^T e): known gradient."""

    def __init__(self, embed_dim: int = 4):
        super().__init__()
        torch.manual_seed(3)
        self.weight = nn.Parameter(torch.randn(embed_dim, 3 * 32 * 32) * 0.01, requires_grad=False)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1) @ self.weight.t()


class Proportional(nn.Module):
    """eps(x_t, t) = c x_t: a denoiser whose Jacobian is known."""

    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.c * x


def test_the_shift_is_the_formula_on_a_linear_clip_detached_and_through_the_denoiser():
    clip, text = LinearClip(), torch.tensor([0.5, -1.0, 0.25, 2.0])
    alphas_cumprod = torch.linspace(0.99, 0.05, T)
    x, t, s, c = torch.randn(2, 3, 32, 32), torch.tensor([10, 70]), 7.0, 0.3
    direction = (clip.weight.t() @ text).view(1, 3, 32, 32)  # grad_x0 of x0 . (W^T e)
    ab = alphas_cumprod[t].view(-1, 1, 1, 1)
    # eps held fixed: grad_{x_t} = grad_{x0} / sqrt(ab)
    detached = ClipGuidance(Proportional(c), clip, text, s, alphas_cumprod)(x, t)
    expected = c * x - s * (1 - ab).sqrt() * direction / ab.sqrt()
    torch.testing.assert_close(detached, expected, rtol=1e-5, atol=1e-5)
    # through the denoiser: x0 = (x - sqrt(1-ab) c x) / sqrt(ab), so grad_{x_t} = direction (1 - sqrt(1-ab) c) / sqrt(ab)
    with torch.inference_mode():  # as the sampler calls it
        through = ClipGuidance(Proportional(c), clip, text, s, alphas_cumprod, through_denoiser=True)(x, t)
    expected = c * x - s * (1 - ab).sqrt() * direction * (1 - (1 - ab).sqrt() * c) / ab.sqrt()
    torch.testing.assert_close(through, expected, rtol=1e-5, atol=1e-5)
    # outside the guidance range there is no shift, also under the sampler's inference mode
    late_only = ClipGuidance(Proportional(c), clip, text, s, alphas_cumprod, GuidanceSchedule(0.5, 1.0))
    with torch.inference_mode():
        shifted = late_only(x, t)
    torch.testing.assert_close(shifted[1], c * x[1])  # t = 70: 30% of the way from noise
    assert not torch.allclose(shifted[0], c * x[0])


def test_scale_zero_and_an_empty_prompt_are_the_unguided_run_exactly(text2img, clip):
    plain = GuidedSettings(prompt=PROMPT, steps=4, seed=3)
    assert isinstance(make_denoiser(text2img, plain.replace(clip_scale=0.0), clip=clip), ClassifierFreeGuidance)
    np.testing.assert_array_equal(generate(text2img, plain, clip=clip), generate(text2img, plain))
    unconditional = GuidedSettings(prompt="", steps=4, clip_scale=50.0)
    assert isinstance(make_denoiser(text2img, unconditional, clip=clip), ClassifierFreeGuidance)


def test_cfg_and_clip_combine_and_both_scales_change_the_image(text2img, clip):
    settings = GuidedSettings(prompt=PROMPT, guidance_scale=3.0, clip_scale=200.0, steps=4, seed=1)
    guided = make_denoiser(text2img, settings, clip=clip)
    assert isinstance(guided, ClipGuidance) and isinstance(guided.base, ClassifierFreeGuidance)
    x, t = torch.randn(1, 3, 32, 32), torch.tensor([60])
    cfg = ClassifierFreeGuidance.for_prompt(text2img, PROMPT, 3.0)
    with torch.inference_mode():
        eps_cfg = cfg(x, t)
        combined = guided(x, t)
    shift = 200.0 * math.sqrt(1 - float(text2img.noise_schedule.alphas_cumprod[60])) * guided.gradient(x, t, eps_cfg)
    torch.testing.assert_close(combined, eps_cfg - shift)
    assert shift.abs().max() > 1e-4  # the CLIP's push is there
    images = {(w, s): generate(text2img, settings.replace(guidance_scale=w, clip_scale=s), clip=clip)
              for w, s in ((3.0, 0.0), (3.0, 200.0), (1.0, 200.0))}
    assert not np.array_equal(images[3.0, 0.0], images[3.0, 200.0])
    assert not np.array_equal(images[3.0, 200.0], images[1.0, 200.0])


def test_clip_alone_steers_the_unconditional_ddpm(ddpm, clip):
    settings = GuidedSettings(prompt="red", base="ddpm", clip_scale=300.0, steps=4, seed=0)
    guided = make_denoiser(ddpm, settings, clip=clip)
    assert isinstance(guided, ClipGuidance) and guided.base is ddpm
    assert not np.array_equal(generate(ddpm, settings, clip=clip), generate(ddpm, settings.replace(clip_scale=0.0)))


def test_missing_or_unfit_clip_and_bad_scales_are_one_line_messages(text2img, clip):
    with pytest.raises(ValueError, match="CLIP guidance needs a CLIP model"):
        make_denoiser(text2img, GuidedSettings(prompt="red", clip_scale=1.0))
    for bad in (-1.0, math.nan, math.inf, 1e6):
        with pytest.raises(ValueError, match="CLIP guidance scale"):
            GuidedSettings(clip_scale=bad).validate()
    wide = tiny_clip()
    object.__setattr__(wide.config, "image_size", 64)
    with pytest.raises(ValueError, match="reads 3x64x64 images"):
        clip_guided(text2img, wide, "red", 1.0, text2img.noise_schedule.alphas_cumprod, (3, 32, 32))
    models = GuidanceModels(find=lambda family: (_ for _ in ()).throw(ValueError(f"no shipped {family} checkpoint")))
    with pytest.raises(ValueError, match="no shipped clip checkpoint"):
        models.guide(text2img, GuidedSettings(prompt="red", clip_scale=5.0))


def test_the_clip_scale_travels_in_the_recipe(clip):
    settings = GuidedSettings(prompt="red", clip_scale=42.5)
    assert GuidedSettings.from_recipe(settings.to_recipe("m")) == settings
    assert GuidedSettings.from_recipe({"prompt": "red"}).clip_scale == 0.0  # PNGs made before CLIP guidance


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory, text2img, ddpm, clip) -> Path:
    root = tmp_path_factory.mktemp("assets")
    for name, model, family in (("text2img-tiny", text2img, "text2img"), ("ddpm-tiny", ddpm, "ddpm"),
                                ("clip-tiny", clip, "clip")):
        save_checkpoint(root / name / WEIGHTS_NAME, model, model.config, family, data="shapes", steps=1)
    return root


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("base", ["text2img", "ddpm"])
def test_cli_clip_guidance_writes_the_scale_and_the_clips_hash_and_reproduces(tiny_root, tmp_path, monkeypatch, base):
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_root))  # --base ddpm takes the shipped (here: tiny) DDPM
    out = tmp_path / "samples"
    rc = main(["sample", "text2img", "--checkpoint", str(tiny_root / "text2img-tiny"), "--prompt", "red circle",
               "--clip-guidance", "150", "--clip-model", str(tiny_root / "clip-tiny"), "--base", base,
               "--steps", "3", "--n", "1", "--seed", "5", "--out-dir", str(out)])
    assert rc == 0
    (png,) = sorted(out.glob("*.png"))
    recipe = read_recipe(png)
    assert recipe["clip_scale"] == 150.0 and recipe["base"] == base
    assert recipe["clip_model"].endswith("clip-tiny/model.safetensors") and len(recipe["clip_model_sha256"]) == 64
    assert ("base_model" in recipe) == (base == "ddpm")
    assert main(["reproduce", str(png), "--out", str(tmp_path / "again.png")]) == 0
    np.testing.assert_array_equal(_png(tmp_path / "again.png"), _png(png))
    unguided = tmp_path / "unguided"
    assert main(["sample", "text2img", "--checkpoint", str(tiny_root / "text2img-tiny"), "--prompt", "red circle",
                 "--base", base, "--steps", "3", "--n", "1", "--seed", "5", "--out-dir", str(unguided)]) == 0
    assert not np.array_equal(_png(next(unguided.glob("*.png"))), _png(png))


def test_cli_refuses_a_bad_clip_scale_in_one_line(tiny_root, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "text2img", "--checkpoint", str(tiny_root / "text2img-tiny"), "--clip-guidance", "nan",
              "--out-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--clip-guidance" in err and "from 0 to 1000" in err
    assert "Traceback" not in err and not (tmp_path / "none").exists()


@pytest.mark.skipif(shipped_for("clip") is None or shipped_for("ddpm") is None, reason="no shipped clip or ddpm")
def test_shipped_clip_steers_the_unconditional_ddpm_toward_the_prompt():
    from playground.core.clip.scores import clip_score

    clip = load_checkpoint(shipped_for("clip").path).model
    ddpm = load_checkpoint(shipped_for("ddpm").path).model
    settings = GuidedSettings(prompt="red", base="ddpm", steps=10, seed=0)
    scores = {}
    for s in (0.0, 150.0):
        images = torch.from_numpy(generate(ddpm, settings.replace(clip_scale=s), 4, clip=clip))
        scores[s] = float(clip_score(clip, images.permute(0, 3, 1, 2).float() / 127.5 - 1, "red").mean())
    assert scores[150.0] > scores[0.0] + 0.05, scores


def test_the_comparison_is_no_guidance_cfg_clip_and_both_each_as_its_own_run(text2img, clip):
    from playground.core.text2img.clip_guidance import comparison_columns, comparison_picture, comparison_steps
    from playground.core.data import to_uint8
    from tolerance import assert_same_picture  # one batch of 8 against runs of 1

    settings = GuidedSettings(prompt="red circle", guidance_scale=4.0, clip_scale=200.0, steps=3, seed=2)
    assert [(w, s) for _, w, s in comparison_columns(settings)] == [(1.0, 0.0), (4.0, 0.0), (1.0, 200.0), (4.0, 200.0)]
    last = None
    for last in comparison_steps(text2img, settings, [2, 3], clip):
        pass
    images = to_uint8(last.x_prev)
    for i, (seed, (_, w, s)) in enumerate((seed, column) for seed in (2, 3) for column in comparison_columns(settings)):
        alone = generate(text2img, settings.replace(guidance_scale=w, clip_scale=s, seed=seed), clip=clip)[0]
        assert_same_picture(images[i], alone)
    assert comparison_picture(last.x_prev, settings, [2, 3]).shape[1] > 4 * 32 * 3
    for bad in (settings.replace(clip_scale=0.0), settings.replace(prompt=""), settings.replace(base="ddpm")):
        with pytest.raises(ValueError, match="comparison"):
            comparison_steps(text2img, bad, [0], clip)
