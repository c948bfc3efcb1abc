"""Each yardstick on a case whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.core.compare.metrics import (
    copy_share, diversity, entropy_bits, fidelity, memorisation, nearest_different, nearest_distances, nearest_training,
    sharpness_ratio,
)
from playground.core.compare.report import judge_classifier
from playground.core.data.shapes import BACKGROUND, COLORS, ShapeSpec, position_centre, render, SIZE_EXTENT, SIZES
from compare_models import small_training_set


def one_shape(color: int = 0, shape: int = 0, size: int = 1, position: int = 4) -> np.ndarray:
    gx, gy = position_centre(position)
    return render(ShapeSpec(shape, color, size, position, gx, gy, SIZE_EXTENT[SIZES[size]]))


@pytest.fixture(scope="module")
def classifier():
    return judge_classifier("cpu")


def test_uniform_counts_have_log2_k_bits_and_one_value_has_none():
    assert entropy_bits([5, 5, 5, 5]) == pytest.approx(2.0)
    assert entropy_bits([3] * 6) == pytest.approx(math.log2(6))
    assert entropy_bits([0, 9, 0]) == 0.0
    assert entropy_bits([0, 0]) == 0.0


def test_identical_samples_cover_one_combination_with_no_entropy(classifier):
    images = np.stack([one_shape()] * 12)
    combinations, entropy = diversity(images, classifier)
    assert combinations == 1
    assert entropy == {"shape": 0.0, "color": 0.0, "size": 0.0, "position": 0.0}


def test_one_render_per_colour_gives_log2_6_bits_of_colour(classifier):
    images = np.stack([one_shape(color=c) for c in range(len(COLORS))])
    combinations, entropy = diversity(images, classifier)
    assert combinations == len(COLORS)
    assert entropy["color"] == pytest.approx(math.log2(len(COLORS)))
    assert entropy["shape"] == entropy["size"] == entropy["position"] == 0.0


def test_renders_are_clean_and_blank_pictures_are_not(classifier):
    renders = small_training_set()[:40]
    clean, drawn = fidelity(renders, classifier)
    assert clean >= 0.95 and drawn >= 0.95
    blank = np.broadcast_to(np.array(BACKGROUND, np.uint8), (8, 32, 32, 3)).copy()
    assert fidelity(blank, classifier) == (0.0, 0.0)


def test_a_model_that_outputs_training_images_is_at_distance_0():
    train = small_training_set()
    copies = train[[3, 50, 299]]
    memorised, reference = memorisation(copies, train)
    assert memorised == 0.0
    assert reference >= 0.0
    assert copy_share(nearest_distances(copies, train)) == 1.0
    indices, distances = nearest_training(train[50], train, k=3)
    assert distances[0] == 0.0 and np.array_equal(train[indices[0]], train[50])
    assert list(distances) == sorted(distances)


def test_noise_is_farther_from_the_training_set_than_training_images_are_from_each_other():
    train = small_training_set()
    noise = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    memorised, reference = memorisation(noise, train)
    assert memorised > 3 * max(reference, 1.0)
    assert copy_share(nearest_distances(noise, train)) == 0.0


def test_data_are_as_sharp_as_themselves_and_a_blur_is_less_sharp():
    train = small_training_set()[:32]
    assert sharpness_ratio(train, train) == pytest.approx(1.0)
    blurred = ((train.astype(np.float32) + np.roll(train, 1, 1) + np.roll(train, 1, 2) + np.roll(train, (1, 1), (1, 2))) / 4)
    assert sharpness_ratio(blurred.astype(np.uint8), train) < 0.9


def test_the_training_reference_skips_pixel_exact_twins():
    grey = np.full((32, 32, 3), 100, np.uint8)
    lighter = np.full((32, 32, 3), 110, np.uint8)  # 10 levels away in every channel: RMS 10
    train = np.stack([grey, grey, lighter])
    assert nearest_different(train, n=3) == pytest.approx(10.0)
    assert memorisation(np.stack([grey]), train) == (0.0, pytest.approx(10.0))
