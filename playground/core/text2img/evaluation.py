"""How well text-guided samples follow their prompt, and what guidance costs, over a range of w.

For each guidance scale w, every prompt is sampled n times (image j of prompt p gets the
same seed at every w, so the columns of the table differ only by w) and each image is
read by the project's attribute classifier (trained on clean renders only):

- adherence: for the attributes a prompt names, the share of images the classifier reads
  as that value, per attribute and "all correct" (every named attribute right);
- diversity: for the attributes a prompt leaves open ("red" says nothing of shape, size
  or position), the normalised entropy H / log K of the values read off its images, 1 when
  spread evenly over all K values, 0 when every image shows the same one;
- clean: the share of images the judge counts as a clean single shape (`evaluation.judge`),
  and drawn: the share also drawn as the renderer draws the labels read off it.

Every text-guided family is measured the same way: the pixel text-to-image U-Net and the
latent denoisers (ldm, dit, sit), whose samples are latents that their own first stage
decodes (`sampling.to_images`); each samples with its own scheduler (`settings.make_scheduler`:
DDIM for a noise predictor, a flow solver for sit), and a latent's x0 is never clipped
(`GuidedSettings.for_model`).

Classifier-free guidance trades the second for the first as w grows (Ho & Salimans 2022,
fig. 1): the guided distribution p(x) p(c | x)^w sharpens around what the prompt fixes,
and what it leaves open collapses too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES, caption_for, parse_prompt
from ..diffusion.guidance import ClassifierFreeGuidance, ClassifierGuidance, prompt_embedding
from ..diffusion.sampling import EpsModel, sample_steps
from ..diffusion.trajectory import SamplerSettings
from ..evaluation.judge import (
    CONFIDENCE, DIRTY_FRACTION, RENDER_MISMATCH, classify, off_palette_fraction, render_mismatch,
)
from ..device import model_device
from .sampling import GuidedSettings, image_shape, to_images

DEFAULT_SCALES = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0)
PARTIAL_PROMPTS = (
    "red", "circle", "a large square", "blue triangle", "plus at the top right", "small yellow at the center",
)


def default_prompts(n_full: int = 12, seed: int = 0) -> list[str]:
    """`n_full` full captions (every shape, colour and size, positions spread; fixed by `seed`), then partial prompts."""
    rng = np.random.default_rng(seed)
    labels = np.stack([
        np.arange(n_full) % 4, rng.permutation(np.arange(n_full) % 6), rng.permutation(np.arange(n_full) % 2),
        rng.permutation(np.arange(n_full) % 9),
    ], axis=1)
    return [caption_for(row) for row in labels] + list(PARTIAL_PROMPTS)


@dataclass
class PromptResult:
    """One prompt at one w: what the classifier read off its n images."""

    prompt: str
    guidance_scale: float
    n: int
    named: list[str]
    accuracy: dict[str, float]        # per named attribute
    all_correct: float
    diversity: dict[str, float]       # per open attribute: normalised entropy
    clean: float
    drawn: float = float("nan")       # clean and drawn as the renderer draws the labels read off it


@dataclass
class ScaleSummary:
    """All prompts at one w."""

    guidance_scale: float
    full_accuracy: dict[str, float]   # full prompts, per attribute
    full_all_correct: float           # full prompts: all four right
    partial_adherence: float          # partial prompts: all named attributes right
    diversity: dict[str, float]       # partial prompts, per open attribute (mean over prompts leaving it open)
    mean_diversity: float
    clean: float
    full_clean: float = float("nan")  # full prompts only: the bar's "clean single shapes"
    full_drawn: float = float("nan")  # full prompts: clean and drawn as rendered
    prompts: list[PromptResult] = field(default_factory=list)


def normalised_entropy(values: np.ndarray, k: int) -> float:
    """H(p) / log k of the empirical distribution of `values` in 0..k-1 (0: one value, 1: uniform)."""
    p = np.bincount(values, minlength=k) / max(len(values), 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(k))


def score_prompt(prompt: str, guidance_scale: float, labels: np.ndarray, confidences: np.ndarray,
                 images: np.ndarray) -> PromptResult:
    """Adherence and diversity of one prompt's images from their classifier labels (N, 4)."""
    parsed = parse_prompt(prompt)
    named = [a for a, v in zip(ATTRIBUTES, parsed.labels) if v is not None]
    accuracy, correct = {}, np.ones(len(labels), bool)
    diversity = {}
    for k, (name, target) in enumerate(zip(ATTRIBUTES, parsed.labels)):
        if target is None:
            diversity[name] = normalised_entropy(labels[:, k], len(ATTRIBUTE_VALUES[name]))
        else:
            hit = labels[:, k] == target
            accuracy[name] = float(hit.mean())
            correct &= hit
    clean, drawn = judged(images, labels, confidences)
    return PromptResult(prompt, float(guidance_scale), len(labels), named, accuracy,
                        float(correct.mean()) if named else float("nan"), diversity, float(clean.mean()),
                        float(drawn.mean()))


def judged(images: np.ndarray, labels: np.ndarray, confidences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image: is it a clean single shape, and is it also drawn as the renderer draws its labels?
    (the judge's two tests, `evaluation.judge`)"""
    clean = (confidences >= CONFIDENCE).all(axis=1) & (off_palette_fraction(images) <= DIRTY_FRACTION)
    drawn = clean.copy()
    drawn[clean] = render_mismatch(images[clean], labels[clean]) <= RENDER_MISMATCH
    return clean, drawn


def summarise(guidance_scale: float, results: list[PromptResult]) -> ScaleSummary:
    full = [r for r in results if len(r.named) == len(ATTRIBUTES)]
    partial = [r for r in results if 0 < len(r.named) < len(ATTRIBUTES)]
    full_accuracy = {a: float(np.mean([r.accuracy[a] for r in full])) for a in ATTRIBUTES} if full else {}
    diversity = {}
    for a in ATTRIBUTES:
        values = [r.diversity[a] for r in partial if a in r.diversity]
        if values:
            diversity[a] = float(np.mean(values))
    return ScaleSummary(
        guidance_scale=float(guidance_scale), full_accuracy=full_accuracy,
        full_all_correct=float(np.mean([r.all_correct for r in full])) if full else float("nan"),
        partial_adherence=float(np.mean([r.all_correct for r in partial])) if partial else float("nan"),
        diversity=diversity, mean_diversity=float(np.mean(list(diversity.values()))) if diversity else float("nan"),
        clean=float(np.mean([r.clean for r in results])),
        full_clean=float(np.mean([r.clean for r in full])) if full else float("nan"),
        full_drawn=float(np.mean([r.drawn for r in full])) if full else float("nan"), prompts=results,
    )


def pixel_shape(model: nn.Module) -> tuple[int, int, int]:
    """(H, W, 3) of the images a model's samples show as."""
    size = model.config.image_size
    return (size, size, 3)


def is_text_guided(model: nn.Module) -> bool:
    """Does the model take a prompt (text2img, ldm, dit, sit), or is it an unconditional DDPM?"""
    return hasattr(model, "embed")


def plain_sampler(settings: GuidedSettings) -> SamplerSettings:
    """The sampler of an unguided model (the pixel DDPM), as `playground sample ddpm` steps it."""
    return SamplerSettings(settings.sampler, settings.steps, settings.eta if settings.sampler == "ddim" else 0.0,
                           clip_x0=settings.clip_x0)


def sample_prompts(model: nn.Module, prompts: list[str], guidance_scale: float, n: int, settings: GuidedSettings,
                   batch_size: int = 96, should_stop: Callable[[], bool] | None = None,
                   noisy_classifier: nn.Module | None = None) -> np.ndarray:
    """(len(prompts), n, H, W, 3) uint8: n samples per prompt at one w, batched across prompts.

    Image j of prompt p is seeded settings.seed + p * n + j, the same at every w. The prompt ""
    is the null condition (unconditional samples); an unconditional DDPM takes only "".
    With `settings.classifier_scale` > 0, `noisy_classifier` adds classifier guidance toward each
    prompt's attributes on top (a batch then holds one prompt: its targets are the batch's).
    """
    guided_by_classifier = settings.classifier_scale > 0
    if guided_by_classifier and noisy_classifier is None:
        raise ValueError("classifier guidance needs a noisy classifier")
    if not is_text_guided(model) and any(prompts):
        raise ValueError("an unconditional model takes no prompt: use the prompt \"\"")
    device = model_device(model)
    cond = null = None
    if is_text_guided(model):
        cond = torch.cat([prompt_embedding(model, p or None) for p in prompts]).repeat_interleave(n, dim=0)
        null = prompt_embedding(model, settings.negative_prompt or None)
    total = len(prompts) * n
    out = np.zeros((total, *pixel_shape(model)), np.uint8)
    settings = settings.for_model(model)
    if is_text_guided(model):
        scheduler = settings.make_scheduler(model)
    else:
        scheduler = plain_sampler(settings).make(model.noise_schedule)
    step = n if guided_by_classifier else batch_size
    for start in range(0, total, step):
        stop = min(start + step, total)
        guidance: EpsModel = model
        if cond is not None:
            guidance = ClassifierFreeGuidance(model, cond[start:stop], null, guidance_scale, settings.schedule)
        if guided_by_classifier:
            guidance = ClassifierGuidance(guidance, noisy_classifier, prompts[start // n], settings.classifier_scale,
                                          model.noise_schedule.alphas_cumprod, settings.schedule)
        last = None
        for last in sample_steps(guidance, scheduler, n=stop - start, seed=settings.seed + start,
                                 shape=image_shape(model), device=device):
            if should_stop is not None and should_stop():
                raise InterruptedError("stopped")
        out[start:stop] = to_images(model, last.x_prev)
    return out.reshape(len(prompts), n, *out.shape[1:])


def evaluate_guidance(model: nn.Module, classifier: nn.Module, prompts: list[str], scales: list[float], n: int,
                      settings: GuidedSettings, on_scale: Callable[[ScaleSummary, np.ndarray], None] | None = None,
                      noisy_classifier: nn.Module | None = None, batch_size: int = 96) -> list[ScaleSummary]:
    """The adherence/diversity table over `scales` (each prompt parsed first: a bad word fails before sampling).

    `classifier` is the judge of clean images; `noisy_classifier` guides, when `settings.classifier_scale` > 0.
    """
    for prompt in prompts:
        parse_prompt(prompt)
    summaries = []
    for w in scales:
        images = sample_prompts(model, prompts, w, n, settings, batch_size=batch_size, noisy_classifier=noisy_classifier)
        flat = images.reshape(-1, *images.shape[2:])
        labels, confidences = classify(classifier, flat)
        labels, confidences = labels.reshape(len(prompts), n, -1), confidences.reshape(len(prompts), n, -1)
        results = [score_prompt(p, w, labels[i], confidences[i], images[i]) for i, p in enumerate(prompts)]
        summary = summarise(w, results)
        summaries.append(summary)
        if on_scale is not None:
            on_scale(summary, images)
    return summaries


def summaries_to_json(summaries: list[ScaleSummary]) -> list[dict]:
    return [asdict(s) for s in summaries]


def format_table(summaries: list[ScaleSummary]) -> str:
    """A Markdown table: one row per w."""
    head = ("| w | full: shape | color | size | position | **all 4** | clean | drawn | partial: named right | "
            "diversity of open attrs (shape / color / size / position) | mean | clean (all prompts) |")
    rule = "|" + "---|" * 13
    rows = [head, rule]
    for s in summaries:
        acc = [f"{s.full_accuracy.get(a, float('nan')):.1%}" for a in ATTRIBUTES]
        div = " / ".join(f"{s.diversity[a]:.2f}" if a in s.diversity else "–" for a in ATTRIBUTES)
        rows.append(f"| {s.guidance_scale:g} | {' | '.join(acc)} | **{s.full_all_correct:.1%}** | {s.full_clean:.1%} | "
                    f"{s.full_drawn:.1%} | {s.partial_adherence:.1%} | {div} | {s.mean_diversity:.2f} | {s.clean:.1%} |")
    return "\n".join(rows)


def best_scale(summaries: list[ScaleSummary]) -> ScaleSummary:
    """The w with the highest all-correct rate on full prompts (ties: the smaller w, which keeps more diversity)."""
    return max(summaries, key=lambda s: (s.full_all_correct, -s.guidance_scale))
