"""The shipped GAN draws mostly clean single shapes, across the data set's shapes, colours and sizes.

Judged as `playground eval samples` does (the attribute classifier confident on every
attribute and renderer-like pixels), on fewer samples so the test takes seconds. The
bars sit below the numbers of the 1000-sample evaluation in the README.
"""

from __future__ import annotations

import pytest

from playground.core.assets import default_checkpoint
from playground.core.checkpoints import load_checkpoint
from playground.core.evaluation import judge_samples
from playground.core.sampling.latent import sample_prior


@pytest.fixture(scope="module")
def report():
    gan = load_checkpoint(default_checkpoint("gan")).model.eval()
    judge = load_checkpoint(default_checkpoint("classifier")).model.eval()
    images, _ = sample_prior(gan, 400, seed=0)
    return judge_samples(images, judge)


def test_many_samples_are_clean_single_shapes(report):
    assert report.clean_fraction >= 0.35


def test_the_samples_cover_every_shape_both_sizes_and_most_colours(report):
    counts = report.attribute_counts
    assert min(counts["shape"]) > 0 and min(counts["size"]) > 0
    assert sum(c > 0 for c in counts["color"]) >= 5
    assert report.combinations_seen >= 50
