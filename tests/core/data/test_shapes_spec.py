"""The shapes renderer, captions and prompt parser against shared/specs/shapes.md.

The spec's tables are written out here again on purpose: the tests compare the code with
the spec, not the code with its own constants.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from playground.core.data import shapes
from playground.core.data.shapes import Prompt, PromptError, ShapeSpec, parse_prompt

# --- the spec, transcribed ----------------------------------------------------------

BACKGROUND = (18, 18, 18)
SPEC_SHAPES = ["circle", "square", "triangle", "plus"]
SPEC_COLORS = {
    "red": (230, 50, 50),
    "green": (50, 190, 70),
    "blue": (50, 90, 230),
    "yellow": (235, 210, 50),
    "purple": (160, 70, 200),
    "cyan": (50, 200, 210),
}
SPEC_SIZES = {"small": 9, "large": 16}
SPEC_POSITIONS = [
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
]
GRID = (9, 16, 23)
VOCABULARY = (
    "a at the small large red green blue yellow purple cyan "
    "circle square triangle plus top bottom left right center"
).split()
ALL_EXTENTS = (8, 9, 10, 15, 16, 17)  # 9 and 16, each with a jitter of -1, 0 or +1

CIRCLE, SQUARE, TRIANGLE, PLUS = range(4)


def spec(shape: int, extent: float, cx: float = 16, cy: float = 16, color: int = 0) -> ShapeSpec:
    return ShapeSpec(shape=shape, color=color, size=0, position=4, cx=float(cx), cy=float(cy), extent=float(extent))


def coverage(image: np.ndarray, color: int) -> np.ndarray:
    """Per-pixel coverage in [0, 1] recovered from the blend of background and palette colour."""
    fg = np.array(list(SPEC_COLORS.values())[color], float)
    bg = np.array(BACKGROUND, float)
    k = int(np.argmax(np.abs(fg - bg)))  # the channel with the most contrast
    return (image[..., k].astype(float) - bg[k]) / (fg[k] - bg[k])


def centroid(cov: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:cov.shape[0], 0:cov.shape[1]] + 0.5  # pixel i spans [i, i + 1)
    total = cov.sum()
    return float((cov * xs).sum() / total), float((cov * ys).sum() / total)


@pytest.fixture(scope="module")
def batch() -> shapes.ShapesBatch:
    return shapes.generate(600, seed=11)


@pytest.fixture(scope="module")
def drawn() -> list[ShapeSpec]:
    return shapes.draw_specs(600, seed=11)


# --- image ----------------------------------------------------------------------------


def test_images_are_32px_rgb_uint8(batch):
    assert batch.images.shape == (600, 32, 32, 3)
    assert batch.images.dtype == np.uint8
    assert batch.labels.shape == (600, 4)
    assert len(batch.captions) == 600


def test_generate_draws_what_draw_specs_describes(batch, drawn):
    """The geometry the other tests read from draw_specs is the one generate() rendered."""
    assert [tuple(row) for row in batch.labels] == [s.labels for s in drawn]
    for i in (0, 1, 77, 599):
        np.testing.assert_array_equal(batch.images[i], shapes.render(drawn[i]))


def test_background_is_exact_away_from_the_shape(batch, drawn):
    ys, xs = np.mgrid[0:32, 0:32] + 0.5
    checked = 0
    for image, s in zip(batch.images, drawn):
        # Every shape lies within 0.71 s of its centre (the triangle's base corners are
        # farthest); add a pixel's half diagonal so the whole pixel is outside.
        far = np.hypot(xs - s.cx, ys - s.cy) > 0.71 * s.extent + 0.75
        assert far.any()
        assert (image[far] == BACKGROUND).all(), s
        checked += int(far.sum())
    assert checked > 100_000


@pytest.mark.parametrize("shape", range(4))
@pytest.mark.parametrize("color", range(6))
def test_interior_pixel_has_the_exact_palette_colour(shape, color):
    for extent in (8, 17):
        image = shapes.render(spec(shape, extent, cx=16, cy=16, color=color))
        assert tuple(image[16, 16]) == list(SPEC_COLORS.values())[color]


def test_generated_images_use_their_labelled_colour(batch, drawn):
    palette = list(SPEC_COLORS.values())
    for image, s, labels in zip(batch.images, drawn, batch.labels):
        # pixel (cy, cx) spans [cx, cx + 1) x [cy, cy + 1): inside every shape at every size
        assert tuple(image[int(s.cy), int(s.cx)]) == palette[labels[1]]
        colours = {tuple(p) for p in image.reshape(-1, 3)}
        assert colours >= {BACKGROUND, palette[labels[1]]}


def test_antialiasing_is_a_4x_box_filter():
    """Edge pixels blend background and colour in steps of 1/16 (4x4 sub-pixels)."""
    fg = np.array(SPEC_COLORS["red"], float)
    bg = np.array(BACKGROUND, float)
    levels = np.round(bg + np.arange(17)[:, None] / 16 * (fg - bg)).astype(np.uint8)  # (17, 3)
    for shape in range(4):
        image = shapes.render(spec(shape, 16, color=0))  # a large shape: its edges cut pixels
        cov = coverage(image, 0)
        partial = (cov > 0.02) & (cov < 0.98)
        assert partial.sum() >= 8, f"{SPEC_SHAPES[shape]} has no anti-aliased edge"
        pixels = image.reshape(-1, 1, 3)
        assert (pixels == levels[None]).all(axis=2).any(axis=1).all()


@pytest.mark.parametrize("position", range(9))
def test_coverage_centroid_is_the_jittered_grid_centre(position):
    gx, gy = GRID[position % 3], GRID[position // 3]
    for (jx, jy), extent in itertools.product(itertools.product((-1, 0, 1), repeat=2), (8, 17)):
        cx, cy = gx + jx, gy + jy
        for shape in (CIRCLE, SQUARE, PLUS, TRIANGLE):
            cov = coverage(shapes.render(spec(shape, extent, cx, cy)), 0)
            mx, my = centroid(cov)
            # The triangle's centroid lies a third of the way up from its base: cy + s/6.
            expected_y = cy + extent / 6 if shape == TRIANGLE else cy
            assert abs(mx - cx) < 0.25, (SPEC_SHAPES[shape], extent, cx, cy, mx)
            # a large triangle at the top with +1 jitter pokes half a pixel out of the image
            tol = 0.35 if shape == TRIANGLE else 0.25
            assert abs(my - expected_y) < tol, (SPEC_SHAPES[shape], extent, cx, cy, my)


def test_generated_shapes_sit_on_their_labelled_grid_cell(batch, drawn):
    seen_jitter = set()
    for image, s, labels in zip(batch.images, drawn, batch.labels):
        gx, gy = GRID[labels[3] % 3], GRID[labels[3] // 3]
        assert s.cx in (gx - 1, gx, gx + 1) and s.cy in (gy - 1, gy, gy + 1)
        seen_jitter.add((s.cx - gx, s.cy - gy))
        if labels[0] != TRIANGLE:
            mx, my = centroid(coverage(image, labels[1]))
            assert abs(mx - s.cx) < 0.25 and abs(my - s.cy) < 0.25, (batch.captions, s)
    assert seen_jitter == set(itertools.product((-1, 0, 1), repeat=2))


def test_generated_extents_follow_the_size_label(drawn):
    seen = {0: set(), 1: set()}
    for s in drawn:
        base = SPEC_SIZES[["small", "large"][s.size]]
        assert s.extent in (base - 1, base, base + 1)
        seen[s.size].add(s.extent)
    assert seen == {0: {8, 9, 10}, 1: {15, 16, 17}}


@pytest.mark.parametrize("extent", ALL_EXTENTS)
def test_circle_is_a_disk_of_diameter_s(extent):
    cov = coverage(shapes.render(spec(CIRCLE, extent)), 0)
    widest_row = cov.sum(axis=1).max()
    tallest_column = cov.sum(axis=0).max()
    assert abs(widest_row - extent) <= 0.5
    assert abs(tallest_column - extent) <= 0.5
    assert cov.sum() == pytest.approx(math.pi * extent**2 / 4, rel=0.03)


@pytest.mark.parametrize("extent", ALL_EXTENTS)
def test_square_side_is_0_8_s(extent):
    cov = coverage(shapes.render(spec(SQUARE, extent)), 0)
    side = 0.8 * extent
    assert abs(cov.sum(axis=1).max() - side) <= 0.5
    assert abs(cov.sum(axis=0).max() - side) <= 0.5
    assert abs(math.sqrt(cov.sum()) - side) <= 0.5


@pytest.mark.parametrize("extent", ALL_EXTENTS)
def test_triangle_has_its_apex_at_the_top_and_base_at_the_bottom(extent):
    cx = cy = 16
    cov = coverage(shapes.render(spec(TRIANGLE, extent, cx, cy)), 0)
    rows = cov.sum(axis=1)
    covered = np.flatnonzero(rows > 0.05)
    top, bottom = covered[0], covered[-1]
    # vertical extent s: from cy - s/2 to cy + s/2
    assert abs(top - (cy - extent / 2)) <= 1 and abs(bottom + 1 - (cy + extent / 2)) <= 1
    # narrow at the top, full width s at the base
    assert rows[top] < 1.5
    widest = int(np.argmax(rows))
    assert widest >= bottom - 1
    assert abs(rows[widest] - extent) <= 1.0
    # the row width grows linearly from apex to base (half the base at mid-height)
    assert abs(rows[int(cy)] - extent / 2) <= 1.0
    assert cov.sum() == pytest.approx(extent**2 / 2, rel=0.03)
    mx, my = centroid(cov)
    assert my > cy  # mass below the centre: apex up
    assert my == pytest.approx(cy + extent / 6, abs=0.25)


@pytest.mark.parametrize("extent", ALL_EXTENTS)
def test_plus_bars_are_s_long_and_s_over_3_thick(extent):
    cx = cy = 16
    cov = coverage(shapes.render(spec(PLUS, extent, cx, cy)), 0)
    thickness = extent / 3
    # A column through the horizontal arm only (outside the vertical bar) sums to the
    # horizontal bar's thickness; a row through the vertical arm, to the vertical bar's.
    arm = int(cx + thickness / 2 + 0.99)  # first pixel fully right of the vertical bar
    assert abs(cov[:, arm].sum() - thickness) <= 0.5
    assert abs(cov[arm, :].sum() - thickness) <= 0.5
    # both bars are s long
    assert abs(cov[cy, :].sum() - extent) <= 0.5
    assert abs(cov[:, cx].sum() - extent) <= 0.5
    # the area 2 s t - t^2 of the union gives the thickness t independently
    area_thickness = extent - math.sqrt(extent**2 - cov.sum())
    assert abs(area_thickness - thickness) <= 0.25


def test_generation_is_deterministic_from_the_seed():
    a, b = shapes.generate(40, seed=5), shapes.generate(40, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.captions == b.captions
    c = shapes.generate(40, seed=6)
    assert not np.array_equal(a.images, c.images)
    assert a.captions != c.captions


# --- captions and labels ----------------------------------------------------------------

CAPTION = re.compile(
    r"^a (small|large) (red|green|blue|yellow|purple|cyan) (circle|square|triangle|plus) "
    r"at the (top left|top|top right|left|center|right|bottom left|bottom|bottom right)$"
)


def test_captions_have_the_spec_form_and_match_the_labels(batch):
    for caption, (shape, color, size, position) in zip(batch.captions, batch.labels):
        match = CAPTION.match(caption)
        assert match, caption
        assert match.groups() == (
            ["small", "large"][size], list(SPEC_COLORS)[color], SPEC_SHAPES[shape], SPEC_POSITIONS[position],
        )


def test_caption_examples_from_the_spec():
    assert shapes.caption_for((0, 0, 1, 0)) == "a large red circle at the top left"
    assert shapes.caption_for((3, 2, 0, 4)) == "a small blue plus at the center"


def test_labels_are_in_spec_order_and_range(batch):
    assert batch.labels.dtype.kind == "i"
    for column, count in enumerate((4, 6, 2, 9)):  # shape, color, size, position
        assert set(batch.labels[:, column]) == set(range(count))
    assert list(shapes.ATTRIBUTES) == ["shape", "color", "size", "position"]
    assert list(shapes.SHAPES) == SPEC_SHAPES
    assert list(shapes.COLORS) == list(SPEC_COLORS)
    assert dict(shapes.COLOR_RGB) == SPEC_COLORS
    assert list(shapes.POSITIONS) == SPEC_POSITIONS


def test_all_432_captions_are_distinct_and_reachable():
    every = {shapes.caption_for(labels) for labels in itertools.product(range(4), range(6), range(2), range(9))}
    assert len(every) == 432 == shapes.N_CAPTIONS
    drawn = {s.caption for s in shapes.draw_specs(6000, seed=0)}
    assert drawn == every


# --- prompts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("red circle", Prompt(shape=0, color=0)),
        ("a small square at the bottom", Prompt(shape=1, size=0, position=7)),
        ("blue", Prompt(color=2)),
        ("plus at the top right", Prompt(shape=3, position=2)),
        ("at the center", Prompt(position=4)),
        ("large triangle left", Prompt(shape=2, size=1, position=3)),
        ("a large red circle at the top left", Prompt(shape=0, color=0, size=1, position=0)),
        ("  A   Large  RED\tcircle  at THE  Top   LEFT ", Prompt(shape=0, color=0, size=1, position=0)),
        ("Cyan Plus", Prompt(shape=3, color=5)),
    ],
)
def test_partial_and_full_prompts(text, expected):
    assert parse_prompt(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_prompt_is_unconditional(text):
    prompt = parse_prompt(text)
    assert prompt.is_unconditional
    assert prompt.text() == ""


def test_every_caption_parses_back_to_its_labels():
    for labels in itertools.product(range(4), range(6), range(2), range(9)):
        prompt = parse_prompt(shapes.caption_for(labels))
        assert prompt.labels == labels
        assert parse_prompt(prompt.text()) == prompt


def test_unknown_word_names_the_word_and_lists_the_vocabulary():
    with pytest.raises(PromptError) as info:
        parse_prompt("a big red circle")
    message = str(info.value)
    assert "'big'" in message
    for word in VOCABULARY:
        assert re.search(rf"\b{word}\b", message.split("vocabulary")[-1]), word
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["circle red", "red large", "at the top red", "square small at the left"])
def test_out_of_order_prompt_is_an_error(text):
    with pytest.raises(PromptError, match="order"):
        parse_prompt(text)


@pytest.mark.parametrize("text", ["top center", "left top", "top top left", "center right"])
def test_word_run_that_is_no_position_is_an_error(text):
    with pytest.raises(PromptError, match="not a position") as info:
        parse_prompt(text)
    assert "top left" in str(info.value)  # the message lists the valid positions


def test_attribute_named_twice_is_an_error():
    with pytest.raises(PromptError, match="twice"):
        parse_prompt("red blue circle")


def test_vocabulary_is_the_spec_vocabulary():
    assert list(shapes.VOCABULARY) == VOCABULARY
