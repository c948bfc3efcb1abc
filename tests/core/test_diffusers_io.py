"""Diffusers pipeline folders run by the project's samplers equal diffusers' own pipelines.

Tiny random-weight pipelines are built by the test and saved with save_pretrained (nothing
downloaded); the project's DDIM (eta 0) and DDPM runs from the same seeds must equal
DDIMPipeline / DDPMPipeline / StableDiffusionPipeline within 1/255 per pixel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from diffusers_pipelines import sd_pipeline, unconditional_pipeline  # noqa: E402

from playground.core.checkpoints import CheckpointError, load_checkpoint  # noqa: E402
from playground.core.diffusers_io import is_diffusers_folder, summarize  # noqa: E402
from playground.core.diffusers_io.load import is_diffusers  # noqa: E402
from playground.core.diffusers_io.sampling import generate, initial_noise  # noqa: E402

TOLERANCE = 1 / 255
PREDICTIONS = ("epsilon", "v_prediction")


def generators(seed: int, n: int) -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(n)]


def as_np(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] (N, C, H, W) as diffusers' output_type="np": [0, 1] (N, H, W, C)."""
    return ((images + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert float(np.abs(ours - theirs).max()) <= TOLERANCE
    assert float(theirs.std()) > 0.02  # a picture, not a constant: the comparison means something


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diffusers")
    made = {f"uncond-{p}": unconditional_pipeline(root / f"uncond-{p}", p) for p in PREDICTIONS + ("sample",)}
    made |= {f"sd-{p}": sd_pipeline(root / f"sd-{p}", p) for p in PREDICTIONS}
    return made


def test_folder_is_recognised_and_described(folders):
    summary = summarize(folders["uncond-v_prediction"])
    assert is_diffusers_folder(folders["uncond-epsilon"]) and not is_diffusers_folder(folders["uncond-epsilon"] / "unet")
    assert (summary.family, summary.prediction_type, summary.resolution) == ("ddpm", "v_prediction", 8)
    sd = summarize(folders["sd-epsilon"])
    assert (sd.family, sd.layout, sd.resolution) == ("text2img", "text2img", 16)
    assert "StableDiffusionPipeline" in sd.describe() and "M parameters" in sd.describe()
    loaded = load_checkpoint(folders["sd-epsilon"], "cpu")
    assert is_diffusers(loaded) and loaded.family == "text2img" and loaded.name == "sd"
    assert loaded.model.config.latent_shape == (4, 8, 8)


@pytest.mark.parametrize("prediction", PREDICTIONS + ("sample",))
def test_ddim_eta0_equals_ddim_pipeline(folders, prediction):
    from diffusers import DDIMPipeline

    folder = folders[f"uncond-{prediction}"]
    loaded = load_checkpoint(folder, "cpu")
    ours = generate(loaded.model, sampler="ddim", steps=5, eta=0.0, n=2, seed=7)
    theirs = DDIMPipeline.from_pretrained(folder)(batch_size=2, generator=generators(7, 2), num_inference_steps=5,
                                                  eta=0.0, output_type="np").images
    assert_close(as_np(ours), theirs)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_ddpm_equals_ddpm_pipeline(folders, prediction):
    from diffusers import DDPMPipeline

    folder = folders[f"uncond-{prediction}"]
    loaded = load_checkpoint(folder, "cpu", families=("ddpm",))
    ours = generate(loaded.model, sampler="ddpm", steps=6, n=2, seed=11)
    theirs = DDPMPipeline.from_pretrained(folder)(batch_size=2, generator=generators(11, 2), num_inference_steps=6,
                                                  output_type="np").images
    assert_close(as_np(ours), theirs)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_stable_diffusion_layout_with_guidance_equals_pipeline(folders, prediction):
    from diffusers import StableDiffusionPipeline

    folder = folders[f"sd-{prediction}"]
    loaded = load_checkpoint(folder, "cpu", families=("text2img",))
    settings = dict(prompt="a red circle", negative_prompt="blue", guidance_scale=5.0)
    ours = generate(loaded.model, sampler="ddim", steps=4, n=2, seed=3, **settings)
    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    theirs = pipe(num_inference_steps=4, num_images_per_prompt=2, generator=generators(3, 2), output_type="np",
                  **settings).images
    assert_close(as_np(ours), theirs)


def test_image_i_of_seed_s_is_image_0_of_seed_s_plus_i(folders):
    loaded = load_checkpoint(folders["sd-epsilon"], "cpu")
    x = initial_noise(loaded.model, 3, 40)
    expected = torch.randn((1, 4, 8, 8), generator=torch.Generator("cpu").manual_seed(42))
    assert torch.equal(x[2:3], expected)
    pair = generate(loaded.model, prompt="a red circle", steps=3, n=2, seed=40)
    single = generate(loaded.model, prompt="a red circle", steps=3, n=1, seed=41)
    assert float((pair[1:] - single).abs().max()) <= 2 * TOLERANCE


def test_pickle_only_weights_are_refused(tmp_path, folders):
    from diffusers import DDPMPipeline

    folder = tmp_path / "pickled"
    DDPMPipeline.from_pretrained(folders["uncond-epsilon"]).save_pretrained(folder, safe_serialization=False)
    assert not list((folder / "unet").glob("*.safetensors"))
    with pytest.raises(CheckpointError, match=r"only pickle weights .*safetensors only"):
        load_checkpoint(folder, "cpu")


@pytest.mark.parametrize("setting, value", [("thresholding", True), ("rescale_betas_zero_snr", True),
                                            ("variance_type", "learned_range"), ("timestep_spacing", "karras"),
                                            ("beta_schedule", "sigmoid"), ("shift_terminal", 0.5)])
def test_unsupported_scheduler_settings_are_named(tmp_path, folders, setting, value):
    import shutil

    folder = tmp_path / "odd"
    shutil.copytree(folders["uncond-epsilon"], folder)
    config_path = folder / "scheduler" / "scheduler_config.json"
    config = json.loads(config_path.read_text()) | {setting: value}
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=setting):
        load_checkpoint(folder, "cpu")


def test_a_folder_of_another_family_is_refused_before_loading(folders):
    with pytest.raises(CheckpointError, match="text2img"):
        load_checkpoint(folders["sd-epsilon"], "cpu", families=("ddpm",))


def test_fp16_and_bf16_seeds_draw_as_diffusers_randn_tensor():
    from diffusers.utils.torch_utils import randn_tensor

    from playground.core.diffusion.sampling import NoiseStream

    for dtype in (torch.float16, torch.bfloat16):
        ours = NoiseStream(5, 3, (4, 8, 8), dtype).draw()
        theirs = randn_tensor((3, 4, 8, 8), generator=generators(5, 3), dtype=dtype)
        assert torch.equal(ours, theirs.float())


def test_real_scheduler_configs_are_read(tmp_path):
    from playground.core.diffusers_io.schedule import schedule_from_config

    sd15 = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
            "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
            "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
            "clip_sample": False}
    dpm = {"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver++", "solver_order": 2,
           "variance_type": None, "lower_order_final": True, "euler_at_final": False, "use_karras_sigmas": False,
           "final_sigmas_type": "zero", "lambda_min_clipped": float("-inf"), "prediction_type": "v_prediction",
           "timestep_spacing": "trailing", "thresholding": False, "dynamic_thresholding_ratio": 0.995,
           "sample_max_value": 1.0}
    assert schedule_from_config(sd15).describe() == "scaled_linear betas, T 1000, epsilon, leading + 1 spacing"
    assert schedule_from_config(dpm).prediction_type == "v_prediction"


def test_without_diffusers_a_folder_says_how_to_install_it(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers -> ImportError
    with pytest.raises(CheckpointError, match=r'pip install -e "\.\[diffusers\]"'):
        load_checkpoint(folders["uncond-epsilon"], "cpu")
    assert summarize(folders["sd-epsilon"]).family == "text2img"  # describing it needs neither library


def test_cuda_runs_in_fp16_the_cpu_in_fp32_unless_asked(monkeypatch):
    from playground.core.diffusers_io.load import PRECISION_VARIABLE, choose_dtype

    monkeypatch.delenv(PRECISION_VARIABLE, raising=False)
    assert choose_dtype(torch.device("cuda")) is torch.float16
    assert choose_dtype(torch.device("cpu")) is torch.float32
    assert choose_dtype(torch.device("cuda"), "bf16") is torch.bfloat16
    monkeypatch.setenv(PRECISION_VARIABLE, "fp32")
    assert choose_dtype(torch.device("cuda")) is torch.float32
    with pytest.raises(CheckpointError, match="fp16 runs on a GPU"):
        choose_dtype(torch.device("cpu"), "fp16")
