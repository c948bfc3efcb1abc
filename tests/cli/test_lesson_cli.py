"""`playground lesson`: the list, slides (and videos) exported to a folder, presenting, and bad input.

The exports run a lesson file over the tiny VAE checkpoint (no shipped model needed); one test
exports a built-in lesson (the GAN's: about a second) and skips when its model is not shipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.assets import shipped_named
from playground.core.checkpoints import WEIGHTS_NAME
from playground.core.lessons import builtin_lessons
from playground.core.provenance import read_png_recipe


def write_lesson(folder: Path, checkpoint: Path, extra_scene: dict | None = None) -> Path:
    recipe = {"family": "vae", "model": "tiny-vae", "checkpoint": str(checkpoint / WEIGHTS_NAME), "picture": "decode",
              "latent": [0.0, 0.5, -0.5, 1.0], "scale": 1}
    scenes = [{"title": "A latent, decoded", "tab": "VAE / AE / GAN", "caption": "z ~ N(0, I) decodes to x = D(z)",
               "recipe": recipe, "action": {"kind": "sweep", "key": "latent.0", "from": -2, "to": 2, "frames": 5}},
              {"title": "A grid", "tab": "VAE / AE / GAN", "caption": "Four draws from the prior.",
               "recipe": {**recipe, "picture": "grid", "n": 4, "grid_of": {"seed": 3, "temperature": 1.0}}}]
    path = folder / "mine.json"
    scenes += [extra_scene] if extra_scene else []
    path.write_text(json.dumps({"lesson": 1, "name": "mine", "title": "Mine", "scenes": scenes}))
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_list_shows_one_lesson_a_line_name_first(capsys):
    assert main(["lesson", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    lessons = builtin_lessons()
    assert [line.split()[0] for line in lines] == [lesson.name for lesson in lessons]
    for line, lesson in zip(lines, lessons):
        assert lesson.title in line and f"({len(lesson.scenes)} scenes)" in line


def test_export_writes_every_scene_as_a_1280x720_slide_with_its_recipe(tmp_path: Path, tiny_checkpoint: Path, capsys):
    lesson = write_lesson(tmp_path, tiny_checkpoint)
    out = tmp_path / "slides"
    assert main(["lesson", str(lesson), "--export", str(out), "--device", "cpu"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["01-a-latent-decoded.png", "02-a-grid.png"]
    assert capsys.readouterr().out.split() == [str(out / name) for name in files]
    for name in files:
        with Image.open(out / name) as image:
            assert image.size == (1280, 720)
        recipe = read_png_recipe(out / name)
        assert recipe["family"] == "vae" and recipe["slide"]["lesson"] == "mine"


def test_export_with_video_writes_each_action_as_mp4(tmp_path: Path, tiny_checkpoint: Path):
    pytest.importorskip("imageio_ffmpeg")
    video = pytest.importorskip("playground.core.video")
    out = tmp_path / "slides"
    assert main(["lesson", str(write_lesson(tmp_path, tiny_checkpoint)), "--export", str(out), "--video",
                 "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01-a-latent-decoded.mp4", "01-a-latent-decoded.png",
                                                     "02-a-grid.png"]
    frames = video.read_video(out / "01-a-latent-decoded.mp4")
    assert len(frames) >= 5 and frames[0].shape == (720, 1280, 3)
    assert not np.array_equal(frames[0], frames[4])  # the sweep moves the picture


def test_a_bad_name_is_one_line_and_writes_nothing(tmp_path: Path, capsys):
    out = tmp_path / "slides"
    assert main(["lesson", "no-such-lesson", "--export", str(out)]) == 2
    assert "no lesson called 'no-such-lesson'" in one_line_error(capsys)
    assert not out.exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "bad", "scenes": [{"title": "A", "tab": "Diffusion"}]}')
    assert main(["lesson", str(bad), "--export", str(out)]) == 2
    assert f"{bad}: scene 1 'A'" in one_line_error(capsys)
    assert not out.exists()
    assert main(["lesson", "vae", "--export", str(out), "--video", "--fps", "0"]) == 2
    assert "--fps must be" in one_line_error(capsys)
    assert not out.exists()


def test_a_missing_model_names_its_scene_and_overwrites_nothing(tmp_path: Path, tiny_checkpoint: Path, capsys):
    missing = {"title": "DDIM", "tab": "Diffusion", "caption": "",
               "recipe": {"family": "ldm", "model": "ldm-nowhere", "picture": "sample"}}
    lesson = write_lesson(tmp_path, tiny_checkpoint, missing)
    out = tmp_path / "slides"
    out.mkdir()
    (out / "01-a-latent-decoded.png").write_bytes(b"before")
    assert main(["lesson", str(lesson), "--export", str(out), "--device", "cpu"]) == 2
    assert "scene 3 'DDIM': model 'ldm-nowhere' is not there" in one_line_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["01-a-latent-decoded.png"]
    assert (out / "01-a-latent-decoded.png").read_bytes() == b"before"


def test_present_opens_the_app_on_the_lesson_file(monkeypatch):
    import playground.gui.app as app

    calls = []
    monkeypatch.setattr(app, "run_app", lambda device="auto", checkpoint=None, lesson=None, present=False:
                        calls.append((device, lesson, present)) or 0)
    assert main(["lesson", "vae", "--present", "--device", "cpu"]) == 0
    assert calls == [("cpu", str(builtin_lessons()[1].path), True)]


def test_present_with_a_bad_lesson_never_opens_the_app(monkeypatch, capsys):
    import playground.gui.app as app

    monkeypatch.setattr(app, "run_app", lambda **kwargs: pytest.fail("the app was started"))
    assert main(["lesson", "nope", "--present"]) == 2
    assert "no lesson called 'nope'" in one_line_error(capsys)


def test_a_builtin_lesson_exports_all_its_slides(tmp_path: Path, capsys):
    if shipped_named("gan-shapes") is None:
        pytest.skip("the shipped gan-shapes is not there")
    assert main(["lesson", "gan", "--export", str(tmp_path), "--device", "cpu"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 5 and names[0] == "01-images-straight-from-noise.png"
