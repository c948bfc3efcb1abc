"""`playground sample ... --backend`: the recipe records the backend that ran, and `reproduce` uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compare_models import save_tiny_family_checkpoints
from playground.cli import main
from playground.core.backends import forget_builds
from playground.core.images import read_recipe

# the TorchScript exporter's notes (pytest shows what the module's own filters hide: core/backends/onnx_runtime.py)
pytestmark = [pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export"),
              pytest.mark.filterwarnings("ignore:The feature will be removed"),
              pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")]


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(autouse=True)
def fresh_builds():
    forget_builds()
    yield
    forget_builds()


@pytest.fixture(scope="module")
def tiny_text2img(tmp_path_factory) -> Path:
    return save_tiny_family_checkpoints(tmp_path_factory.mktemp("families"))["text2img"]


def test_onnx_samples_record_it_and_reproduce_the_same_pixels(tiny_latent_checkpoints, tiny_text2img, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    runs = {"dit": ["--prompt", "red circle", "--steps", "3"], "text2img": ["--prompt", "red circle", "--steps", "3"]}
    for family, options in runs.items():
        checkpoint = tiny_latent_checkpoints.get(family, tiny_text2img)
        out, again = tmp_path / f"{family}.png", tmp_path / f"{family}-again.png"
        assert main(["sample", family, "--checkpoint", str(checkpoint), *options, "--n", "2", "--seed", "4",
                     "--backend", "onnx", "--out", str(out)]) == 0
        recipe = read_recipe(out)
        assert recipe["backend"] == "onnx" and recipe["grid_of"]["backend"] == "onnx"
        capsys.readouterr()
        assert main(["reproduce", str(out), "--out", str(again)]) == 0
        assert "identical" in capsys.readouterr().out
        np.testing.assert_array_equal(_png(again), _png(out))


def test_torch_is_recorded_and_a_backend_that_cannot_run_is_said_in_one_line(tiny_latent_checkpoints, tmp_path,
                                                                             capsys, monkeypatch):
    out = tmp_path / "torch"
    assert main(["sample", "sit", "--checkpoint", str(tiny_latent_checkpoints["sit"]), "--steps", "2", "--n", "1",
                 "--backend", "torch", "--out-dir", str(out)]) == 0
    assert read_recipe(out / "sample_0000.png")["backend"] == "torch"
    from playground.core import backends

    monkeypatch.setattr(backends, "runtime", lambda: None)  # as where onnxruntime is not installed
    capsys.readouterr()
    assert main(["sample", "sit", "--checkpoint", str(tiny_latent_checkpoints["sit"]), "--steps", "2", "--n", "1",
                 "--backend", "onnx", "--out-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "backend: torch (onnxruntime is not installed" in err
    assert read_recipe(out / "sample_0000.png")["backend"] == "torch"
    # a recipe that says onnx, re-rendered where it cannot run: reproduce says so
    from playground.core.images import save_png
    from playground.core.reproduce import reproduce

    recipe = read_recipe(out / "sample_0000.png") | {"backend": "onnx"}
    save_png(tmp_path / "onnx.png", _png(out / "sample_0000.png"), recipe)
    _, _, differences = reproduce(tmp_path / "onnx.png")
    assert any(d.startswith("backend: the image was made with onnx, re-rendered with torch") for d in differences)
    with pytest.raises(SystemExit):
        main(["sample", "sit", "--checkpoint", str(tiny_latent_checkpoints["sit"]), "--backend", "fast",
              "--out-dir", str(out)])


def test_the_recipe_says_torch_when_the_session_never_ran(tiny_text2img):
    pytest.importorskip("onnxruntime")
    import torch

    from playground.cli.backends import backend_that_ran
    from playground.core.backends import with_backend
    from playground.core.checkpoints import load_checkpoint

    loaded, choice = with_backend(load_checkpoint(tiny_text2img), "onnx")
    assert choice.name == "onnx"
    assert backend_that_ran(loaded, "onnx") == "torch"  # e.g. `--base ddpm`: a helper DDPM sampled, in torch
    with torch.inference_mode():
        loaded.model(torch.zeros(1, 3, 32, 32), torch.tensor([5]), cond=torch.zeros(1, 16))
    assert backend_that_ran(loaded, "onnx") == "onnx"
