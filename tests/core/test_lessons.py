"""Lessons without drawing: the built-in files, the format's checks, the actions' frames, missing models.

Every check here reads files or builds recipes; nothing renders (test_lessons_render.py does),
so this file needs no shipped model and runs in about a second.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from playground.core.lessons import (
    Lesson, LessonError, Scene, action_frames, builtin_lessons, caption_layout, find_lesson, lesson_problems,
    load_lesson, save_lesson, scene_from_recipe,
)
from playground.core.lessons.builtin import BUILTIN_DIR, ORDER
from playground.core.lessons.slide import CAPTION_PX, MIN_CAPTION_PX, font, line_height, slide_layout
from playground.core.reproduce import RENDERERS

PANELS = Path(__file__).resolve().parents[2] / "playground" / "gui" / "panels"


def tab_titles() -> set[str]:
    """The panels' titles, read from their source (the core's tests import no Qt)."""
    pattern = re.compile(r'^    title = "([^"]+)"', re.M)
    return {title for path in PANELS.glob("*/panel.py") for title in pattern.findall(path.read_text())}


def decode_scene(action=None, **recipe) -> Scene:
    return Scene("Decode", "VAE / AE / GAN", "z decodes",
                 {"family": "vae", "model": "vae-shapes", "picture": "decode", "latent": [0.0, 1.0, 2.0], "scale": 1,
                  **recipe}, action)


def token_scene(action) -> Scene:
    grid = [[5, 5, 5], [5, 1, 2], [5, 3, 5]]
    return Scene("Tokens", "VQ-VAE codebook", "", {"family": "vqvae", "model": "vqvae-shapes", "picture": "tokens",
                                                   "codebook_size": 8, "tokens": grid}, action)


# --- the built-in lessons --------------------------------------------------------------------------


def test_every_builtin_lesson_loads_in_the_story_order():
    lessons = builtin_lessons()
    assert [lesson.name for lesson in lessons] == list(ORDER)
    for lesson in lessons:
        assert lesson.path == BUILTIN_DIR / f"{lesson.name}.json"  # find_lesson finds it by its name
        assert 4 <= len(lesson.scenes) <= 10, lesson.name
        assert find_lesson(lesson.name) == lesson


def test_every_scene_names_a_tab_a_renderable_recipe_and_a_short_caption():
    tabs = tab_titles()
    assert "Diffusion" in tabs and "Tokens" in tabs
    for lesson in builtin_lessons():
        for scene in lesson.scenes:
            where = f"{lesson.name}: {scene.title}"
            assert scene.tab in tabs, where
            assert scene.recipe["family"] in RENDERERS, where
            assert isinstance(scene.recipe.get("model"), str), where  # a shipped name: no path of this machine
            assert "checkpoint" not in json.dumps(scene.recipe), where
            picture = scene.recipe.get("picture")
            assert picture or (scene.action or {}).get("kind") == "train", where
            assert scene.caption and scene.title, where


def test_every_caption_fits_its_box_on_the_slide_in_large_type():
    """Measured with the slide's own font: every line within the box's width, all lines within its height."""
    layout = slide_layout((1280, 720))
    box = layout["caption_text"]
    assert layout["caption_px"] == CAPTION_PX >= 20
    for lesson in builtin_lessons():
        for scene in lesson.scenes:
            lines, fits = caption_layout(scene.caption, box, CAPTION_PX)
            assert fits, f"{lesson.name}: {scene.title!r} does not fit at {CAPTION_PX} px: {lines}"
            assert max(font(CAPTION_PX).getlength(line) for line in lines) <= box[0]
            assert len(lines) * line_height(CAPTION_PX) <= box[1]
            # the presenter's caption bar: two lines of 24 px text on a 1280-px-wide screen, less its margins
            assert caption_layout(scene.caption, (1100, 2 * line_height(24)), 24)[1], f"{lesson.name}: {scene.title!r}"


def test_builtin_lessons_need_only_shipped_models():
    from playground.core.assets import list_shipped

    shipped = {c.name for c in list_shipped()}
    for lesson in builtin_lessons():
        missing = {s.recipe["model"] for s in lesson.scenes} - shipped
        if missing:
            pytest.skip(f"shipped models missing here: {sorted(missing)}")
        assert lesson_problems(lesson) == [], lesson.name


# --- the format ----------------------------------------------------------------------------------


def test_save_and_load_keep_a_lesson(tmp_path: Path):
    lesson = Lesson("mine", "My lesson", (decode_scene({"kind": "sweep", "key": "latent.1", "from": -2, "to": 2,
                                                        "frames": 5}),))
    path = save_lesson(lesson, tmp_path / "mine.json")
    again = load_lesson(path)
    assert again.scenes == lesson.scenes and again.name == "mine" and again.path == path
    assert '"latent": [0.0, 1.0, 2.0]' in path.read_text()  # a latent reads as one line of text


def test_a_failed_save_leaves_the_file_that_was_there(tmp_path: Path):
    path = tmp_path / "mine.json"
    path.write_text("before")
    bad = Lesson("mine", "My lesson", (Scene("No tab", "", "", {"family": "vae", "model": "vae-shapes"}),))
    with pytest.raises(LessonError, match="scene 1 'No tab'"):
        save_lesson(bad, path)
    assert path.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.json"]


def test_scene_from_recipe_copies_what_a_panel_shows():
    recipe = {"family": "ddpm", "model": "ddpm-shapes", "picture": "frame", "step_index": 3}
    scene = scene_from_recipe("Diffusion", recipe, caption="x_t at step 4")
    recipe["step_index"] = 9
    assert scene.recipe["step_index"] == 3 and scene.title == "Diffusion" and scene.action is None


@pytest.mark.parametrize("content, message", [
    ("{ not json", "not valid JSON"),
    ('{"name": "x", "scenes": []}', "'scenes' must be a list of 1"),
    ('{"name": "x", "scenes": [{"title": "A", "recipe": {"family": "vae", "model": "m"}}]}',
     "scene 1 'A': it names no 'tab'"),
    ('{"name": "x", "scenes": [{"title": "A", "tab": "T", "recipe": {"model": "m"}}]}',
     "scene 1 'A': its recipe names no model 'family'"),
    ('{"name": "x", "scenes": [{"title": "A", "tab": "T", "recipe": {"family": "vae", "model": "m"}, '
     '"action": {"kind": "zoom"}}]}', "scene 1 'A': its action: 'kind' must be one of"),
    ('{"name": "x", "scenes": [{"title": "A", "tab": "T", "recipe": {"family": "vae", "model": "m"}, '
     '"action": {"kind": "sweep", "key": "guidance", "from": 0, "to": 1, "frames": 3}}]}', "no value at 'guidance'"),
    ('{"name": "x", "scenes": [{"title": "A", "tab": "T", "recipe": {"family": "vae", "model": "m", "tokens": [[1]]}, '
     '"action": {"kind": "paint", "key": "tokens", "cells": [[3, 0, 1]]}}]}', "within the 1x1 grid"),
    ('{"name": "Bad Name", "scenes": [{"title": "A"}]}', "'name' must be lower-case"),
])
def test_a_bad_lesson_file_is_one_line_naming_the_file_and_the_scene(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    text = str(caught.value)
    assert "\n" not in text and text.startswith(str(path)) and message in text


def test_find_lesson_says_which_lessons_there_are(tmp_path: Path):
    with pytest.raises(LessonError, match="no lesson called 'nope'.*vae"):
        find_lesson("nope")
    with pytest.raises(LessonError, match="no such lesson file"):
        find_lesson(tmp_path / "gone.json")


def test_a_lesson_may_be_written_in_toml(tmp_path: Path):
    path = tmp_path / "t.toml"
    path.write_text('name = "t"\ntitle = "TOML"\n[[scenes]]\ntitle = "One"\ntab = "VAE / AE / GAN"\n'
                    'caption = "z"\nrecipe = {family = "vae", model = "vae-shapes", picture = "grid"}\n')
    assert find_lesson(str(path)).scenes[0].recipe["picture"] == "grid"


def test_a_missing_model_is_named_with_its_scene():
    missing = Scene("DDIM", "Diffusion", "", {"family": "ldm", "model": "nope-shapes",
                                              "checkpoint": "/gone/model.safetensors"})
    lesson = Lesson("x", "X", (decode_scene(), missing))
    problems = [p for p in lesson_problems(lesson) if "nope" in p]
    assert problems == ["scene 2 'DDIM': model 'nope-shapes' is not there (nor its checkpoint "
                        "/gone/model.safetensors); the shipped models are in assets/ (playground info)"]


# --- actions -------------------------------------------------------------------------------------


def test_a_sweep_goes_from_its_start_to_its_end_and_back():
    scene = decode_scene({"kind": "sweep", "key": "latent.1", "from": -2.5, "to": 2.5, "frames": 11, "back": True})
    frames = action_frames(scene)
    values = [f["latent"][1] for f in frames]
    assert len(frames) == 21 and values[0] == -2.5 and values[10] == 2.5 and values[-1] == -2.5
    assert values[5] == pytest.approx(0.0)
    assert all(f["latent"][0] == 0.0 and f["latent"][2] == 2.0 for f in frames)  # only the swept value moves
    assert scene.recipe["latent"] == [0.0, 1.0, 2.0]  # the scene's own recipe is left alone
    assert action_frames(scene) == frames  # the same frames every time


def test_a_sweep_of_a_whole_number_stays_whole():
    scene = Scene("Steps", "Diffusion", "", {"family": "ddpm", "model": "ddpm-shapes", "picture": "frame",
                                             "step_index": 0}, {"kind": "sweep", "key": "step_index", "from": 0,
                                                                "to": 19, "frames": 7})
    values = [f["step_index"] for f in action_frames(scene)]
    assert values[0] == 0 and values[-1] == 19 and all(isinstance(v, int) for v in values)
    assert values == sorted(values)


def test_fill_places_the_tokens_one_by_one_on_the_background_code():
    scene = token_scene({"kind": "fill", "key": "tokens", "order": "raster"})
    frames = action_frames(scene)
    assert len(frames) == 9
    assert frames[0]["tokens"] == [[5, 5, 5], [5, 5, 5], [5, 5, 5]]  # cell 1 is already 5: the background
    assert frames[4]["tokens"] == [[5, 5, 5], [5, 1, 5], [5, 5, 5]]
    assert frames[-1]["tokens"] == scene.recipe["tokens"]
    assert action_frames(scene) == frames


def test_paint_adds_the_cells_in_order():
    scene = token_scene({"kind": "paint", "key": "tokens", "cells": [[0, 0, 7], [2, 2, 6]]})
    frames = action_frames(scene)
    assert [f["tokens"][0][0] for f in frames] == [7, 7] and [f["tokens"][2][2] for f in frames] == [5, 6]
    assert frames[-1]["tokens"] == [[7, 5, 5], [5, 1, 2], [5, 3, 6]]


def test_each_frame_says_where_the_action_is():
    from playground.core.lessons.actions import frame_labels

    sweep = decode_scene({"kind": "sweep", "key": "latent.1", "from": 0, "to": 2, "frames": 3})
    assert frame_labels(sweep) == ["latent.1 = 0.0", "latent.1 = 1.0", "latent.1 = 2.0"]
    assert frame_labels(token_scene({"kind": "fill", "key": "tokens"}))[-1] == "cell 9 of 9"


def test_a_training_run_and_no_action_play_no_frames():
    assert action_frames(decode_scene()) == []
    train = Scene("Learn", "Train", "", {"family": "vae", "model": "vae-shapes"}, {"kind": "train", "steps": 50})
    assert action_frames(train) == []


def test_a_builtin_action_hits_its_end_values():
    for lesson in builtin_lessons():
        for scene in lesson.scenes:
            action = scene.action or {}
            frames = action_frames(scene)
            if action.get("kind") == "sweep":
                from playground.core.lessons.actions import value_at

                assert value_at(frames[0], action["key"]) == action["from"]
                assert value_at(frames[len(frames) // 2 if action.get("back") else -1], action["key"]) == action["to"]
            if action.get("kind") == "fill":
                assert frames[-1] == scene.recipe


def test_caption_layout_wraps_and_says_when_it_does_not_fit():
    lines, fits = caption_layout("one two three four five six seven", (120, 200), 20)
    assert fits and len(lines) > 1 and " ".join(lines) == "one two three four five six seven"
    lines, fits = caption_layout("word " * 200, (600, 2 * line_height(20)), 20)
    assert not fits and len(lines) > 2
    assert caption_layout("a\nb", (600, 200), MIN_CAPTION_PX)[0] == ["a", "b"]


def test_a_step_sweep_renders_every_frame(tmp_path):
    """Scrubbing a run sweeps `step_index`: every frame's recipe renders (the recorded `t` of the first
    step is dropped, not left to contradict the others)."""
    from playground.core.lessons.actions import action_frames

    scene = Scene("Steps", "Diffusion", "", {"family": "ddpm", "model": "ddpm-shapes", "picture": "frame",
                                             "step_index": 3, "t": 700, "seed": 0},
                  {"kind": "sweep", "key": "step_index", "from": 0, "to": 9, "frames": 4})
    frames = action_frames(scene)
    assert [f["step_index"] for f in frames] == [0, 3, 6, 9]
    assert all("t" not in f for f in frames) and scene.recipe["t"] == 700
