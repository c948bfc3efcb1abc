"""Every compared family samples through its adapter: the right pictures, the same for a seed, stoppable."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.checkpoints import load_checkpoint
from playground.core.compare.families import ADAPTERS, adapter_for

ISSUE_FAMILIES = ("ae", "dae", "vae", "gan", "vqvae", "dalle", "ddpm", "text2img", "ldm", "dit", "sit")


def test_every_family_of_the_issue_has_an_adapter_and_others_are_refused_by_name():
    assert set(ISSUE_FAMILIES) <= set(ADAPTERS)
    with pytest.raises(ValueError, match="no sampler for the classifier family.*vae"):
        adapter_for("classifier")


@pytest.mark.parametrize("family", ISSUE_FAMILIES + ("vqgan",))
def test_an_adapter_draws_uint8_pictures_the_same_for_a_seed(family, tiny_families):
    loaded = load_checkpoint(tiny_families[family])
    adapter = ADAPTERS[family]
    seen = []
    images = adapter.sample(loaded, 2, 5, lambda done, total: seen.append((done, total)), None)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert seen[-1] == (2, 2)
    assert np.array_equal(adapter.sample(loaded, 2, 5, None, None), images)
    assert adapter.evaluations(loaded) >= 1
    assert adapter.describe(loaded)
    assert adapter.conditional == (family in ("dalle", "text2img", "ldm", "dit", "sit"))
    if adapter.conditional:
        prompted = adapter.prompted(loaded, ["a large red circle at the top left", "a small blue square at the center"],
                                    1, 0, None)
        assert prompted.shape == (2, 1, 32, 32, 3) and prompted.dtype == np.uint8


def test_evaluations_count_guidance_and_the_sampler_steps(tiny_families):
    evaluations = {f: ADAPTERS[f].evaluations(load_checkpoint(tiny_families[f])) for f in ("ddpm", "ldm", "sit", "dalle")}
    assert evaluations["ddpm"] == 50                # DDIM-50, unguided
    assert evaluations["ldm"] == 100                # DDIM-50 with both branches of w = 2
    assert evaluations["sit"] == 2 * (10 + 9)       # Heun-10: the last step lands with one evaluation
    assert evaluations["dalle"] == 64 * 2           # 64 tokens, conditional and unconditional rows at w 3


def test_sample_i_is_drawn_from_seed_plus_i(tiny_families):
    loaded = load_checkpoint(tiny_families["vae"])
    five = ADAPTERS["vae"].sample(loaded, 5, 10, None, None)
    assert np.array_equal(ADAPTERS["vae"].sample(loaded, 2, 13, None, None), five[3:])


def test_stop_ends_sampling(tiny_families):
    loaded = load_checkpoint(tiny_families["vae"])
    with pytest.raises(InterruptedError):
        ADAPTERS["vae"].sample(loaded, 120, 0, None, lambda: True)
