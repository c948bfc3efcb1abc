"""The judge of generated shapes: real renders pass every test, and each test catches its kind of fake."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from playground.core.assets import default_checkpoint
from playground.core.checkpoints import load_checkpoint
from playground.core.data.shapes import draw_specs, generate, render
from playground.core.evaluation.judge import DIRTY_FRACTION, RENDER_MISMATCH, judge_samples, off_palette_fraction, render_mismatch


@pytest.fixture(scope="module")
def real():
    return generate(200, seed=7)


def test_real_renders_are_clean_and_drawn_as_rendered(real):
    judge = load_checkpoint(default_checkpoint("classifier")).model.eval()
    report = judge_samples(real.images, judge)
    assert report.clean_fraction >= 0.97
    assert report.drawn_as_rendered_fraction == report.clean_fraction
    assert "drawn as the renderer draws" in report.summary()


def test_a_render_matches_its_own_labels_and_not_another_shape(real):
    assert render_mismatch(real.images, real.labels).max() < 0.01
    wrong_shape = real.labels.copy()
    wrong_shape[:, 0] = (wrong_shape[:, 0] + 1) % 4  # circle labelled square, square triangle, ...
    assert np.median(render_mismatch(real.images, wrong_shape)) > RENDER_MISMATCH


def test_a_blob_or_a_shape_off_its_grid_position_is_not_drawn_as_rendered():
    spec = next(s for s in draw_specs(50, seed=1) if s.shape == 3 and s.size == 1)  # a large plus
    labels = np.array([spec.labels])
    blob = render(dataclasses.replace(spec, shape=0))  # a disk where the plus should be
    moved = render(dataclasses.replace(spec, cx=spec.cx + 5))  # past the renderer's +-1 px jitter
    assert render_mismatch(np.stack([render(spec)]), labels)[0] < 0.01
    assert render_mismatch(np.stack([blob]), labels)[0] > RENDER_MISMATCH
    assert render_mismatch(np.stack([moved]), labels)[0] > RENDER_MISMATCH


def test_a_blend_of_two_colours_is_not_renderer_like(real):
    blend = (real.images[:20].astype(np.float32) * 0.5 + real.images[20:40].astype(np.float32) * 0.5).astype(np.uint8)
    assert (off_palette_fraction(real.images) <= DIRTY_FRACTION).all()
    assert (off_palette_fraction(blend) > DIRTY_FRACTION).mean() > 0.5
