"""Lessons drawn as slides with the shipped models: 1280x720, the picture, a caption that stays in its box.

Rendering every scene of every lesson takes minutes on one CPU thread (the DDPM lesson alone runs
five 1000-step samplings), so this renders a sample: the cheapest scene of each lesson that has
one (the DDPM lesson has none under 10 s and is left to `playground lesson ddpm --export`), plus
a scene without a picture. Each test skips when the shipped model it draws is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.assets import shipped_named
from playground.core.lessons import action_frames, find_lesson, render_slide
from playground.core.lessons.slide import BOX_FILL, slide_layout
from playground.core.reproduce import render_recipe

# (lesson, scene number from 1): a cheap scene of each lesson (a decode, 10-20 sampling steps, a matrix)
SAMPLE = [("autoencoder", 1), ("vae", 4), ("vqvae", 2), ("gan", 3), ("ddim", 4), ("guidance", 1),
          ("latent-diffusion", 1), ("flow-matching", 1), ("dalle", 1), ("clip", 1)]


def scene_of(name: str, number: int):
    scene = find_lesson(name).scenes[number - 1]
    if shipped_named(scene.recipe["model"]) is None:
        pytest.skip(f"the shipped {scene.recipe['model']} is not there")
    return scene


def assert_caption_inside_its_box(slide: np.ndarray) -> None:
    """The caption's ink lies within the box's padding: measured on the pixels, not on the layout."""
    layout = slide_layout((slide.shape[1], slide.shape[0]))
    x0, y0, x1, y1 = layout["caption_box"]
    pad = layout["pad"]
    inside = slide[y0 + 3:y1 - 2, x0 + 3:x1 - 2]
    assert (inside[2, 2] == BOX_FILL).all()
    ys, xs = np.nonzero(inside.max(axis=-1) < 128)  # the caption's black ink
    assert len(xs) > 200, "no caption drawn"
    assert xs.min() + x0 + 3 >= x0 + pad - 1 and xs.max() + x0 + 3 <= x1 - pad + 1
    assert ys.min() + y0 + 3 >= y0 + 4 and ys.max() + y0 + 3 <= y1 - 4


@pytest.mark.parametrize("name, number", SAMPLE)
def test_a_scene_renders_as_a_1280x720_slide_with_its_caption_in_its_box(name: str, number: int):
    scene = scene_of(name, number)
    slide = render_slide(scene, counter=f"{number}/9")
    assert slide.shape == (720, 1280, 3) and slide.dtype == np.uint8
    x0, y0, x1, y1 = slide_layout()["picture_box"]
    picture = slide[y0:y1, x0:x1]
    assert (picture != 255).any(axis=-1).mean() > 0.15, "the picture should fill much of its box"
    assert_caption_inside_its_box(slide)


def test_a_scene_without_a_picture_says_it_plays_live():
    scene = find_lesson("vae").scenes[-1]
    assert scene.action["kind"] == "train" and "picture" not in scene.recipe
    slide = render_slide(scene)
    assert slide.shape == (720, 1280, 3)
    assert_caption_inside_its_box(slide)


def test_a_scene_plays_the_same_pixels_twice_and_its_fill_ends_on_its_picture():
    scene = scene_of("vqvae", 3)
    picture = render_recipe(scene.recipe)[0]
    last = render_recipe(action_frames(scene)[-1])[0]
    np.testing.assert_array_equal(picture, last)
    first = render_recipe(action_frames(scene)[0])[0]
    assert not np.array_equal(first, picture)
    np.testing.assert_array_equal(render_slide(scene, picture=picture), render_slide(scene, picture=last))
