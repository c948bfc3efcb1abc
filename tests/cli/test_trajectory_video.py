"""`playground sample ddpm --trajectory run.mp4` (and .gif) on a tiny checkpoint: a decodable video, one frame
per step shown plus the samples (held at the end), each with its overlay; bad paths and settings are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.diffusion.trajectory_pictures import HOLD_LAST_S
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.video import read_video, read_video_recipe

pytest.importorskip("imageio_ffmpeg")


@pytest.fixture(scope="module")
def tiny_ddpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assets")
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), schedule="linear")
    model = DiffusionModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    save_checkpoint(root / "ddpm-shapes" / WEIGHTS_NAME, model, config, "ddpm", data="shapes", steps=1)
    return root / "ddpm-shapes"


def _sample(checkpoint: Path, out: Path, *extra: str) -> int:
    return main(["sample", "ddpm", "--checkpoint", str(checkpoint), "--sampler", "ddim", "--steps", "4",
                 "--seed", "5", "--n", "2", "--out-dir", str(out), *extra])


def test_sample_ddpm_writes_an_mp4_trajectory(tiny_ddpm: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "run.mp4"
    assert _sample(tiny_ddpm, tmp_path / "out", "--trajectory", str(path), "--fps", "8") == 0
    frames = read_video(path)
    held = round(HOLD_LAST_S * 8)
    assert len(frames) == 4 + 1 + held  # 4 steps, the samples, the samples held 1.5 s
    h, w, _ = frames[0].shape
    assert h % 2 == 0 and w % 2 == 0 and w > 2 * h * 0.9  # x_t beside predicted x0
    assert 720 <= w < 2 * 720  # small pictures enlarged by a whole factor to a presentable width
    assert np.abs(frames[-1].astype(np.int16) - frames[-2]).mean() < 1  # held (H.264 may differ by a level)
    recipe = read_video_recipe(path)
    assert recipe["picture"] == "trajectory" and recipe["steps"] == 4 and recipe["seed"] == 5 and recipe["fps"] == 8
    assert "wrote" in capsys.readouterr().out

    # the overlay is what differs between a run with and one without it (same seed: same pictures)
    plain = tmp_path / "plain.mp4"
    assert _sample(tiny_ddpm, tmp_path / "out2", "--trajectory", str(plain), "--fps", "8", "--no-overlays") == 0
    bare = read_video(plain)
    assert len(bare) == len(frames)
    diff = np.abs(frames[0].astype(np.int16) - bare[0]).max(axis=2) > 40
    rows, cols = np.nonzero(diff)
    assert len(rows) and rows.min() < h * 0.1 and cols.min() < w * 0.1  # drawn in the top-left corner


def test_size_and_gif(tiny_ddpm: Path, tmp_path: Path) -> None:
    path = tmp_path / "run.gif"
    assert _sample(tiny_ddpm, tmp_path / "out", "--trajectory", str(path), "--size", "320") == 0
    frames = read_video(path)
    assert len(frames) == 5 and frames[0].shape[1] == 320  # a GIF holds by duration, not by frames


@pytest.mark.parametrize("extra, message", [
    (["--trajectory", "run.avi"], "a video is .mp4 or .gif"),
    (["--trajectory", "run.mp4", "--fps", "0"], "--fps: must be a whole number from 1 to 60"),
    (["--trajectory", "run.mp4", "--size", "huge"], "--size must be a width"),
])
def test_bad_video_options_are_one_line_and_write_nothing(tiny_ddpm: Path, tmp_path: Path, capsys,
                                                          extra: list[str], message: str) -> None:
    extra = [str(tmp_path / e) if e.startswith("run.") else e for e in extra]
    with pytest.raises(SystemExit) as info:
        _sample(tiny_ddpm, tmp_path / "out", *extra)
    assert info.value.code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("run.*"))
