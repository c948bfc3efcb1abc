"""The shipped text-to-image checkpoint follows prompts, and guidance makes it follow them more.

Scored by the project's own attribute classifier, as `playground eval text2img` does,
on a few full prompts with a small n so the test stays in seconds. The bars sit below
what the checkpoint scores with the full evaluation (see the README's table).
"""

from __future__ import annotations

import pytest
import torch

from playground.core.assets import default_checkpoint
from playground.core.checkpoints import load_checkpoint
from playground.core.text2img.evaluation import evaluate_guidance
from playground.core.text2img.sampling import GuidedSettings

PROMPTS = [
    "a large red circle at the top left",
    "a small blue square at the bottom right",
    "a large green triangle at the center",
    "a small yellow plus at the top",
]


@pytest.fixture(scope="module")
def scores():
    torch.manual_seed(0)
    model = load_checkpoint(default_checkpoint("text2img")).model.eval()
    classifier = load_checkpoint(default_checkpoint("classifier")).model.eval()
    settings = GuidedSettings(sampler="ddim", steps=25, seed=0)
    return {s.guidance_scale: s for s in evaluate_guidance(model, classifier, PROMPTS, [0.0, 1.0, 3.0], 6, settings)}


def test_guided_samples_have_every_attribute_asked_for(scores):
    guided = scores[3.0].full_accuracy
    assert guided["color"] >= 0.9 and guided["position"] >= 0.9 and guided["size"] >= 0.8 and guided["shape"] >= 0.8
    assert scores[3.0].full_all_correct >= 0.8
    assert scores[3.0].clean >= 0.9


def test_guidance_raises_adherence_and_the_unconditional_model_ignores_the_prompt(scores):
    """The classifier-free guidance trade-off: w = 3 obeys better than w = 1, and w = 0 is near chance."""
    assert scores[3.0].full_all_correct >= scores[1.0].full_all_correct
    assert scores[3.0].full_accuracy["color"] > scores[1.0].full_accuracy["color"] - 0.05
    assert scores[0.0].full_accuracy["position"] < 0.4  # chance is 1 in 9
