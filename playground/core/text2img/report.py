"""What `eval text2img` reports besides the guidance table, for every diffusion family.

The families measured: the pixel text-to-image U-Net (text2img), the latent denoisers
(ldm, dit, sit) and, for cleanliness only, the unconditional pixel DDPM (ddpm). Each is
sampled at its own default (`evaluation_settings`: DDIM for the noise predictors, Heun for
the flow) and judged by the project's attribute classifier (`evaluation.judge`):

- unconditional coverage: samples of the empty prompt (the null condition), their clean
  share and how many of the 432 (shape, colour, size, position) combinations the clean ones
  cover (the issue's bar: 300 in 1000 samples);
- the steps table: adherence on full prompts and the clean share against the number of
  sampler steps (1, 2, 5, 10, 20, 50), the table that shows what a few-step sampler keeps;
- recording the best w into the checkpoint's JSON (extra.default_guidance), which
  `latent_diffusion.default_guidance` reads back as the family's default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ..checkpoints import CheckpointMeta, record_in_extra
from ..data.shapes import ATTRIBUTES
from ..evaluation.judge import SampleReport, judge_samples
from ..latent_diffusion import LATENT_FAMILIES, default_sampler
from .evaluation import evaluate_guidance, is_text_guided, sample_prompts
from .sampling import GuidedSettings

EVAL_FAMILIES: tuple[str, ...] = ("text2img", *LATENT_FAMILIES, "ddpm")
STEPS_TABLE = (1, 2, 5, 10, 20, 50)
COMBINATIONS = 4 * 6 * 2 * 9
# the pixel models' evaluation defaults (the latent ones are latent_diffusion.DEFAULT_SAMPLERS)
PIXEL_DEFAULTS: dict[str, tuple[str, int]] = {"text2img": ("ddim", 25), "ddpm": ("ddim", 50)}


def evaluation_settings(family: str, sampler: str | None = None, steps: int | None = None,
                        **fields: Any) -> GuidedSettings:
    """The settings a family is evaluated at: its default sampler and steps unless given (sampling
    applies the model's own rules on top, `GuidedSettings.for_model`: a latent's x0 is never clipped)."""
    kind, count = PIXEL_DEFAULTS.get(family) or default_sampler(family)
    return GuidedSettings(sampler=sampler or kind, steps=steps or count, **fields)


def unconditional_report(model: nn.Module, classifier: nn.Module, n: int, settings: GuidedSettings,
                         batch_size: int = 96) -> SampleReport:
    """n samples of the empty prompt (seeds settings.seed + i) judged: clean share, combinations covered."""
    images = sample_prompts(model, [""], 0.0, n, settings.replace(negative_prompt=""), batch_size=batch_size)[0]
    return judge_samples(images, classifier)


@dataclass
class StepsRow:
    """One number of steps: adherence on full prompts (NaN for an unconditional model) and cleanliness."""

    steps: int
    all_correct: float
    accuracy: dict[str, float] = field(default_factory=dict)
    clean: float = float("nan")
    drawn: float = float("nan")
    combinations: int | None = None  # unconditional rows: combinations the clean samples cover
    ms_per_image: float = float("nan")


def steps_table(model: nn.Module, classifier: nn.Module, steps: list[int], settings: GuidedSettings,
                prompts: list[str], n: int, batch_size: int = 96) -> list[StepsRow]:
    """Adherence and cleanliness at each number of steps, at settings.guidance_scale.

    A text-guided model samples n images of each full prompt in `prompts`; an unconditional
    one (the pixel DDPM) n samples of no prompt. The seeds are the same at every row.
    """
    rows = []
    for count in steps:
        at = settings.replace(steps=int(count))
        started = time.perf_counter()
        if is_text_guided(model):
            summary = evaluate_guidance(model, classifier, prompts, [settings.guidance_scale], n, at,
                                        batch_size=batch_size)[0]
            rows.append(StepsRow(int(count), summary.full_all_correct, summary.full_accuracy, summary.full_clean,
                                 summary.full_drawn, ms_per_image=_ms(started, n * len(prompts))))
        else:
            report = unconditional_report(model, classifier, n, at, batch_size)
            rows.append(StepsRow(int(count), float("nan"), {}, report.clean_fraction, report.drawn_as_rendered_fraction,
                                 report.combinations_seen, _ms(started, n)))
    return rows


def _ms(started: float, images: int) -> float:
    return (time.perf_counter() - started) * 1000 / max(images, 1)


def format_steps_table(rows: list[StepsRow], label: str) -> str:
    """A Markdown table: one row per number of steps."""
    out = [f"| {label} steps | all 4 right | shape | color | size | position | clean | drawn | ms / image |",
           "|" + "---|" * 9]
    for r in rows:
        acc = " | ".join(f"{r.accuracy[a]:.1%}" if a in r.accuracy else "–" for a in ATTRIBUTES)
        right = f"{r.all_correct:.1%}" if r.all_correct == r.all_correct else "–"
        out.append(f"| {r.steps} | {right} | {acc} | {r.clean:.1%} | {r.drawn:.1%} | {r.ms_per_image:.1f} |")
    return "\n".join(out)


def format_unconditional(report: SampleReport) -> str:
    bar = "meets" if report.n >= 1000 and report.combinations_seen >= 300 else "bar"
    return (f"unconditional (prompt \"\"), {report.n} samples: {report.clean_fraction:.1%} clean, "
            f"{report.drawn_as_rendered_fraction:.1%} drawn as rendered, {report.combinations_seen} of "
            f"{COMBINATIONS} combinations covered ({bar}: >= 300 of 432 in 1000 samples)")


def record_default_guidance(checkpoint: str | Path, guidance_scale: float, evaluated: CheckpointMeta) -> Path:
    """Write w into the checkpoint's JSON as extra.default_guidance (`checkpoints.record_in_extra`)."""
    return record_in_extra(checkpoint, evaluated, "the best w", default_guidance=float(guidance_scale))


def nan_as_null(value: Any) -> Any:
    """JSON has no NaN: a share that is not defined (no prompt of that kind) is written as null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: nan_as_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_as_null(v) for v in value]
    return value
